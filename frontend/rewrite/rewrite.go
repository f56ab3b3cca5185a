package rewrite

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
)

// Rewrite turns the extended Dockerfile dt into a standard one for the
// platform and values in opt. On bad input it returns an ErrorList with
// every problem it could find, or the parser's own error.
func Rewrite(ctx context.Context, dt []byte, opt Options) (*Result, error) {
	if opt.Filename == "" {
		opt.Filename = "Dockerfile"
	}
	p, err := prepare(opt.Filename, dt)
	if err != nil {
		return nil, err
	}
	return evaluate(ctx, p, dt, opt)
}

// evaluate rewrites a prepared file for the values in opt.
func evaluate(ctx context.Context, p *prepared, dt []byte, opt Options) (*Result, error) {
	if !p.file.Extended {
		res := &Result{Dockerfile: dt, Stages: plainStages(p), CopiesFrom: copiesFrom(p.file, nil), File: p.file, prep: p}
		errs := slices.Clone(p.errs)
		if p.selectsByVar {
			errs = append(errs, checkSelection(ctx, p, opt)...)
		}
		return res, errs.Err()
	}
	e := newEvaluation(ctx, p, opt)
	if ec, ok := opt.Context.(ExpectingContext); ok && len(p.paths) > 0 {
		ec.Expect(p.paths)
	}
	e.walk()
	e.indexStages()
	e.checkStages()
	e.checkRequires()
	reach, gates := e.build()
	e.checkRefs(reach)
	res := &Result{Extended: true, Dockerfile: e.output(dt), Stages: e.stages, Gates: gates,
		CopiesFrom: copiesFrom(p.file, e.dead), File: p.file, prep: p}
	if opt.ListFlags {
		res.Flags = e.flags()
	}
	errs := append(slices.Clone(p.errs), e.errs...)
	return res, errs.Err()
}

// copiesFrom reports whether a COPY that is not dead (dead is by 0-based
// line, nil when nothing is) has a --from= flag.
func copiesFrom(f *syntax.File, dead []bool) bool {
	for _, it := range f.Items {
		if it.Keyword != "copy" || dead != nil && dead[it.Line-1] {
			continue
		}
		for _, fl := range it.Flags {
			if len(fl) >= len("--from=") && strings.EqualFold(fl[:len("--from=")], "--from=") {
				return true
			}
		}
	}
	return false
}

// checkSelection evaluates a standard file whose FROM names a variable,
// for the one check that applies to it: a selected stage name with a
// typo. Everything else is left to the converter, with upstream's errors.
func checkSelection(ctx context.Context, p *prepared, opt Options) syntax.ErrorList {
	e := newEvaluation(ctx, p, opt)
	e.walk()
	e.indexStages()
	reach, _ := e.build()
	for _, it := range p.file.Stages {
		resolved := e.refNames(it)
		for k, r := range p.of(it).refs {
			if !reach[it.Stage] || !strings.Contains(r.name, "$") || k >= len(resolved) {
				continue
			}
			if rr := resolved[k]; rr.ok && e.liveStage(rr.name, it.Stage) == nil {
				e.checkTypo(it, r, rr.name)
			}
		}
	}
	return e.errs
}

// plainStages lists the stages of a file without extensions.
func plainStages(p *prepared) []Stage {
	out := make([]Stage, 0, len(p.file.Stages))
	for i, it := range p.file.Stages {
		s := Stage{Index: i, Line: it.Line, Live: true}
		if n := it.Node.Next; n != nil && n.Next != nil && strings.EqualFold(n.Next.Value, "as") && n.Next.Next != nil {
			s.Name = strings.ToLower(n.Next.Next.Value)
		}
		out = append(out, s)
	}
	return out
}

// evaluation is one rewrite of a prepared file for one set of values.
type evaluation struct {
	ctx  context.Context
	p    *prepared
	opt  Options
	errs syntax.ErrorList

	lex *shell.Lex
	// global holds the values of the global scope; stage those of the
	// current stage (ARG and ENV), as upstream's converter builds them.
	global, stage *env
	// pendingEnv are the stage's ENVs not yet applied (see stageScope).
	pendingEnv []*syntax.Item
	// globalDeclared and stageDeclared record which names a live ARG
	// declared, and with what value (ok=false: declared without value).
	globalDeclared, stageDeclared map[string]declared

	// branchLive says, by Branch.ID, whether a branch's body is live;
	// taken, by Block.ID, whether a block has taken a branch.
	branchLive []bool
	taken      []bool
	dead       []bool // per line index
	strip      []*syntax.Span
	stages     []Stage
	cur        int // index of the current stage, -1 before the first FROM
	// seen records, by the item's slot in prepared.info, the values each
	// condition read (in the order of its Names), for Flags and messages;
	// nil when its condition was not looked at (see seenBy).
	seen     [][]declared
	seenSlab []declared
	exists   map[string]existsAnswer
	// requires are the live REQUIRE items of each stage.
	requires map[int][]*syntax.Item
	// liveByName and deadByName index stages by name (first of each);
	// liveNames lists the live names in file order.
	liveByName, deadByName map[string]int
	liveNames              []string
	// typos memoizes the did-you-mean of each unknown reference.
	typos map[string]string
	// refs holds, by the item's slot in prepared.info, the stage names
	// its references resolve to in the scope of the instruction itself
	// (decided during the walk: a later stage's ARGs must not change
	// what an earlier COPY --from=${X} names); nil when it was not live.
	refs [][]resolvedRef
	// evaluator evaluates conditions; values points it at the item whose
	// condition it evaluates.
	evaluator *conditions.Evaluator
	values    *values
}

// resolvedRef is a stage reference with its variables expanded: the
// lower-cased name, or ok=false when it cannot be resolved here.
type resolvedRef struct {
	name string
	ok   bool
}

type declared struct {
	value string
	ok    bool
}

type existsAnswer struct {
	ok  bool
	err error
}

func newEvaluation(ctx context.Context, p *prepared, opt Options) *evaluation {
	e := &evaluation{
		ctx: ctx, p: p, opt: opt,
		lex:            shell.NewLex(rune(p.file.Escape)),
		global:         &env{},
		globalDeclared: map[string]declared{},
		branchLive:     make([]bool, p.file.Branches),
		taken:          make([]bool, p.file.Blocks),
		dead:           make([]bool, p.file.NumLines()),
		cur:            -1,
		seen:           make([][]declared, len(p.info)),
		refs:           make([][]resolvedRef, len(p.info)),
		exists:         map[string]existsAnswer{},
		requires:       map[int][]*syntax.Item{},
	}
	for _, kv := range e.platformArgs() {
		v := kv[1]
		if o, ok := opt.BuildArgs[kv[0]]; ok {
			v = o
		}
		e.global.set(kv[0], v)
	}
	return e
}

// platformArgs are the values upstream's converter starts the global scope
// with.
func (e *evaluation) platformArgs() [][2]string {
	bp, tp := e.opt.BuildPlatform, e.opt.TargetPlatform
	if bp.OS == "" {
		bp = platforms.DefaultSpec()
	}
	if tp.OS == "" {
		tp = bp
	}
	bp, tp = platforms.Normalize(bp), platforms.Normalize(tp)
	target := e.opt.Target
	if target == "" {
		target = "default"
	}
	return [][2]string{
		{"BUILDPLATFORM", platforms.Format(bp)},
		{"BUILDOS", bp.OS},
		{"BUILDOSVERSION", bp.OSVersion},
		{"BUILDARCH", bp.Architecture},
		{"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(tp)},
		{"TARGETOS", tp.OS},
		{"TARGETOSVERSION", tp.OSVersion},
		{"TARGETARCH", tp.Architecture},
		{"TARGETVARIANT", tp.Variant},
		{"TARGETSTAGE", target},
	}
}

func (e *evaluation) errorf(line int, format string, args ...any) {
	e.errs.Add(e.p.file.Name, line, 0, format, args...)
}

// live reports whether the body of branch b is live (nil: top level).
func (e *evaluation) live(b *syntax.Branch) bool {
	return b == nil || e.branchLive[b.ID]
}

// walk decides every item, in file order.
func (e *evaluation) walk() {
	for _, it := range e.p.file.Items {
		switch it.Kind {
		case syntax.If, syntax.ElseIf, syntax.Else:
			e.keyword(it)
			e.kill(it)
		case syntax.End:
			e.kill(it)
		default:
			e.instruction(it)
		}
	}
}

// keyword decides the branch an IF, ELSE IF or ELSE opens.
func (e *evaluation) keyword(it *syntax.Item) {
	br := e.p.of(it).opens
	if br == nil {
		return // ELSE without IF: already an error
	}
	parentLive := e.live(it.Block.Parent) && (stageLevel(it) || e.cur < 0 || e.stages[e.cur].Live)
	e.record(it)
	if !parentLive || e.taken[it.Block.ID] {
		e.branchLive[br.ID] = false
		return
	}
	v := true
	if it.Kind != syntax.Else {
		v = e.eval(it)
	}
	e.branchLive[br.ID] = v
	e.taken[it.Block.ID] = v
}

// instruction decides a Dockerfile instruction or a REQUIRE.
func (e *evaluation) instruction(it *syntax.Item) {
	if it.Keyword == "from" {
		e.cur++
		// A new stage starts empty; the previous one's maps are reused.
		if e.stage == nil {
			e.stage, e.stageDeclared = &env{}, map[string]declared{}
		}
		e.stage.reset()
		clear(e.stageDeclared)
		e.pendingEnv = e.pendingEnv[:0]
		st := Stage{Index: e.cur, Line: it.Line, Conditions: e.conditionsOf(it)}
		if e.cur < len(e.p.stages) {
			st.Name = e.p.stages[e.cur].name
		}
		e.stages = append(e.stages, st)
	}
	// Only a stage's reason is kept (Stage.OffBy); other items need none.
	isFrom := it.Keyword == "from"
	live := e.live(it.Branch)
	if !live && isFrom {
		e.stages[e.cur].OffBy = e.whyDead(it.Branch)
	} else if !isFrom && e.cur >= 0 && !e.stages[e.cur].Live {
		live = false
	}
	if it.Cond != nil {
		e.record(it)
		if live && !e.eval(it) {
			live = false
			if isFrom {
				e.stages[e.cur].OffBy = e.describe(it)
			}
		}
	}
	if isFrom {
		e.stages[e.cur].Live = live
	}
	if !live || it.Kind == syntax.Require {
		e.kill(it)
		if live && it.Kind == syntax.Require && e.cur >= 0 {
			e.requires[e.cur] = append(e.requires[e.cur], it)
		}
		return
	}
	if it.Strip() != nil {
		e.strip = append(e.strip, it.Strip())
	}
	for _, span := range it.VarFlags() {
		e.resolveVarFlag(it, span)
	}
	if refs := e.p.of(it).refs; len(refs) > 0 {
		out := make([]resolvedRef, len(refs))
		for k, r := range refs {
			out[k].name, out[k].ok = e.expandRef(it, r)
		}
		e.refs[e.p.slot[it.Index]] = out
	}
	if a := e.p.of(it).arg; a != nil {
		e.declare(it, a.Args)
	}
	if it.Keyword == "env" && e.stage != nil {
		e.pendingEnv = append(e.pendingEnv, it)
	}
}

// stageScope returns the current stage's ARG and ENV values, applying
// the ENVs seen since the last call: most stages never need them, so they
// are parsed and expanded only when an ARG default or a stage reference
// is. An ENV that does not parse is left for the converter to report.
func (e *evaluation) stageScope() *env {
	for _, it := range e.pendingEnv {
		c, ok := parseInstruction(it).(*instructions.EnvCommand)
		if !ok {
			continue
		}
		for _, kv := range c.Env {
			v, _, err := e.lex.ProcessWord(kv.Value, e.stage)
			if err == nil {
				e.stage.set(kv.Key, v)
			}
		}
	}
	e.pendingEnv = e.pendingEnv[:0]
	return e.stage
}

// kill turns every line of it into a comment.
func (e *evaluation) kill(it *syntax.Item) {
	for l := it.Line; l <= it.EndLine && l <= len(e.dead); l++ {
		e.dead[l-1] = true
	}
}

// declare applies a live ARG the way upstream's converter does: a build
// arg wins, else the default expanded in the scope so far; a stage ARG
// without either inherits the global value.
func (e *evaluation) declare(it *syntax.Item, kvs []instructionsKV) {
	for _, kv := range kvs {
		d := declared{}
		if v, ok := e.opt.BuildArgs[kv.Key]; ok {
			d = declared{v, true}
		} else if kv.Value != nil && literal(*kv.Value, rune(e.p.file.Escape)) {
			d = declared{*kv.Value, true}
		} else if kv.Value != nil {
			scopeEnv := e.global
			if it.Stage >= 0 {
				scopeEnv = e.stageScope()
			}
			v, _, err := e.lex.ProcessWord(*kv.Value, scopeEnv)
			if err != nil {
				e.errorf(it.Line, "cannot expand the default of ARG %s: %v", kv.Key, err)
			}
			d = declared{v, true}
		} else if it.Stage >= 0 {
			if g, ok := e.globalDeclared[kv.Key]; ok && g.ok {
				d = g
			} else if v, ok := e.global.get(kv.Key); ok && isAutomatic(kv.Key) {
				d = declared{v, true}
			}
		} else if v, ok := e.global.get(kv.Key); ok {
			d = declared{v, true}
		}
		if it.Stage < 0 {
			e.globalDeclared[kv.Key] = d
			if d.ok {
				e.global.set(kv.Key, d.value)
			}
		} else {
			e.stageDeclared[kv.Key] = d
			if d.ok {
				e.stageScope().set(kv.Key, d.value)
			}
		}
	}
}

// literal reports whether the shell lexer would give word back as it is:
// printable ASCII without quotes, variables or the escape token.
func literal(word string, escape rune) bool {
	for i := 0; i < len(word); i++ {
		switch c := word[i]; {
		case c < ' ' || c > '~', c == '\'', c == '"', c == '$', rune(c) == escape:
			return false
		}
	}
	return true
}

// lookup returns the value a condition at it sees for name.
func (e *evaluation) lookup(it *syntax.Item, name string) declared {
	if !stageLevel(it) {
		if d, ok := e.stageDeclared[name]; ok {
			return d
		}
	}
	if d, ok := e.globalDeclared[name]; ok {
		return d
	}
	if isAutomatic(name) {
		v, _ := e.global.get(name)
		return declared{v, v != ""}
	}
	return declared{}
}

// record notes the values the condition of it reads, live or not.
func (e *evaluation) record(it *syntax.Item) {
	c := e.p.of(it).cond
	if c == nil {
		return
	}
	if e.seenSlab == nil || cap(e.seenSlab)-len(e.seenSlab) < len(c.Names) {
		e.seenSlab = make([]declared, 0, max(256, len(c.Names)))
	}
	start := len(e.seenSlab)
	for _, n := range c.Names {
		e.seenSlab = append(e.seenSlab, e.lookup(it, n))
	}
	e.seen[e.p.slot[it.Index]] = e.seenSlab[start:len(e.seenSlab):len(e.seenSlab)]
}

// seenBy returns the values the condition of it read; nil when it was
// not looked at.
func (e *evaluation) seenBy(it *syntax.Item) []declared {
	return e.seen[e.p.slot[it.Index]]
}

// eval evaluates the condition of it; errors are recorded and count as
// false.
func (e *evaluation) eval(it *syntax.Item) bool {
	c := e.p.of(it).cond
	if c == nil {
		return false // a compile error, already reported
	}
	if e.evaluator == nil {
		e.values = &values{e: e}
		e.evaluator = conditions.NewEvaluator(e.values)
	}
	e.values.it = it
	v, err := e.evaluator.Eval(c)
	if err != nil {
		e.errs.Add(e.p.file.Name, it.Cond.Line, 0, "%s: %v", condLabel(it), err)
		return false
	}
	return v
}

// values gives a condition its names and functions.
type values struct {
	e  *evaluation
	it *syntax.Item
}

func (v *values) Lookup(name string) (string, bool) {
	d := v.e.lookup(v.it, name)
	return d.value, d.ok
}

func (v *values) Exists(pattern string) (bool, error) {
	e := v.e
	clean, inside := cleanExistsPath(pattern)
	key := pattern // answers are kept by cleaned path: "docs/" is "docs"
	if inside && e.opt.Context != nil {
		key = clean
	}
	if a, ok := e.exists[key]; ok {
		return a.ok, a.err
	}
	var a existsAnswer
	switch {
	case pattern == "":
		a.err = fmt.Errorf("exists() needs a path relative to the build context, as in exists(\"docs/\")")
	case !inside:
		a.err = fmt.Errorf("exists(%q) looks outside the build context: use a path relative to the context root", pattern)
	case e.opt.Context == nil:
		a.err = fmt.Errorf("exists(%q) needs the build context, which this run does not have", pattern)
	default:
		a.ok, a.err = e.opt.Context.Exists(e.ctx, clean)
	}
	e.exists[key] = a
	return a.ok, a.err
}

// cleanExistsPath cleans the path of an exists() call, and reports
// whether it stays inside the build context.
func cleanExistsPath(pattern string) (string, bool) {
	clean := path.Clean(strings.TrimSuffix(pattern, "/"))
	return clean, pattern != "" && !path.IsAbs(pattern) && clean != ".." && !strings.HasPrefix(clean, "../")
}

// describe renders the condition of it with the values it read, as in
// "IF INCLUDE_DOCS (line 4) with INCLUDE_DOCS=false".
func (e *evaluation) describe(it *syntax.Item) string {
	s := it.Describe()
	if vals := e.seenBy(it); len(vals) > 0 {
		var parts []string
		for i, n := range e.p.of(it).cond.Names {
			d := vals[i]
			if d.ok {
				parts = append(parts, fmt.Sprintf("%s=%q", n, d.value))
			} else {
				parts = append(parts, n+" unset")
			}
		}
		s += " with " + strings.Join(parts, ", ")
	}
	return s
}

// whyDead explains why the body of branch b is off.
func (e *evaluation) whyDead(b *syntax.Branch) string {
	// The outermost dead branch is the one that decided.
	var outer *syntax.Branch
	for x := b; x != nil; x = x.Block.Parent {
		if !e.branchLive[x.ID] {
			outer = x
		}
	}
	if outer == nil {
		return ""
	}
	if outer.Item.Kind == syntax.Else || e.taken[outer.Block.ID] {
		for _, other := range outer.Block.Branches {
			if e.branchLive[other.ID] {
				return fmt.Sprintf("%s (line %d), because %s holds", outer.Item.Kind, outer.Item.Line, e.describe(other.Item))
			}
		}
	}
	if e.p.of(outer.Item).cond == nil && outer.Item.Kind != syntax.Else {
		return outer.Item.Describe()
	}
	if !e.live(outer.Block.Parent) {
		return e.whyDead(outer.Block.Parent)
	}
	if evaluated := e.seenBy(outer.Item) != nil; evaluated && outer.Item.Kind != syntax.Else {
		return e.describe(outer.Item)
	}
	return outer.Item.Describe()
}

// conditionsOf lists the conditions a FROM depends on, outermost first.
func (e *evaluation) conditionsOf(it *syntax.Item) []string {
	var out []string
	for b := it.Branch; b != nil; b = b.Block.Parent {
		var s string
		if b.Item.Kind == syntax.Else {
			s = fmt.Sprintf("ELSE (line %d)", b.Item.Line)
		} else {
			s = b.Item.Describe()
		}
		out = append([]string{s}, out...)
	}
	if it.Cond != nil {
		out = append(out, it.Describe())
	}
	return out
}

// indexStages builds the by-name lookups of liveStage and deadStage; it
// runs once the walk has decided every stage.
func (e *evaluation) indexStages() {
	e.liveByName = map[string]int{}
	e.deadByName = map[string]int{}
	e.typos = map[string]string{}
	for i, s := range e.stages {
		if s.Name == "" {
			continue
		}
		m := e.deadByName
		if s.Live {
			m = e.liveByName
		}
		if _, ok := m[s.Name]; !ok {
			m[s.Name] = i
			if s.Live {
				e.liveNames = append(e.liveNames, s.Name)
			}
		}
	}
}

// liveStage finds the first live stage named name, if it is defined
// before stage index before (or anywhere, when before < 0).
func (e *evaluation) liveStage(name string, before int) *Stage {
	i, ok := e.liveByName[name]
	if !ok || (before >= 0 && i >= before) {
		return nil
	}
	return &e.stages[i]
}

// deadStage finds a dead stage named name.
func (e *evaluation) deadStage(name string) *Stage {
	if i, ok := e.deadByName[name]; ok {
		return &e.stages[i]
	}
	return nil
}

// checkStages reports two live stages with one name, and a target that is
// turned off.
func (e *evaluation) checkStages() {
	first := map[string]int{}
	for _, s := range e.stages {
		if !s.Live || s.Name == "" {
			continue
		}
		if l, ok := first[s.Name]; ok {
			e.errorf(s.Line, "stage %q is already defined at line %d and both are live with these build args: give one another name, or put them in exclusive branches (IF ... ELSE ... END)", s.Name, l)
			continue
		}
		first[s.Name] = s.Line
	}
	if t := strings.ToLower(e.opt.Target); t != "" && e.liveStage(t, -1) == nil {
		if d := e.deadStage(t); d != nil {
			e.errorf(d.Line, "target stage %q is turned off by %s: change the build args or choose another --target", t, d.OffBy)
		}
	}
}

// build returns the live stages the build converts (those the target
// reaches through FROM, COPY --from, RUN --mount and REQUIRE) and the
// stages REQUIREs among them name: the gates, in order of discovery.
func (e *evaluation) build() ([]bool, []string) {
	reach := make([]bool, len(e.stages))
	var gates []string
	root := -1
	if t := strings.ToLower(e.opt.Target); t != "" {
		if s := e.liveStage(t, -1); s != nil {
			root = s.Index
		}
	} else {
		for i := range e.stages {
			if e.stages[i].Live {
				root = i
			}
		}
	}
	if root < 0 {
		return reach, nil
	}
	deps := make([][]int, len(e.stages))
	for _, it := range e.p.linked {
		if it.Stage < 0 || e.dead[it.Line-1] {
			continue
		}
		for k, r := range e.p.of(it).refs {
			name, ok := e.refName(it, k)
			if !ok {
				continue
			}
			if n, ok := stageNumber(name); ok && r.how != "FROM" {
				if n >= 0 && n < len(e.stages) {
					deps[it.Stage] = append(deps[it.Stage], n)
				}
			} else if i, ok := e.liveByName[name]; ok {
				deps[it.Stage] = append(deps[it.Stage], i)
			}
		}
	}
	var visit func(int)
	visit = func(i int) {
		if reach[i] {
			return
		}
		reach[i] = true
		for _, d := range deps[i] {
			visit(d)
		}
		for _, r := range e.stages[i].Requires {
			if !slices.Contains(gates, r.Stage) {
				gates = append(gates, r.Stage)
			}
			if j, ok := e.liveByName[r.Stage]; ok {
				visit(j)
			}
		}
	}
	visit(root)
	return reach, gates
}

// checkRefs reports live instructions that refer to a stage that is off,
// names that look like a typo of a stage, and numbered stage references
// that the rewrite would shift.
func (e *evaluation) checkRefs(reach []bool) {
	for _, it := range e.p.linked {
		refs := e.p.of(it).refs
		if len(refs) == 0 || it.Stage < 0 || e.dead[it.Line-1] || !reach[it.Stage] {
			continue
		}
		for k, r := range refs {
			name, ok := e.refName(it, k)
			if !ok {
				continue
			}
			if n, ok := stageNumber(name); ok && r.how != "FROM" {
				e.checkNumberedRef(it, r, n)
				continue
			}
			if e.liveStage(name, it.Stage) != nil {
				continue
			}
			if d := e.deadStage(name); d != nil {
				e.errorf(it.Line, "%s=%s refers to stage %q (line %d), which is turned off by %s: guard this instruction with the same condition, or make the stage unconditional", r.how, r.name, d.Name, d.Line, d.OffBy)
				continue
			}
			e.checkTypo(it, r, name)
		}
	}
}

// refNames returns the resolved references of a live item (see refs).
func (e *evaluation) refNames(it *syntax.Item) []resolvedRef {
	return e.refs[e.p.slot[it.Index]]
}

// refName returns the k-th reference of a live item as resolved in its
// own scope; false when it was not resolved (dead, or not expandable).
func (e *evaluation) refName(it *syntax.Item, k int) (string, bool) {
	rr := e.refNames(it)
	if k >= len(rr) {
		return "", false
	}
	return rr[k].name, rr[k].ok
}

// expandRef resolves the variables of a stage reference the way the
// converter will see it: FROM in the global scope, --from and mounts in
// the stage's scope (global ARGs included). It returns the lower-cased
// name, or false when it cannot be resolved here.
func (e *evaluation) expandRef(it *syntax.Item, r stageRef) (string, bool) {
	name := r.name
	if strings.Contains(name, "$") {
		env := e.global
		if r.how != "FROM" {
			env = e.stageEnv()
		}
		v, _, err := e.lex.ProcessWord(name, env)
		if err != nil {
			return "", false
		}
		name = v
	}
	return strings.ToLower(name), true
}

// stageEnv is the current stage's scope over the global one.
func (e *evaluation) stageEnv() *env {
	merged := &env{}
	for _, k := range e.global.keys {
		if d, ok := e.globalDeclared[k]; ok && d.ok {
			merged.set(k, d.value)
		}
	}
	if e.stage != nil {
		st := e.stageScope()
		for _, k := range st.keys {
			merged.set(k, st.vals[k])
		}
	}
	return merged
}

// resolveVarFlag writes the value of the variable in COPY --from=$X or
// RUN --mount=from=$X into the rewrite (upstream expands neither), so a
// stage chosen by an ARG works.
func (e *evaluation) resolveVarFlag(it *syntax.Item, span *syntax.Span) {
	shown := strings.ToUpper(it.Keyword) + " " + span.Text
	expand := func(raw string) (string, bool) {
		v, unmatched, err := e.lex.ProcessWord(raw, e.stageEnv())
		switch {
		case err != nil:
			e.errorf(it.Line, "cannot expand %s: %v", shown, err)
		case len(unmatched) > 0 || v == "":
			e.errorf(it.Line, "%s: %s has no value here: declare it with ARG (a global ARG before the first FROM, or in this stage) and give it a default or a --build-arg", shown, strings.Join(slices.Sorted(maps.Keys(unmatched)), ", "))
		default:
			return v, true
		}
		return "", false
	}
	edit := *span
	if raw, ok := strings.CutPrefix(span.Text, "--from="); ok {
		v, ok := expand(raw)
		if !ok {
			return
		}
		edit.Text = "--from=" + v
	} else {
		fields := syntax.MountFields(strings.TrimPrefix(span.Text, "--mount="))
		for i, f := range fields {
			if k, raw, _ := strings.Cut(f, "="); strings.EqualFold(k, "from") {
				v, ok := expand(raw)
				if !ok {
					return
				}
				fields[i] = k + "=" + v
			}
		}
		word, ok := mountWord(fields)
		if !ok {
			e.errorf(it.Line, "cannot rewrite %s with its stage name: write the mount's fields without quotes", span.Text)
			return
		}
		edit.Text = word
	}
	e.strip = append(e.strip, &edit)
}

// mountWord renders --mount fields as one Dockerfile flag word that the
// parser and BuildKit's CSV reader read back as fields.
func mountWord(fields []string) (string, bool) {
	quoted := false
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"") {
			fields[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			quoted = true
		}
	}
	word := "--mount=" + strings.Join(fields, ",")
	if !quoted {
		return word, true
	}
	if strings.Contains(word, "'") {
		return "", false
	}
	return "'" + word + "'", true
}

// checkTypo reports a reference that names no stage but looks like a
// misspelt one (no registry, tag, digest or path), before the converter
// would try to pull it as an image.
func (e *evaluation) checkTypo(it *syntax.Item, r stageRef, name string) {
	if name == "" || strings.ContainsAny(name, "/:@.") || name == "scratch" {
		return
	}
	live := e.liveNames
	c, seen := e.typos[name]
	if !seen {
		c = conditions.Closest(name, live)
		e.typos[name] = c
	}
	if c == "" {
		return
	}
	shown := r.how + "=" + r.name
	if r.name != name {
		shown += fmt.Sprintf(" (%q)", name)
	}
	e.errorf(it.Line, "%s names no stage of this file; did you mean %q? The stages are: %s. (Without a stage of that name it would be pulled as an image.)", shown, c, strings.Join(live, ", "))
}

func (e *evaluation) checkNumberedRef(it *syntax.Item, r stageRef, n int) {
	if n < 0 || n >= len(e.stages) {
		return // upstream reports it
	}
	s := e.stages[n]
	if !s.Live {
		e.errorf(it.Line, "%s=%d refers to stage %d (line %d), which is turned off by %s: refer to stages by name, and guard this instruction with the same condition", r.how, n, n, s.Line, s.OffBy)
		return
	}
	shifted := 0
	for _, o := range e.stages[:n] {
		if !o.Live {
			shifted++
		}
	}
	if shifted > 0 {
		e.errorf(it.Line, "%s=%d refers to stage %d by number, but %d stage(s) before it are turned off, so its number would change: name it (FROM ... AS name) and refer to the name", r.how, n, n, shifted)
	}
}

// checkRequires resolves the live REQUIREs of every stage and reports
// stages that are off and cycles.
func (e *evaluation) checkRequires() {
	for idx, items := range e.requires {
		for _, it := range items {
			for _, a := range it.Args() {
				name := strings.ToLower(a)
				if s := e.liveStage(name, -1); s != nil {
					if !slices.ContainsFunc(e.stages[idx].Requires, func(r Requirement) bool { return r.Stage == s.Name }) {
						e.stages[idx].Requires = append(e.stages[idx].Requires, Requirement{Stage: s.Name, Line: it.Line})
					}
				} else if d := e.deadStage(name); d != nil {
					e.errorf(it.Line, "REQUIRE %s: stage %q (line %d) is turned off by %s: guard the REQUIRE with the same condition (REQUIRE --if=...)", a, d.Name, d.Line, d.OffBy)
				}
			}
		}
	}
	e.checkCycles()
}

// checkCycles reports a stage that requires itself, directly or through
// other REQUIREs and the stages it builds on.
func (e *evaluation) checkCycles() {
	byName := map[string]int{}
	for i, s := range e.stages {
		if s.Live && s.Name != "" {
			if _, ok := byName[s.Name]; !ok {
				byName[s.Name] = i
			}
		}
	}
	deps := make([][]int, len(e.stages))
	for _, it := range e.p.linked {
		if it.Stage < 0 || it.Stage >= len(e.stages) || e.dead[it.Line-1] {
			continue
		}
		for k := range e.p.of(it).refs {
			name, ok := e.refName(it, k)
			if !ok {
				continue
			}
			if j, ok := byName[name]; ok {
				deps[it.Stage] = append(deps[it.Stage], j)
			}
		}
	}
	// state: 0 unvisited, 1 on the path, 2 done.
	state := make([]int, len(e.stages))
	var path []string
	var visit func(i int, via string) bool
	visit = func(i int, via string) bool {
		label := e.stageLabel(i)
		if state[i] == 1 {
			start := slices.Index(path, label)
			cycle := append(slices.Clone(path[start:]), label)
			e.errorf(e.stages[i].Line, "REQUIRE cycle: %s: a stage cannot require itself, directly or through the stages it builds on", strings.Join(cycle, " -> "))
			return true
		}
		if state[i] == 2 {
			return false
		}
		state[i] = 1
		path = append(path, label)
		for _, r := range e.stages[i].Requires {
			if visit(byName[r.Stage], "REQUIRE") {
				return true
			}
		}
		for _, j := range deps[i] {
			if visit(j, "") {
				return true
			}
		}
		path = path[:len(path)-1]
		state[i] = 2
		return false
	}
	for i := range e.stages {
		if len(e.stages[i].Requires) > 0 && state[i] == 0 {
			path = path[:0]
			if visit(i, "") {
				return
			}
		}
	}
}

func (e *evaluation) stageLabel(i int) string {
	if n := e.stages[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("stage %d", i)
}

// output writes the rewritten file: dead lines become "#" (keeping their
// line ending), --if= flags are cut out, everything else is as written.
func (e *evaluation) output(dt []byte) []byte {
	strips := map[int][]*syntax.Span{}
	for _, s := range e.strip {
		strips[s.Line] = append(strips[s.Line], s)
	}
	notes := map[int]string{}
	if e.opt.Annotate {
		for _, items := range e.requires {
			for _, it := range items {
				notes[it.Line-1] = "# REQUIRE " + strings.Join(it.Args(), " ") + " (stagefront: these stages must pass)"
			}
		}
	}
	out := make([]byte, 0, len(dt))
	for i := range e.p.file.NumLines() {
		line := e.p.file.Line(i)
		switch {
		case notes[i] != "":
			out = append(out, notes[i]...)
			out = append(out, line[len(trimEOL(line)):]...)
		case e.dead[i]:
			if i == 0 && len(line) >= 3 && string(line[:3]) == "\xEF\xBB\xBF" {
				out = append(out, line[:3]...)
			}
			out = append(out, '#')
			out = append(out, line[len(trimEOL(line)):]...)
		case strips[i] != nil:
			prev := 0
			spans := strips[i]
			slices.SortFunc(spans, func(a, b *syntax.Span) int { return a.From - b.From })
			for _, s := range spans {
				out = append(out, line[prev:s.From]...)
				out = append(out, s.Text...)
				prev = s.To
			}
			out = append(out, line[prev:]...)
		default:
			out = append(out, line...)
		}
	}
	return out
}

// stageNumber reads a stage referred to by its index, as in COPY --from=0.
func stageNumber(name string) (int, bool) {
	if name == "" || strings.Trim(name, "0123456789") != "" {
		return 0, false // most names: no error value to build
	}
	n, err := strconv.Atoi(name)
	return n, err == nil
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
