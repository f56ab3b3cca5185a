package rewrite

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
)

// automaticArgs are the platform ARGs conditions may read undeclared.
var automaticArgs = []string{
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
}

func isAutomatic(name string) bool { return slices.Contains(automaticArgs, name) }

// prepared is everything about a file that does not depend on the values
// of a build: its items, compiled conditions and declarations. It is cached
// by content, so a multi-platform build parses and compiles once.
type prepared struct {
	file *syntax.File
	errs syntax.ErrorList
	// info holds what was found about the items that have anything
	// found, at the position slot gives by Item.Index; info[0] is the
	// empty entry of all the others (both nil for a standard file that
	// needs no evaluation).
	info []itemInfo
	slot []int32
	// stages has one entry per FROM, in file order.
	stages []*stageDecl
	// linked are the items that name other stages (FROM, COPY --from,
	// RUN --mount from, REQUIRE), and scoped those a condition's scope
	// depends on or that have a condition (FROM, ARG, conditions), both
	// in file order: the passes that need only them skip the rest.
	linked, scoped []*syntax.Item
	// argDecls are all ARG declarations by name, in file order.
	argDecls map[string][]argDecl
	// paths are the literal paths of the conditions' exists() calls, as
	// Values.Exists cleans them, in file order.
	paths []string
	// selectsByVar marks a standard file whose FROM names a variable: it
	// is evaluated only to check the stage it selects.
	selectsByVar bool
}

// itemInfo is what prepare found about one item.
type itemInfo struct {
	// cond is the item's compiled condition (nil: none, or it failed).
	cond *conditions.Condition
	// arg is the parsed ARG instruction.
	arg *instructions.ArgCommand
	// refs are the stage names the instruction refers to.
	refs []stageRef
	// opens is the branch an IF, ELSE IF or ELSE opens.
	opens *syntax.Branch
}

// of returns what prepare found about it, to read.
func (p *prepared) of(it *syntax.Item) *itemInfo { return &p.info[p.slot[it.Index]] }

// note returns the entry of it to write, giving it one on first use; an
// earlier entry pointer may be stale after it.
func (p *prepared) note(it *syntax.Item) *itemInfo {
	if p.slot[it.Index] == 0 {
		p.slot[it.Index] = int32(len(p.info))
		p.info = append(p.info, itemInfo{})
	}
	return &p.info[p.slot[it.Index]]
}

type stageDecl struct {
	item     *syntax.Item
	name     string // lower-cased AS name
	base     string // the image or stage named by FROM, as written
	platform string
}

type argDecl struct {
	item   *syntax.Item
	global bool
	kv     instructions.KeyValuePairOptional
}

// stageRef is a reference from an instruction to another stage.
type stageRef struct {
	name string // as written
	how  string // "FROM", "COPY --from", "RUN --mount from"
}

var cache = struct {
	sync.Mutex
	keys  [][32]byte
	items map[[32]byte]*prepared
}{items: map[[32]byte]*prepared{}}

// cacheSize is how many prepared files the cache keeps. A gateway process
// builds one Dockerfile (for each platform, gate and subrequest), so two
// are plenty; more would only keep parsed files alive for the GC to scan.
const cacheSize = 2

// prepare parses and compiles dt, using the cache.
func prepare(name string, dt []byte) (*prepared, error) {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(dt)
	var key [32]byte
	h.Sum(key[:0])
	cache.Lock()
	p, ok := cache.items[key]
	cache.Unlock()
	if ok {
		return p, nil
	}
	p, err := prepareUncached(name, dt)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	if _, ok := cache.items[key]; !ok {
		cache.items[key] = p
		cache.keys = append(cache.keys, key)
		if len(cache.keys) > cacheSize {
			delete(cache.items, cache.keys[0])
			cache.keys = cache.keys[1:]
		}
	}
	cache.Unlock()
	return p, nil
}

func prepareUncached(name string, dt []byte) (*prepared, error) {
	// The prepared file is cached and outlives the caller's buffer.
	dt = bytes.Clone(dt)
	f, err := syntax.Parse(name, dt)
	var errs syntax.ErrorList
	if err != nil {
		el, ok := err.(syntax.ErrorList)
		if !ok {
			return nil, err
		}
		errs = el
	}
	p := &prepared{file: f, errs: errs}
	if !f.Extended {
		// A standard file is converted as written. Only a FROM that picks
		// its base with a variable needs a look: when the value is a typo
		// of a stage name, the user gets a did-you-mean, not a pull error.
		p.selectsByVar = slices.ContainsFunc(f.Stages, func(it *syntax.Item) bool {
			return it.Node.Next != nil && strings.Contains(it.Node.Next.Value, "$")
		})
		if !p.selectsByVar {
			return p, nil
		}
	}
	p.info = make([]itemInfo, 1, 1+len(f.Items)/4)
	p.slot = make([]int32, len(f.Items))
	p.argDecls = map[string][]argDecl{}

	for _, it := range f.Items {
		if it.Block != nil && it.Kind != syntax.End {
			for _, br := range it.Block.Branches {
				if br.Item == it {
					p.note(it).opens = br
				}
			}
		}
		if it.Kind == syntax.Instruction {
			p.parseInstruction(it)
		}
		info := p.of(it)
		if len(info.refs) > 0 || it.Kind == syntax.Require {
			p.linked = append(p.linked, it)
		}
		if it.Cond != nil || info.arg != nil || it.Keyword == "from" {
			p.scoped = append(p.scoped, it)
		}
	}
	p.compile()
	p.checkRequires()
	return p, nil
}

// parseInstruction reads what the rewrite needs from an instruction with
// BuildKit's own instruction parser. Instructions it rejects are left for
// the converter to report, with upstream's message.
func (p *prepared) parseInstruction(it *syntax.Item) {
	switch it.Keyword {
	case "from", "arg":
	case "copy", "run":
		p.flagRefs(it)
		return
	default:
		return
	}
	switch c := parseInstruction(it).(type) {
	case nil:
		if it.Keyword == "from" {
			p.stages = append(p.stages, &stageDecl{item: it})
		}
	case *instructions.Stage:
		p.stages = append(p.stages, &stageDecl{item: it, name: c.Name, base: c.BaseName, platform: c.Platform})
		p.note(it).refs = []stageRef{{name: c.BaseName, how: "FROM"}}
	case *instructions.ArgCommand:
		p.note(it).arg = c
		for _, kv := range c.Args {
			p.argDecls[kv.Key] = append(p.argDecls[kv.Key], argDecl{item: it, global: it.Stage < 0, kv: kv})
		}
	}
}

// parseInstruction parses an instruction as BuildKit does, without its
// --if= flag; nil when BuildKit rejects it.
func parseInstruction(it *syntax.Item) any {
	n := *it.Node
	n.Flags = it.Flags
	v, err := instructions.ParseInstruction(&n)
	if err != nil {
		return nil
	}
	return v
}

// flagRefs reads the stages COPY --from= and RUN --mount=from= name.
func (p *prepared) flagRefs(it *syntax.Item) {
	for _, f := range it.Flags {
		if v, ok := strings.CutPrefix(f, "--from="); ok && it.Keyword == "copy" {
			in := p.note(it)
			in.refs = append(in.refs, stageRef{name: v, how: "COPY --from"})
		}
		if v, ok := strings.CutPrefix(f, "--mount="); ok && it.Keyword == "run" {
			for _, field := range syntax.MountFields(v) {
				if k, v, _ := strings.Cut(field, "="); strings.EqualFold(k, "from") && v != "" {
					in := p.note(it)
					in.refs = append(in.refs, stageRef{name: v, how: "RUN --mount from"})
				}
			}
		}
	}
}

// stageLevel reports whether an item's condition is decided before any
// stage: global position, a FROM guard, or a block that holds a FROM.
func stageLevel(it *syntax.Item) bool {
	if it.Stage < 0 || it.Keyword == "from" {
		return true
	}
	return it.Block != nil && it.Block.HasFrom
}

// compile compiles every condition against the names in scope where it is
// written. Conditions are independent of each other, so a file with many
// is compiled by several goroutines, each with a compiler of its own.
func (p *prepared) compile() {
	var todo []*syntax.Item
	for _, it := range p.scoped {
		if it.Cond != nil && it.Cond.Text != "" {
			todo = append(todo, it)
		}
	}
	names := append(slices.Collect(maps.Keys(p.argDecls)), automaticArgs...)
	type compiled struct {
		c   *conditions.Condition
		err error
	}
	out := make([]compiled, len(todo))
	compileAll := func(from, to int) {
		cc := conditions.NewCompiler(names)
		for i := from; i < to; i++ {
			out[i].c, out[i].err = cc.Compile(todo[i].Cond.Text, scope{p: p, at: todo[i]})
		}
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(todo)/conditionsPerWorker))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { compileAll(w*len(todo)/workers, (w+1)*len(todo)/workers) })
	}
	wg.Wait()
	for i, it := range todo {
		if out[i].err != nil {
			p.condError(it, out[i].err)
		} else {
			p.note(it).cond = out[i].c
			for _, path := range out[i].c.Paths {
				if clean, ok := cleanExistsPath(path); ok && !slices.Contains(p.paths, clean) {
					p.paths = append(p.paths, clean)
				}
			}
		}
	}
}

// conditionsPerWorker is the fewest conditions worth a goroutine (and a
// compiler) of their own.
var conditionsPerWorker = 256

// condError records an error of the condition of it, with its column.
func (p *prepared) condError(it *syntax.Item, err error) {
	col := 0
	msg := err.Error()
	if ce, ok := err.(*conditions.Error); ok && ce.Column > 0 && it.Cond.Column > 0 {
		col = it.Cond.Column + ce.Column - 1
	}
	p.errs.Add(p.file.Name, it.Cond.Line, col, "%s: %s", condLabel(it), msg)
}

// condLabel names a condition in messages, as in `IF "A == 'x'"`.
func condLabel(it *syntax.Item) string {
	switch it.Kind {
	case syntax.If, syntax.ElseIf:
		return fmt.Sprintf("%s %s", it.Kind, it.Cond.Text)
	}
	return "--if=" + it.Cond.Text
}

// scope is the set of names the condition of an item may read: the
// global ARGs declared above it, the platform ARGs, and unless its
// condition is decided at stage level (see stageLevel) the ARGs declared
// above it in its stage. It only reads the prepared file, so conditions
// can be compiled concurrently.
type scope struct {
	p  *prepared
	at *syntax.Item
}

func (s scope) Declared(name string) bool {
	if isAutomatic(name) {
		return true
	}
	decls := s.p.argDecls[name] // in file order: the global ones first
	line := s.at.Line
	if len(decls) == 0 || decls[0].item.Line >= line {
		return false
	}
	if decls[0].global {
		return true
	}
	if stageLevel(s.at) {
		return false
	}
	// The last declaration above the condition is in its stage if any is.
	i := sort.Search(len(decls), func(i int) bool { return decls[i].item.Line >= line })
	return decls[i-1].item.Stage == s.at.Stage
}

func (s scope) Undeclared(name string) string {
	line := s.at.Line
	if decls := s.p.argDecls[name]; len(decls) > 0 {
		d := decls[0]
		where := "in another stage"
		if d.item.Line > line {
			where = "below this condition"
		}
		return fmt.Sprintf("%s is declared at line %d, %s, so this condition cannot see it: conditions read global ARGs (before the first FROM), ARGs declared earlier in the same stage, and the platform ARGs; declare ARG %s above line %d", name, d.item.Line, where, name, line)
	}
	names := append(slices.Sorted(maps.Keys(s.p.argDecls)), automaticArgs...)
	slices.Sort(names)
	if c := conditions.Closest(name, names); c != "" {
		return fmt.Sprintf("undeclared name %s; did you mean %s? (or declare ARG %s above line %d)", name, c, name, line)
	}
	return fmt.Sprintf("undeclared name %s: declare ARG %s above line %d (before the first FROM for a global ARG, or in this stage)", name, name, line)
}

// checkRequires reports REQUIRE names that are no stage of the file.
func (p *prepared) checkRequires() {
	var names []string
	for _, s := range p.stages {
		if s.name != "" {
			names = append(names, s.name)
		}
	}
	for _, it := range p.linked {
		if it.Kind != syntax.Require {
			continue
		}
		for _, a := range it.Args() {
			if slices.Contains(names, strings.ToLower(a)) {
				continue
			}
			msg := fmt.Sprintf("REQUIRE names %q, which is not a stage of this file", a)
			if c := conditions.Closest(strings.ToLower(a), names); c != "" {
				msg += fmt.Sprintf("; did you mean %q?", c)
			} else if len(names) > 0 {
				msg += fmt.Sprintf("; the named stages are %s", strings.Join(names, ", "))
			}
			p.errs.Add(p.file.Name, it.Line, 0, "%s", msg)
		}
	}
}
