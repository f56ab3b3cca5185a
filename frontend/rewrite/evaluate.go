package rewrite

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/org/stagefront/internal/didyoumean"
)

// Rewrite turns the extended Dockerfile dt into a standard one for the
// platform and values in opt: Analyze, then Evaluate. On bad input it
// returns an ErrorList with every problem it could find, or the parser's
// own error.
func Rewrite(ctx context.Context, dt []byte, opt Options) (*Result, error) {
	if opt.Filename == "" {
		opt.Filename = "Dockerfile"
	}
	f, err := analysis.Analyze(ctx, opt.Filename, dt, analysis.Options{})
	if f == nil {
		return nil, err
	}
	return Evaluate(ctx, f, opt)
}

// Evaluate decides every line of the analysed file f for the values in
// opt and writes the standard Dockerfile. Its errors are f's own
// (value-independent) ones and those of these values, sorted by line.
// One File may be evaluated concurrently for several platforms.
func Evaluate(ctx context.Context, f *analysis.File, opt Options) (*Result, error) {
	dt := f.Syntax.Data()
	if !f.Extended() && !f.Syntax.HasVarFlags {
		return evaluateStandard(ctx, f, opt, nil)
	}
	e := newEvaluation(ctx, f, opt)
	if ec, ok := opt.Context.(ExpectingContext); ok && len(f.Paths) > 0 {
		ec.Expect(f.Paths)
	}
	if err := e.walk(); err != nil {
		return nil, err
	}
	if !f.Extended() && len(e.resolvedFlags) == 0 {
		// The stages named by variables are no extension for these
		// values (no ARG with a value names them): the file is converted
		// as written, and upstream reports what it makes of them.
		return evaluateStandard(ctx, f, opt, e)
	}
	e.indexStages()
	e.checkStages()
	e.g = e.graph()
	e.checkRequires(e.g)
	reach, gates := e.reach(e.g)
	e.checkRefs(reach)
	res := &Result{Extended: true, Dockerfile: e.output(dt), Stages: e.stages, Gates: gates,
		Includes: e.includes, Analysis: f, eval: e}
	if opt.ListFlags {
		res.Flags = e.flags()
	}
	var errs syntax.ErrorList
	errs.Merge(f.Errors())
	errs.Merge(&e.errs)
	return res, errs.Err()
}

// evaluateStandard is the result of a file that uses no extension for
// these values: the file as written. e is the walk of the file when there
// was one (nil: none yet); a file whose FROM names a variable is walked
// for checkSelection, and the result keeps the walk.
func evaluateStandard(ctx context.Context, f *analysis.File, opt Options, e *evaluation) (*Result, error) {
	res := &Result{Dockerfile: f.Syntax.Data(), Stages: plainStages(f), Analysis: f, opt: opt}
	var errs syntax.ErrorList
	errs.Merge(f.Errors())
	if f.SelectsByVar && e == nil {
		e = newEvaluation(ctx, f, opt)
		if err := e.walk(); err != nil {
			return nil, err
		}
	}
	if e != nil {
		e.indexStages()
		res.eval = e
	}
	if f.SelectsByVar {
		errs.Merge(checkSelection(e))
	}
	return res, errs.Err()
}

// checkSelection checks the walk of a standard file whose FROM names a
// variable for the one error that applies to it: a selected stage name
// with a typo. Everything else is left to the converter, with upstream's
// errors.
func checkSelection(e *evaluation) *syntax.ErrorList {
	f := e.p
	e.g = e.graph()
	reach, _ := e.reach(e.g)
	alive := func(i int) bool { return e.stages[i].Live }
	var found []int
	for _, it := range f.Syntax.Stages {
		if !reach[it.LastFrom] {
			continue
		}
		for k, r := range f.Refs(it) {
			name, ok := e.refName(it, k)
			if !ok || !r.HasVariable() {
				continue
			}
			if found = f.Resolve(found[:0], r.Kind, name, it.LastFrom, alive); len(found) == 0 {
				e.checkTypo(it, r, name)
			}
		}
	}
	return &e.errs
}

// plainStages lists the stages of a file without extensions.
func plainStages(f *analysis.File) []Stage {
	out := make([]Stage, 0, len(f.Stages))
	for _, s := range f.Stages {
		out = append(out, Stage{Index: s.Index, Line: s.Item.Line, Live: true, Name: s.Name})
	}
	return out
}

// evaluation is one rewrite of an analysed file for one set of values.
type evaluation struct {
	ctx  context.Context
	p    *analysis.File
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
	// cur is the index of the last FROM walked, -1 before the first;
	// owner that of the last live one, the stage the live lines belong
	// to (see analysis.Owners).
	cur, owner int
	// deadBody is set in the body of a FROM that is off (its lines are
	// off), up to the next FROM or the end of the branch deadIn that FROM
	// stands in (nil: the top level).
	deadBody bool
	deadIn   *syntax.Branch
	// lastLive[i] is the last live stage of stages[:i+1], -1 for none
	// (see stageAt).
	lastLive []int32
	// seen records the values each condition read (in the order of its
	// Names), by the item's slot in the analysis (an item with a condition
	// has one), for Flags and messages; none for a condition that was not
	// looked at or that record keeps nothing for (see seenBy).
	seen     [][]declared
	seenSlab []declared
	exists   map[string]existsAnswer
	// requires are the live REQUIRE items, in file order.
	requires []*syntax.Item
	// includes are the live INCLUDEs, in file order.
	includes []Include
	// liveByName and deadByName index stages by name (first of each);
	// liveNames lists the live names in file order.
	liveByName, deadByName map[string]int
	liveNames              []string
	// deadCount[i] counts the stages before stage i that are off, once
	// asked (see deadBefore).
	deadCount []int32
	// typos memoizes the did-you-mean of each name that is no stage.
	typos map[string]string
	// resolvedFlags are the --flags of the live items whose stage name was
	// a variable, as the converter reads them in the rewrite.
	resolvedFlags map[*syntax.Item][]string
	// refs holds, by the item's slot in the analysis, the stage names
	// its references resolve to in the scope of the instruction itself
	// (decided during the walk: a later stage's ARGs must not change
	// what an earlier COPY --from=${X} names); nil when it was not live.
	refs [][]resolvedRef
	// g is the stage graph of the build, once the walk has decided every
	// stage (see graph).
	g         *analysis.Graph
	graphOnce sync.Once
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

func newEvaluation(ctx context.Context, p *analysis.File, opt Options) *evaluation {
	e := &evaluation{
		ctx: ctx, p: p, opt: opt,
		lex:            shell.NewLex(rune(p.Syntax.Escape)),
		global:         &env{},
		globalDeclared: map[string]declared{},
		branchLive:     make([]bool, p.Syntax.Branches),
		taken:          make([]bool, p.Syntax.Blocks),
		dead:           make([]bool, p.Syntax.NumLines()),
		cur:            -1,
		owner:          -1,
		refs:           make([][]resolvedRef, len(p.Linked())),
		exists:         map[string]existsAnswer{},
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
	e.errs.Add(e.p.Syntax.Name, line, 0, format, args...)
}

// live reports whether the body of branch b is live (nil: top level).
func (e *evaluation) live(b *syntax.Branch) bool {
	return b == nil || e.branchLive[b.ID]
}

// walk decides every item, in file order. A cancelled context stops it,
// with context.Cause.
func (e *evaluation) walk() error {
	for i, it := range e.p.Syntax.Items {
		if i%4096 == 0 && e.ctx.Err() != nil {
			return context.Cause(e.ctx)
		}
		switch it.Kind {
		case syntax.If, syntax.ElseIf, syntax.Else, syntax.End:
			if e.deadBody && e.deadIn != nil && it.Kind != syntax.If && e.deadIn.Block == it.Block() {
				e.deadBody = false // the branch the dead FROM stands in ends
			}
			if it.Kind != syntax.End {
				e.keyword(it)
			}
			e.kill(it)
		default:
			e.instruction(it)
		}
	}
	return nil
}

// keyword decides the branch an IF, ELSE IF or ELSE opens.
func (e *evaluation) keyword(it *syntax.Item) {
	br := e.p.Opens(it)
	if br == nil {
		return // ELSE without IF: already an error
	}
	parentLive := e.live(it.Block().Parent) && (analysis.StageLevel(it) || !e.deadBody)
	e.record(it)
	if !parentLive || e.taken[it.Block().ID] {
		e.branchLive[br.ID] = false
		return
	}
	v := true
	if it.Kind != syntax.Else {
		v = e.eval(it)
	}
	e.branchLive[br.ID] = v
	e.taken[it.Block().ID] = v
}

// instruction decides a Dockerfile instruction, a REQUIRE or an INCLUDE.
// Dead lines vanish and what remains is the file the build converts: a
// line belongs to the last live FROM above it, and the body of a FROM
// that is off is off (see deadBody).
func (e *evaluation) instruction(it *syntax.Item) {
	isFrom := it.Keyword == "from"
	if isFrom {
		e.cur++
		st := Stage{Index: e.cur, Line: it.Line, Conditions: e.conditionsOf(it)}
		if e.cur < len(e.p.Stages) {
			st.Name = e.p.Stages[e.cur].Name
		}
		e.stages = append(e.stages, st)
	}
	// Only a stage's reason is kept (Stage.OffBy); other items need none.
	live := e.live(it.Branch)
	if !live && isFrom {
		e.stages[e.cur].OffBy = e.whyDead(it.Branch)
	} else if !isFrom && e.deadBody {
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
		e.deadBody, e.deadIn = !live, it.Branch
		if live {
			e.startStage()
		}
	}
	if !live && it.Kind == syntax.Instruction {
		e.checkKnown(it)
	}
	if live && e.owner < 0 && it.LastFrom >= 0 && it.Kind != syntax.Include {
		// What a fragment INCLUDEd here holds decides for itself.
		e.errorf(it.Line, "%s has no stage with these build args: no FROM above it is live (the last one, at %s, is turned off by %s): start a stage that is live before it, or move it into the branch of its stage", strings.ToUpper(it.Keyword), e.p.Syntax.LineRef(e.stages[it.LastFrom].Line), e.stages[it.LastFrom].OffBy)
		live = false
	}
	if it.Kind == syntax.Include {
		// Its lines are never the converter's: a live one gives way to
		// its fragment (see Expand).
		e.kill(it)
		if live {
			e.include(it)
		}
		return
	}
	if !live || it.Kind == syntax.Require {
		e.kill(it)
		if live && it.Kind == syntax.Require {
			e.requires = append(e.requires, it)
			e.resolveRefs(it)
		}
		return
	}
	if it.Strip() != nil {
		e.strip = append(e.strip, it.Strip())
	}
	for _, span := range it.VarFlags() {
		e.resolveVarFlag(it, span)
	}
	e.resolveRefs(it)
	if a := e.p.Arg(it); a != nil {
		e.declare(it, a.Args)
	}
	if it.Keyword == "env" && e.stage != nil {
		e.pendingEnv = append(e.pendingEnv, it)
		if slices.ContainsFunc(it.Flags, func(f string) bool { return f == "--unset" || strings.HasPrefix(f, "--unset=") }) {
			e.unsetEnv(it)
		}
	}
}

// unsetEnv applies an ENV --unset (a labs instruction: it parses only in
// a build with upstream's labs tags) to the names conditions read: as
// upstream's converter removes the stage's ENV and ARG of each name, the
// rest of the stage sees it unset, its global ARG included. Its ENV
// values go in order with the other ENVs (see stageScope).
func (e *evaluation) unsetEnv(it *syntax.Item) {
	c, ok := analysis.ParseInstruction(it).(*instructions.EnvCommand)
	if !ok || !c.Unset {
		return
	}
	for _, kv := range c.Env {
		e.stageDeclared[kv.Key] = declared{}
	}
}

// startStage makes the live FROM just walked the stage the lines below
// it belong to. A new stage starts empty; the previous one's maps are
// reused.
func (e *evaluation) startStage() {
	e.owner = e.cur
	if e.stage == nil {
		e.stage, e.stageDeclared = &env{}, map[string]declared{}
	}
	e.stage.reset()
	clear(e.stageDeclared)
	e.pendingEnv = e.pendingEnv[:0]
}

// checkKnown reports an unknown instruction on a line that is off for
// these values: the converter, which reports it where it is live, never
// sees it, and the typo would wait for the build that turns it on.
func (e *evaluation) checkKnown(it *syntax.Item) {
	if _, ok := command.Commands[it.Keyword]; ok {
		return
	}
	// The name as written, as BuildKit's message quotes it: the first
	// word of the item's first line.
	name := it.Keyword
	if w := bytes.Fields(e.p.Syntax.Line(it.Line - 1)); len(w) > 0 {
		name = string(w[0])
	}
	msg := "unknown instruction: " + name
	if c := didyoumean.Closest(it.Keyword, knownInstructions, false); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.ToUpper(c))
	}
	e.errorf(it.Line, "%s: this line is off for these build args, so BuildKit would not report it until a build turns it on", msg)
}

// knownInstructions are the Dockerfile instructions, for a did-you-mean.
var knownInstructions = slices.Sorted(maps.Keys(command.Commands))

// stageScope returns the current stage's ARG and ENV values, applying
// the ENVs seen since the last call: most stages never need them, so they
// are parsed and expanded only when an ARG default or a stage reference
// is. An ENV that does not parse is left for the converter to report.
func (e *evaluation) stageScope() *env {
	for _, it := range e.pendingEnv {
		c, ok := analysis.ParseInstruction(it).(*instructions.EnvCommand)
		if !ok {
			continue
		}
		if c.Unset {
			for _, kv := range c.Env {
				e.stage.unset(kv.Key)
			}
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
		} else if kv.Value != nil && literal(*kv.Value, rune(e.p.Syntax.Escape)) {
			d = declared{*kv.Value, true}
		} else if kv.Value != nil {
			scopeEnv := e.global
			if it.LastFrom >= 0 {
				scopeEnv = e.stageScope()
			}
			v, _, err := e.lex.ProcessWord(*kv.Value, scopeEnv)
			if err != nil {
				e.errorf(it.Line, "cannot expand the default of ARG %s: %v", kv.Key, err)
			}
			d = declared{v, true}
		} else if it.LastFrom >= 0 {
			if g, ok := e.globalDeclared[kv.Key]; ok && g.ok {
				d = g
			} else if v, ok := e.global.get(kv.Key); ok && analysis.IsAutomatic(kv.Key) {
				d = declared{v, true}
			}
		} else if v, ok := e.global.get(kv.Key); ok {
			d = declared{v, true}
		}
		if it.LastFrom < 0 {
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
	if !analysis.StageLevel(it) {
		if d, ok := e.stageDeclared[name]; ok {
			return d
		}
	}
	if d, ok := e.globalDeclared[name]; ok {
		return d
	}
	if analysis.IsAutomatic(name) {
		v, _ := e.global.get(name)
		return declared{v, v != ""}
	}
	return declared{}
}

// record notes the values the condition of it reads, live or not: for
// the conditions that messages explain (blocks and FROM guards, see
// whyDead), and for all of them when the flags are listed. A guard of
// another instruction is explained by nothing, so a file of a million
// guarded lines keeps no values for them.
func (e *evaluation) record(it *syntax.Item) {
	c := e.p.Condition(it)
	if c == nil || !(e.opt.ListFlags || it.Kind != syntax.Instruction || it.Keyword == "from") {
		return
	}
	if e.seenSlab == nil || cap(e.seenSlab)-len(e.seenSlab) < len(c.Names) {
		e.seenSlab = make([]declared, 0, max(256, len(c.Names)))
	}
	start := len(e.seenSlab)
	for _, n := range c.Names {
		e.seenSlab = append(e.seenSlab, e.lookup(it, n))
	}
	if e.seen == nil {
		e.seen = make([][]declared, e.p.NumSlots())
	}
	e.seen[e.p.Slot(it)] = e.seenSlab[start:len(e.seenSlab):len(e.seenSlab)]
}

// seenBy returns the values the condition of it read; nil when it was
// not looked at.
func (e *evaluation) seenBy(it *syntax.Item) []declared {
	if e.seen == nil {
		return nil
	}
	return e.seen[e.p.Slot(it)]
}

// eval evaluates the condition of it; errors are recorded and count as
// false.
func (e *evaluation) eval(it *syntax.Item) bool {
	c := e.p.Condition(it)
	if c == nil {
		return false // a compile error, already reported
	}
	if e.evaluator == nil {
		e.values = &values{e: e}
		e.evaluator = conditions.NewEvaluator(e.values, e.p.ReadableNames()...)
	}
	e.values.it = it
	v, err := e.evaluator.Eval(c)
	if err != nil {
		e.errs.Add(e.p.Syntax.Name, it.Cond.Line, 0, "%s: %v", analysis.CondLabel(it), err)
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
	clean, err := contextfs.Clean(pattern)
	key := clean // answers are kept by cleaned path: "docs/" is "docs"
	if err != nil {
		key = pattern
	}
	if a, ok := e.exists[key]; ok {
		return a.ok, a.err
	}
	var a existsAnswer
	switch {
	case err != nil:
		a.err = err
	case e.opt.Context == nil:
		a.err = fmt.Errorf("exists(%q) needs the build context, which this run does not have", pattern)
	default:
		a.ok, a.err = e.opt.Context.Exists(e.ctx, clean)
	}
	e.exists[key] = a
	return a.ok, a.err
}

// describe renders the condition of it with the values it read, as in
// "IF INCLUDE_DOCS (line 4) with INCLUDE_DOCS=false".
func (e *evaluation) describe(it *syntax.Item) string {
	s := e.p.Syntax.Describe(it)
	if vals := e.seenBy(it); len(vals) > 0 {
		var parts []string
		for i, n := range e.p.Condition(it).Names {
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
				return fmt.Sprintf("%s (%s), because %s holds", outer.Item.Kind, e.p.Syntax.LineRef(outer.Item.Line), e.describe(other.Item))
			}
		}
	}
	if e.p.Condition(outer.Item) == nil && outer.Item.Kind != syntax.Else {
		return e.p.Syntax.Describe(outer.Item)
	}
	if !e.live(outer.Block.Parent) {
		return e.whyDead(outer.Block.Parent)
	}
	if evaluated := e.seenBy(outer.Item) != nil; evaluated && outer.Item.Kind != syntax.Else {
		return e.describe(outer.Item)
	}
	return e.p.Syntax.Describe(outer.Item)
}

// conditionsOf lists the conditions a FROM depends on, outermost first.
func (e *evaluation) conditionsOf(it *syntax.Item) []string {
	var out []string
	for b := it.Branch; b != nil; b = b.Block.Parent {
		var s string
		if b.Item.Kind == syntax.Else {
			s = fmt.Sprintf("ELSE (%s)", e.p.Syntax.LineRef(b.Item.Line))
		} else {
			s = e.p.Syntax.Describe(b.Item)
		}
		out = append([]string{s}, out...)
	}
	if it.Cond != nil {
		out = append(out, e.p.Syntax.Describe(it))
	}
	return out
}
