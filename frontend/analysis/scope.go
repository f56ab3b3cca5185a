package analysis

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/org/stagefront/internal/didyoumean"
)

// StageLevel reports whether an item's condition is decided before any
// stage, in the global scope: a global position, a FROM guard, or a block
// that holds a FROM.
func StageLevel(it *syntax.Item) bool {
	if it.LastFrom < 0 || it.Keyword == "from" {
		return true
	}
	return it.Block() != nil && it.Block().HasFrom
}

// Declaration returns the ARG declaration of name that a condition at it
// reads: the last one above it in a stage it may belong to (unless the
// condition is decided at stage level, see StageLevel), else the last
// global one; nil for an automatic ARG or a name it cannot see.
func (f *File) Declaration(it *syntax.Item, name string) *ArgDecl {
	return f.declarationIn(it, name, nil)
}

// DeclarationIn is Declaration when it belongs to stage (one of its
// Owners, as a build decided).
func (f *File) DeclarationIn(it *syntax.Item, name string, stage int) *ArgDecl {
	return f.declarationIn(it, name, []int{stage})
}

func (f *File) declarationIn(it *syntax.Item, name string, owners []int) *ArgDecl {
	decls := f.args[name]
	if i := f.declaration(decls, it, owners); i >= 0 {
		return &decls[i]
	}
	return nil
}

// declaration is Declaration over decls, the declarations of one name in
// file order (the global ones first), for it in one of owners (nil: any
// stage it may belong to); -1 for none.
func (f *File) declaration(decls []ArgDecl, it *syntax.Item, owners []int) int {
	above := sort.Search(len(decls), func(i int) bool { return decls[i].Item.Line >= it.Line })
	if above == 0 {
		return -1
	}
	if decls[above-1].Global {
		return above - 1
	}
	if !StageLevel(it) {
		if i := f.stageDeclaration(decls[:above], it, owners); i >= 0 {
			return i
		}
	}
	return sort.Search(above, func(i int) bool { return !decls[i].Global }) - 1
}

// maxDeclarationsScanned is how many stage declarations of one name above
// a line whose stage the branches decide are read for one in a stage it
// may belong to; past them, the nearest is taken. Real files have one or
// two; a hostile one cannot make each condition read them all.
const maxDeclarationsScanned = 16

// stageDeclaration returns the last of decls (one name's, all above it,
// the last not global) in one of owners (nil: the stages it may belong
// to); -1 for none.
func (f *File) stageDeclaration(decls []ArgDecl, it *syntax.Item, owners []int) int {
	last := len(decls) - 1
	var buf [8]int
	if owners == nil {
		if s, ok := f.Owner(it); ok && s == it.LastFrom {
			// In the body of the FROM it follows: its declarations are
			// those after that FROM.
			if decls[last].Item.LastFrom == s {
				return last
			}
			return -1
		}
		owners = f.Owners(buf[:0], it)
	}
	first := -1 // the first FROM of a stage it may belong to
	for _, s := range owners {
		if s >= 0 {
			first = f.Stages[s].Item.Line
			break
		}
	}
	if first < 0 {
		return -1 // no stage is live above it
	}
	var theirs [8]int
	for i, scanned := last, 0; i >= 0 && !decls[i].Global && decls[i].Item.Line > first; i, scanned = i-1, scanned+1 {
		if scanned == maxDeclarationsScanned {
			return last
		}
		for _, s := range f.Owners(theirs[:0], decls[i].Item) {
			if s >= 0 && slices.Contains(owners, s) {
				return i
			}
		}
	}
	return -1
}

// GlobalArgs lists the ARG declarations before the first FROM, in file
// order.
func (f *File) GlobalArgs() []ArgDecl {
	var out []ArgDecl
	for _, it := range f.scoped {
		if it.LastFrom >= 0 {
			break
		}
		if a := f.of(it).arg; a != nil {
			for _, kv := range a.Args {
				out = append(out, ArgDecl{Item: it, Global: true, KV: kv})
			}
		}
	}
	return out
}

// ArgNames lists every name an ARG of the file declares, sorted. The
// slice is the File's: read it, never change it.
func (f *File) ArgNames() []string { return f.argNames[:len(f.argNames)-len(AutomaticArgs())] }

// ReadableNames lists every name a condition of the file may read: the
// ARGs' (sorted), then the platform ARGs. The slice is the File's: read
// it, never change it.
func (f *File) ReadableNames() []string { return f.argNames }

// scope is the set of names the condition of an item may read: the global
// ARGs declared above it, the platform ARGs, and unless its condition is
// decided at stage level (see StageLevel) the ARGs declared above it in
// its stage. It only reads the File, so conditions can be compiled
// concurrently.
type scope struct {
	f  *File
	at *syntax.Item
}

func (s scope) Declared(name string) bool {
	return IsAutomatic(name) || s.f.declaration(s.f.args[name], s.at, nil) >= 0
}

func (s scope) Undeclared(name string) string {
	line := s.at.Line
	if decls := s.f.args[name]; len(decls) > 0 {
		d := decls[0]
		where := "in another stage"
		if d.Item.Line > line {
			where = "below this condition"
		}
		return fmt.Sprintf("%s is declared at %s, %s, so this condition cannot see it: conditions read global ARGs (before the first FROM), ARGs declared earlier in the same stage, and the platform ARGs; declare ARG %s above %s", name, s.f.Syntax.LineRef(d.Item.Line), where, name, s.f.Syntax.LineRef(line))
	}
	if c := s.f.suggestions.closest(name, s.f.argNames, true); c != "" {
		return fmt.Sprintf("undeclared name %s; did you mean %s? (or declare ARG %s above %s)", name, c, name, s.f.Syntax.LineRef(line))
	}
	return fmt.Sprintf("undeclared name %s: declare ARG %s above %s (before the first FROM for a global ARG, or in this stage)", name, name, s.f.Syntax.LineRef(line))
}

// compile compiles every condition against the names in scope where it is
// written. Conditions are independent of each other, so a file with many
// is compiled by several goroutines, each with a compiler of its own.
func (f *File) compile(ctx context.Context, opt Options, large bool, size int) error {
	var todo []*syntax.Item
	for _, it := range f.scoped {
		if it.Cond != nil && it.Cond.Text != "" {
			todo = append(todo, it)
			f.note(it) // now: the workers write their entries in place
		}
	}
	names := append(slices.Collect(maps.Keys(f.args)), AutomaticArgs()...)
	per := opt.ConditionsPerWorker
	if per <= 0 {
		per = defaultConditionsPerWorker
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(todo)/per))
	type failure struct {
		it  *syntax.Item
		err error
	}
	compilers := make([]*conditions.Compiler, workers)
	failures := make([][]failure, workers)
	compileRange := func(w, from, to int) {
		// One scope a worker, moved from item to item: a scope made for
		// each would be an allocation each.
		sc := &scope{f: f}
		cc := compilers[w]
		if cc == nil {
			cc = conditions.NewCompiler(names)
			// The file's programs share one budget: a condition over it
			// is compiled again where it is evaluated.
			cc.SetProgramBudget(conditions.DefaultProgramBudget / workers)
			compilers[w] = cc
		}
		for i := from; i < to; i++ {
			if i%256 == 0 && ctx.Err() != nil {
				return
			}
			it := todo[i]
			sc.at = it
			c, err := cc.Compile(it.Cond.Text, sc)
			if err != nil {
				failures[w] = append(failures[w], failure{it, err})
				continue
			}
			f.info[f.slot[it.Index]].cond = c
		}
	}
	// A large file is compiled in rounds, with a collection between them
	// once the compilers have made much garbage: compiling makes garbage
	// many times the size of the conditions, and the collector, which
	// marks the file's model while the compilers run, would let the heap
	// grow to twice the model and what they made meanwhile. (Repeated
	// conditions are remembered, and make none.)
	round := len(todo)
	if large {
		round = max(per*workers, (len(todo)+compileRounds-1)/compileRounds)
	}
	collected := 0 // what the compilers had made at the last collection
	for from := 0; from < len(todo); from += round {
		to := min(from+round, len(todo))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { compileRange(w, from+w*(to-from)/workers, from+(w+1)*(to-from)/workers) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if large && to < len(todo) {
			made := 0
			for _, cc := range compilers {
				if cc != nil {
					made += cc.Compiled()
				}
			}
			if made-collected >= garbagePerFileByte*size {
				runtime.GC()
				collected = made
			}
		}
	}
	for _, fs := range failures {
		for _, fl := range fs {
			f.condError(fl.it, fl.err)
		}
	}
	seenPath := map[string]bool{}
	for _, it := range todo {
		c := f.Condition(it)
		if c == nil {
			continue
		}
		for _, p := range c.Paths() {
			if clean, err := contextfs.Clean(p); err == nil && !seenPath[clean] {
				seenPath[clean] = true
				f.Paths = append(f.Paths, clean)
			}
		}
	}
	return nil
}

// compileRounds is how many rounds the conditions of a large file are
// compiled in (see compile).
const compileRounds = 8

// garbagePerFileByte is how much garbage (as conditions.Compiler.Compiled
// estimates it) the compilers of a file of size bytes make between two
// collections: a fraction of what its model takes, which is ten to
// twenty times its size.
const garbagePerFileByte = 4

// condError records an error of the condition of it, with its column:
// a conditions.Error's Column is a 1-based byte offset within the text,
// and Cond.Column the byte column of the text's first byte in its line.
func (f *File) condError(it *syntax.Item, err error) {
	col := 0
	msg := err.Error()
	if ce, ok := err.(*conditions.Error); ok && ce.Column > 0 && it.Cond.Column > 0 {
		col = it.Cond.Column + ce.Column - 1
	}
	if it.Cond.QuotesDropped {
		fix := `--if="exists('docs/')"`
		if sp := it.Strip(); sp != nil {
			raw := strings.TrimRight(string(f.Syntax.Line(sp.Line)[sp.From:sp.To]), " \t")
			fix = `--if="` + strings.ReplaceAll(strings.TrimPrefix(raw, "--if="), `"`, `'`) + `"`
		}
		msg = fmt.Sprintf("BuildKit's flag parser removed the quotes inside this --if= value: quote the whole value, as in %s (as it reads now: %s)", fix, msg)
	}
	f.errs.Add(f.Syntax.Name, it.Cond.Line, col, "%s: %s", CondLabel(it), msg)
}

// CondLabel names a condition in messages, as in `IF A == 'x'` or
// `--if=A`; a text longer than condLabelLength bytes is cut short, with
// "…".
func CondLabel(it *syntax.Item) string {
	text := conditions.Shorten(it.Cond.Text, condLabelLength)
	switch it.Kind {
	case syntax.If, syntax.ElseIf:
		return fmt.Sprintf("%s %s", it.Kind, text)
	}
	return "--if=" + text
}

// condLabelLength is the longest condition text CondLabel quotes whole.
const condLabelLength = 80

// checkRequireNames reports REQUIRE names that are no stage of the file.
func (f *File) checkRequireNames() {
	if f.Syntax.Includes {
		// A stage may come from a fragment that these values leave out:
		// the rewrite checks the live REQUIREs (see RequireNameError).
		return
	}
	for _, it := range f.linked {
		if it.Kind != syntax.Require {
			continue
		}
		for _, a := range it.Args() {
			if len(f.byName[strings.ToLower(a)]) > 0 {
				continue
			}
			f.errs.Add(f.Syntax.Name, it.Line, 0, "%s", f.RequireNameError(a))
		}
	}
}

// RequireNameError is the message of a REQUIRE that names a stage the
// file does not have.
func (f *File) RequireNameError(name string) string {
	msg := fmt.Sprintf("REQUIRE names %q, which is not a stage of this file", name)
	if c := f.SuggestStage(name); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	} else if len(f.names) > 0 {
		msg += "; the named stages are " + ListNames(f.names)
	}
	return msg
}

// SuggestStage returns the stage name that name most likely misspells,
// or "": the one did-you-mean for stage names, shared by the rewrite's
// errors and the checks' warnings so that both suggest the same stage.
func (f *File) SuggestStage(name string) string {
	return f.suggestions.closest(strings.ToLower(name), f.names, false)
}

// maxListed is how many names a message lists before "and N more".
const maxListed = 10

// ListNames renders names for a message: the first maxListed, joined
// with ", ", then "and N more".
func ListNames(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// suggestBudget is how many name comparisons the did-you-mean questions
// about one file may make in all. A file asks a handful; a hostile one
// with many misspelt names over many stages would otherwise cost their
// product. Past it, names get no suggestion.
const suggestBudget = 1 << 20

// suggester answers did-you-mean questions about one file: each name
// once, and all of them within suggestBudget comparisons. It is safe for
// concurrent use (conditions are compiled, and evaluations run, in
// parallel).
type suggester struct {
	mu   sync.Mutex
	memo map[suggestKey]string
	used int
}

type suggestKey struct {
	name          string
	caseSensitive bool
}

func (s *suggester) closest(name string, candidates []string, caseSensitive bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := suggestKey{name, caseSensitive}
	if c, ok := s.memo[k]; ok {
		return c
	}
	c := ""
	if s.used+len(candidates) <= suggestBudget {
		s.used += len(candidates)
		c = didyoumean.Closest(name, candidates, caseSensitive)
	}
	if s.memo == nil {
		s.memo = map[suggestKey]string{}
	}
	s.memo[k] = c
	return c
}
