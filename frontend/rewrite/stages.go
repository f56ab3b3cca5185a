package rewrite

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
)

// The stages of one evaluation: which are live, what each live reference
// names, the stage graph of the build, and the errors about them.

// indexStages builds the by-name lookups of liveStage and deadStage, and
// the table of stageAt; it runs once the walk has decided every stage.
func (e *evaluation) indexStages() {
	e.liveByName = map[string]int{}
	e.deadByName = map[string]int{}
	e.lastLive = make([]int32, len(e.stages))
	last := int32(-1)
	for i, s := range e.stages {
		if s.Live {
			last = int32(i)
		}
		e.lastLive[i] = last
	}
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

// deadStage finds the first dead stage named name, if it is defined
// before stage index before (or anywhere, when before < 0).
func (e *evaluation) deadStage(name string, before int) *Stage {
	i, ok := e.deadByName[name]
	if !ok || (before >= 0 && i >= before) {
		return nil
	}
	return &e.stages[i]
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
			e.errorf(s.Line, "stage %q is already defined at %s and both are live with these build args: give one another name, or put them in exclusive branches (IF ... ELSE ... END)", s.Name, e.p.Syntax.LineRef(l))
			continue
		}
		first[s.Name] = s.Line
	}
	if t := strings.ToLower(e.opt.Target); t != "" && e.liveStage(t, -1) == nil {
		if d := e.deadStage(t, -1); d != nil {
			e.errorf(d.Line, "target stage %q is turned off by %s: change the build args or choose another --target", t, d.OffBy)
		}
	}
}

// resolveRefs records what the references of a live item name, in the
// scope of the item itself (see evaluation.refs).
func (e *evaluation) resolveRefs(it *syntax.Item) {
	refs := e.p.Refs(it)
	if len(refs) == 0 {
		return
	}
	out := make([]resolvedRef, len(refs))
	for k, r := range refs {
		if it.Kind == syntax.Require {
			out[k].name, out[k].ok = strings.ToLower(r.Name), true
		} else {
			out[k].name, out[k].ok = e.expandRef(r)
		}
	}
	e.refs[e.p.LinkIndex(it)] = out
}

// ownerOf appends to dst the stage the live item it (one with stage
// references) belongs to in this build; nothing when it is not live.
func (e *evaluation) ownerOf(dst []int, it *syntax.Item) []int {
	if e.refs[e.p.LinkIndex(it)] == nil {
		return dst
	}
	return append(dst, e.stageAt(it.Line))
}

// stageAt returns the stage a live line belongs to once the walk has
// decided every stage: the last live FROM at or above it (see
// analysis.Owners); -1 when there is none.
func (e *evaluation) stageAt(line int) int {
	i := sort.Search(len(e.stages), func(i int) bool { return e.stages[i].Line > line }) - 1
	if i < 0 {
		return -1
	}
	return int(e.lastLive[i])
}

// refName returns the k-th reference of a live item as resolved in its
// own scope; false when it was not resolved (dead, or not expandable).
func (e *evaluation) refName(it *syntax.Item, k int) (string, bool) {
	rr := e.refs[e.p.LinkIndex(it)]
	if k >= len(rr) {
		return "", false
	}
	return rr[k].name, rr[k].ok
}

// graph is the stage graph of this build: the live stages, and the
// references of the live instructions and REQUIREs as resolved in their
// own scope.
func (e *evaluation) graph() *analysis.Graph {
	return e.p.Graph(func(i int) bool { return e.stages[i].Live }, e.ownerOf, e.refName)
}

// root is the stage the build exports: the target, else the last live
// stage; -1 when there is none.
func (e *evaluation) root() int {
	if t := strings.ToLower(e.opt.Target); t != "" {
		if s := e.liveStage(t, -1); s != nil {
			return s.Index
		}
		return -1
	}
	for i := len(e.stages) - 1; i >= 0; i-- {
		if e.stages[i].Live {
			return i
		}
	}
	return -1
}

// reach returns the live stages the build converts (those the target
// reaches through FROM, COPY --from, RUN --mount and REQUIRE) and the
// stages REQUIREs among them name: the gates, in order of discovery.
func (e *evaluation) reach(g *analysis.Graph) ([]bool, []string) {
	root := e.root()
	if root < 0 {
		return make([]bool, len(e.stages)), nil
	}
	reach, gateIdx := g.Reach(root)
	var gates []string
	for _, i := range gateIdx {
		gates = append(gates, e.stages[i].Name)
	}
	return reach, gates
}

// checkRefs reports live instructions that refer to a stage that is off,
// names chosen by a variable that look like a typo of a stage, and
// numbered stage references that the rewrite would shift.
func (e *evaluation) checkRefs(reach []bool) {
	var found []int
	for _, it := range e.p.Linked() {
		if it.Kind == syntax.Require || e.refs[e.p.LinkIndex(it)] == nil {
			continue
		}
		if o := e.stageAt(it.Line); o < 0 || !reach[o] {
			continue
		}
		for k, r := range e.p.Refs(it) {
			name, ok := e.refName(it, k)
			if !ok {
				continue
			}
			if n, ok := analysis.StageNumber(name); ok && r.Kind == analysis.RefCopy {
				e.checkNumberedRef(it, r, n)
				continue
			}
			alive := func(i int) bool { return e.stages[i].Live }
			if found = e.p.Resolve(found[:0], r.Kind, name, it.LastFrom, alive); len(found) > 0 {
				continue
			}
			before := -1
			if r.Kind == analysis.RefFrom {
				before = it.LastFrom
			}
			if d := e.deadStage(name, before); d != nil {
				e.errorf(it.Line, "%s=%s refers to stage %q (%s), which is turned off by %s: guard this instruction with the same condition, or make the stage unconditional", r.Kind, r.Name, d.Name, e.p.Syntax.LineRef(d.Line), d.OffBy)
				continue
			}
			e.checkTypo(it, r, name)
		}
	}
}

// expandRef resolves the variables of a stage reference the way the
// converter will see it: FROM in the global scope, --from and mounts in
// the stage's scope (global ARGs included). It returns the lower-cased
// name, or false when it cannot be resolved here.
func (e *evaluation) expandRef(r analysis.Ref) (string, bool) {
	name := r.Name
	if r.HasVariable() {
		var ok bool
		if r.Kind == analysis.RefFrom {
			v, _, err := e.lex.ProcessWord(name, e.global)
			name, ok = v, err == nil
		} else {
			name, ok = e.expandStageName(name)
		}
		if !ok {
			return "", false
		}
	}
	return strings.ToLower(name), true
}

// expandStageName expands the stage name of a COPY --from=$X or RUN
// --mount=from=$X. It is an extension only where every variable is an ARG
// with a value here (a global ARG, or one of this stage): otherwise it is
// false, and the flag is left as written for the converter, whose own
// error ("variable expansion is not supported for --from") stands, as
// with upstream. An ENV is no ARG: it is not read.
func (e *evaluation) expandStageName(word string) (string, bool) {
	res, err := e.lex.ProcessWordWithMatches(word, e.argEnv())
	if err != nil || len(res.Unmatched) > 0 || len(res.Matched) == 0 || res.Result == "" {
		return "", false
	}
	return res.Result, true
}

// argEnv holds the ARGs with a value at this point of the walk: the
// global ones, and the current stage's over them. It reads the walk's
// declarations as they are, so it costs nothing to make.
func (e *evaluation) argEnv() argScope { return argScope{e} }

// argScope is the shell.EnvGetter of argEnv.
type argScope struct{ e *evaluation }

func (a argScope) Get(k string) (string, bool) {
	if d, ok := a.e.stageDeclared[k]; ok && d.ok {
		return d.value, true
	}
	if d, ok := a.e.globalDeclared[k]; ok && d.ok {
		return d.value, true
	}
	return "", false
}

// Keys lists the names with a value, the global ones first (the lexer
// asks only for the rare ${!prefix*} forms).
func (a argScope) Keys() []string {
	var keys []string
	for _, k := range a.e.global.keys {
		if d, ok := a.e.globalDeclared[k]; ok && d.ok {
			keys = append(keys, k)
		}
	}
	for k, d := range a.e.stageDeclared {
		if g, ok := a.e.globalDeclared[k]; d.ok && !(ok && g.ok) {
			keys = append(keys, k)
		}
	}
	return keys
}

// resolveVarFlag writes the value of the variable in COPY --from=$X or
// RUN --mount=from=$X into the rewrite (upstream expands neither), so a
// stage chosen by an ARG works. A variable that is no ARG with a value
// leaves the flag as written, for the converter (see expandStageName).
func (e *evaluation) resolveVarFlag(it *syntax.Item, span *syntax.Span) {
	expand := e.expandStageName
	edit := *span
	var flag string // the flag as the parser reads edit.Text back
	if raw, ok := strings.CutPrefix(span.Text, "--from="); ok {
		v, ok := expand(raw)
		if !ok {
			return
		}
		edit.Text = "--from=" + v
		flag = edit.Text
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
		flag = strings.TrimSuffix(strings.TrimPrefix(word, "'"), "'")
	}
	e.strip = append(e.strip, &edit)
	if e.resolvedFlags == nil {
		e.resolvedFlags = map[*syntax.Item][]string{}
	}
	flags, ok := e.resolvedFlags[it]
	if !ok {
		flags = slices.Clone(it.Flags)
		e.resolvedFlags[it] = flags
	}
	if i := slices.Index(flags, span.Text); i >= 0 {
		flags[i] = flag
	}
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
// would try to pull it as an image. A FROM that names its base as written
// is left alone: bare image names (FROM busybox, FROM node) are what
// FROM usually names, and the converter's pull error and the
// StageNotFound check say the rest.
func (e *evaluation) checkTypo(it *syntax.Item, r analysis.Ref, name string) {
	if name == "" || strings.ContainsAny(name, "/:@.") || name == "scratch" || (r.Kind == analysis.RefFrom && !r.HasVariable()) {
		return
	}
	c, seen := e.typos[name]
	if !seen {
		c = e.p.SuggestStage(name)
		if e.typos == nil {
			e.typos = map[string]string{}
		}
		e.typos[name] = c
	}
	if c == "" {
		return
	}
	shown := r.Kind.String() + "=" + r.Name
	if r.Name != name {
		shown += fmt.Sprintf(" (%q)", name)
	}
	e.errorf(it.Line, "%s names no stage of this file; did you mean %q? The stages are: %s. (Without a stage of that name it would be pulled as an image.)", shown, c, analysis.ListNames(e.liveNames))
}

func (e *evaluation) checkNumberedRef(it *syntax.Item, r analysis.Ref, n int) {
	if n < 0 || n >= len(e.stages) {
		return // upstream reports it
	}
	s := e.stages[n]
	if !s.Live {
		e.errorf(it.Line, "%s=%d refers to stage %d (%s), which is turned off by %s: refer to stages by name, and guard this instruction with the same condition", r.Kind, n, n, e.p.Syntax.LineRef(s.Line), s.OffBy)
		return
	}
	shifted := e.deadBefore(n)
	if shifted > 0 {
		e.errorf(it.Line, "%s=%d refers to stage %d by number, but %d stage(s) before it are turned off, so its number would change: name it (FROM ... AS name) and refer to the name", r.Kind, n, n, shifted)
	}
}

// checkRequires records the stages each live stage requires, and reports
// live REQUIREs of stages that are off, and cycles.
func (e *evaluation) checkRequires(g *analysis.Graph) {
	for i := range e.stages {
		for _, edge := range g.Requires(i) {
			// A group is of stages of one name: its first names them all.
			e.stages[i].Requires = append(e.stages[i].Requires, Requirement{Stage: e.stages[g.First(edge.To)].Name, Line: edge.Item.Line})
		}
	}
	for _, it := range e.p.Linked() {
		if it.Kind != syntax.Require || e.refs[e.p.LinkIndex(it)] == nil {
			continue
		}
		for _, a := range it.Args() {
			name := strings.ToLower(a)
			if e.liveStage(name, -1) != nil {
				continue
			}
			if d := e.deadStage(name, -1); d != nil {
				e.errorf(it.Line, "REQUIRE %s: stage %q (%s) is turned off by %s: guard the REQUIRE with the same condition (REQUIRE --if=...)", a, d.Name, e.p.Syntax.LineRef(d.Line), d.OffBy)
			} else if e.p.Syntax.Includes {
				// The analysis leaves these to the rewrite (see
				// analysis.File.checkRequireNames).
				e.errorf(it.Line, "%s", e.p.RequireNameError(a))
			}
		}
	}
	if cycle := g.RequireCycle(); cycle != nil {
		labels := make([]string, len(cycle))
		for i, s := range cycle {
			labels[i] = e.stageLabel(s)
		}
		// The error is at the cycle's first REQUIRE, the line to change.
		line := e.stages[cycle[0]].Line
	find:
		for i := 0; i+1 < len(cycle); i++ {
			for _, edge := range g.Requires(cycle[i]) {
				if g.Leads(edge.To, cycle[i+1]) {
					line = edge.Item.Line
					break find
				}
			}
		}
		e.errorf(line, "REQUIRE cycle: %s: a stage cannot require itself, directly or through the stages it builds on", strings.Join(labels, " -> "))
	}
}

func (e *evaluation) stageLabel(i int) string {
	if n := e.stages[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("stage %d", i)
}

// deadBefore counts the stages before stage n that are off.
func (e *evaluation) deadBefore(n int) int {
	if e.deadCount == nil {
		e.deadCount = make([]int32, len(e.stages)+1)
		for i, s := range e.stages {
			e.deadCount[i+1] = e.deadCount[i]
			if !s.Live {
				e.deadCount[i+1]++
			}
		}
	}
	return int(e.deadCount[n])
}
