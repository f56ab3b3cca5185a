package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

// The rules on the original file's structure: every stage and condition,
// live or not, as the analysis models them.

func (ck *checker) structural() {
	ck.constantConditions()
	ck.unusedGlobalArgs()
	ck.stageArgsOnlyForConditions()
	ck.unreachableStages()
	ck.stagesDependOnBranch()
}

// stagesDependOnBranch reports, at the first line of each, the runs of
// lines whose stage the branches above them decide (see analysis.Joins)
// when it is not one stage by several names: another name, an unnamed
// stage, or no stage at all. Alternative stages of one name in every
// branch of an IF ... ELSE are the pattern the blocks are for.
func (ck *checker) stagesDependOnBranch() {
	f := ck.file
	for _, j := range f.Joins() {
		if len(j.Stages) < 2 || !ambiguousStages(f, j.Stages) {
			continue
		}
		var labels []string
		for _, s := range j.Stages {
			switch {
			case s < 0:
				continue // last
			case f.Stages[s].Name != "":
				labels = append(labels, fmt.Sprintf("stage %q (%s)", f.Stages[s].Name, f.Syntax.LineRef(f.Stages[s].Item.Line)))
			default:
				labels = append(labels, fmt.Sprintf("the unnamed stage of %s", f.Syntax.LineRef(f.Stages[s].Item.Line)))
			}
		}
		if j.Stages[0] < 0 {
			labels = append(labels, "no stage at all (the build fails)")
		}
		shown := analysis.ListNames(labels[:len(labels)-1]) + " or " + labels[len(labels)-1]
		ck.run(&RuleStageDependsOnBranch, analysis.Location(j.First), ck.itemComments(j.First), RuleStageDependsOnBranch.Format(shown))
	}
}

// ambiguousStages reports whether stages (sorted, -1 first) are not all
// named alike.
func ambiguousStages(f *analysis.File, stages []int) bool {
	if stages[0] < 0 {
		return true
	}
	name := f.Stages[stages[0]].Name
	for _, s := range stages {
		if n := f.Stages[s].Name; n == "" || n != name {
			return true
		}
	}
	return false
}

// itemComments are the `# check=` comments of an item's stage and of the
// item itself.
func (ck *checker) itemComments(it *syntax.Item) [][]string {
	var out [][]string
	if st := ck.file.StageOf(it); st != nil {
		out = append(out, ck.node(st.Item).PrevComment)
	}
	return append(out, ck.node(it).PrevComment)
}

func (ck *checker) constantConditions() {
	for _, c := range ck.conds {
		if len(c.c.Names) > 0 || c.c.ReadsContext() {
			continue
		}
		v, err := c.c.Eval(noValues{})
		if err != nil {
			continue
		}
		ck.run(&RuleConstantCondition, lineRange(c.item.Cond.Line, c.item.Cond.Line), ck.itemComments(c.item),
			RuleConstantCondition.Format(c.c.Text, v))
	}
}

type noValues struct{}

func (noValues) Lookup(string) (string, bool) { return "", false }
func (noValues) Exists(string) (bool, error)  { return false, errors.New("no context") }

// frontendArg reports whether name is a build arg the frontend or
// BuildKit itself reads.
func frontendArg(name string) bool {
	if strings.HasPrefix(name, "BUILDKIT_") {
		return true
	}
	switch strings.ToUpper(name) {
	case "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY", "SOURCE_DATE_EPOCH":
		return true
	}
	return false
}

var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// globalArgItem is what unusedGlobalArgs needs to know of one global ARG
// instruction about the names it declares.
type globalArgItem struct {
	// hash is the position of the first name that starts with "#", -1
	// when none does; first the position of each name's first
	// declaration (only when hash >= 0).
	hash  int
	first map[string]int
	// readHere are the names another name of the instruction reads, as
	// B in ARG A=1 B=${A}.
	readHere map[string]bool
}

func (ck *checker) globalArgItem(a *instructions.ArgCommand) *globalArgItem {
	g := &globalArgItem{hash: -1}
	for i, kv := range a.Args {
		if g.hash < 0 && strings.HasPrefix(kv.Key, "#") {
			g.hash = i
		}
		if kv.Value != nil {
			wordRefs(*kv.Value, func(n string) {
				if n != kv.Key {
					if g.readHere == nil {
						g.readHere = map[string]bool{}
					}
					g.readHere[n] = true
				}
			})
		}
	}
	if g.hash >= 0 {
		g.first = map[string]int{}
		for i, kv := range a.Args {
			if _, ok := g.first[kv.Key]; !ok {
				g.first[kv.Key] = i
			}
		}
	}
	return g
}

// afterComment reports whether name is declared after a word that starts
// with "#": `ARG X # no default` declares "#", "no" and "default" too, as
// BuildKit reads it, but nobody means them.
func (g *globalArgItem) afterComment(name string) bool {
	if g.hash < 0 {
		return false
	}
	i, ok := g.first[name]
	return !ok || g.hash < i
}

// unusedGlobalArgs reports the global ARGs that nothing reads. What
// reads a global is indexed in one pass over the file: the conditions'
// names, the names stage ARGs declare, and the variables FROMs, global
// ARGs and stage names chosen by a variable read.
func (ck *checker) unusedGlobalArgs() {
	if len(ck.globals) == 0 {
		return
	}
	f := ck.file
	// The names a finding could be about.
	wanted := map[string]bool{}
	for _, a := range ck.globals {
		if argName.MatchString(a.KV.Key) && !frontendArg(a.KV.Key) {
			wanted[a.KV.Key] = true
		}
	}
	readByCond := map[string]bool{}
	for _, c := range ck.conds {
		for _, n := range c.c.Names {
			if wanted[n] {
				readByCond[n] = true
			}
		}
	}
	// Stages see a global ARG only in FROM, in other global ARGs, and in
	// stage names chosen by a variable (COPY --from=$X, RUN
	// --mount=from=$X), which the engine expands with them; or after
	// their own ARG of its name. readers[n] are the first two items that
	// read n (a global ARG does not count as its own reader).
	redeclared := map[string]bool{}
	readers := map[string][2]*syntax.Item{}
	var it *syntax.Item
	read := func(n string) {
		if !wanted[n] {
			return
		}
		r := readers[n]
		switch {
		case r[0] == nil:
			r[0] = it
		case r[0] != it && r[1] == nil:
			r[1] = it
		default:
			return
		}
		readers[n] = r
	}
	for _, it = range f.Syntax.Items {
		if it.Keyword == "arg" && it.LastFrom >= 0 {
			if a := f.Arg(it); a != nil {
				for _, kv := range a.Args {
					if wanted[kv.Key] {
						redeclared[kv.Key] = true
					}
				}
			}
		}
		if it.Keyword == "from" || (it.Keyword == "arg" && it.LastFrom < 0) {
			wordRefs(ck.node(it).Original, read)
		}
		for _, sp := range it.VarFlags() {
			wordRefs(sp.Text, read)
		}
	}
	items := map[*syntax.Item]*globalArgItem{}
	for _, a := range ck.globals {
		name := a.KV.Key
		if !wanted[name] || readByCond[name] {
			continue
		}
		g := items[a.Item]
		if g == nil {
			g = ck.globalArgItem(f.Arg(a.Item))
			items[a.Item] = g
		}
		if g.afterComment(name) {
			continue
		}
		r := readers[name]
		used := redeclared[name] || (r[0] != nil && r[0] != a.Item) || r[1] != nil ||
			g.readHere[name] // another name in the same ARG: ARG A=1 B=${A}
		if !used {
			ck.run(&RuleUnusedGlobalArg, analysis.Location(a.Item), [][]string{ck.node(a.Item).PrevComment}, RuleUnusedGlobalArg.Format(name))
		}
	}
}

// stageArgsOnlyForConditions reports the ARGs of a stage that the rest
// of the stage reads in conditions only. Each stage is read once, from
// its end: what the items below have read of each name, up to the next
// ARG that declares it again, is kept by name.
func (ck *checker) stageArgsOnlyForConditions() {
	f := ck.file
	// The names: those stage ARGs declare; and the matcher of those among
	// them that are no word-byte name (conditions read them with
	// defined("a-b")).
	declared := map[string]bool{}
	for _, it := range f.Scoped() {
		if a := f.Arg(it); a != nil && it.LastFrom >= 0 {
			for _, kv := range a.Args {
				declared[kv.Key] = true
			}
		}
	}
	if len(declared) == 0 {
		return
	}
	var odd []string
	oddSeen := map[string]bool{}
	for _, c := range ck.conds {
		for _, n := range c.c.Names {
			if declared[n] && !isWordName(n) && !oddSeen[n] {
				oddSeen[n] = true
				odd = append(odd, n)
			}
		}
	}
	match := newRefMatcher(odd)
	globals := map[string]bool{}
	for _, g := range ck.globals {
		globals[g.KV.Key] = true
	}

	// state[{n, s}] is what the items of stage s after the one at hand
	// read of n, up to the next ARG of s that declares n. An item after
	// the END of a block that starts stages reads for each stage it may
	// belong to.
	type key struct {
		name  string
		stage int
	}
	type reads struct{ cond, instr bool }
	state := map[key]*reads{}
	get := func(n string, stage int) *reads {
		r := state[key{n, stage}]
		if r == nil {
			r = &reads{}
			state[key{n, stage}] = r
		}
		return r
	}
	type finding struct {
		it    *syntax.Item
		name  string
		stage int
	}
	var found []finding // from the end of the file
	var owners []int
	readByInstr := func(n string) {
		if declared[n] {
			for _, s := range owners {
				get(n, s).instr = true
			}
		}
	}
	items := f.Syntax.Items
	for j := len(items) - 1; j >= 0; j-- {
		it := items[j]
		if it.LastFrom < 0 {
			break // items are in file order: the global ones come first
		}
		owners = f.Owners(owners[:0], it)
		if owners[0] < 0 {
			owners = owners[1:] // no stage is live above it: no stage's ARG
		}
		a := f.Arg(it)
		// The ARG's names, from its last, as what follows it in its stage
		// has read them.
		if a != nil && len(owners) > 0 {
			for k := len(a.Args) - 1; k >= 0; k-- {
				name := a.Args[k].Key
				if frontendArg(name) {
					continue
				}
				var r reads
				for _, s := range owners {
					if x := state[key{name, s}]; x != nil {
						r.cond, r.instr = r.cond || x.cond, r.instr || x.instr
					}
				}
				if r.cond && !r.instr {
					found = append(found, finding{it, name, owners[0]})
				}
			}
		}
		// What the item reads, for the items above it.
		if c := f.Condition(it); c != nil {
			for _, n := range c.Names {
				if declared[n] {
					for _, s := range owners {
						get(n, s).cond = true
					}
				}
			}
		}
		if it.Kind == syntax.Instruction {
			wordRefs(ck.node(it).Original, readByInstr)
			match.refs(ck.node(it).Original, readByInstr)
			for _, fl := range it.Flags {
				wordRefs(fl, readByInstr)
				match.refs(fl, readByInstr)
			}
		}
		// An ARG that declares a name again ends what the items above see
		// of it, what it reads itself included.
		if a != nil && it.Keyword == "arg" {
			for _, kv := range a.Args {
				for _, s := range owners {
					*get(kv.Key, s) = reads{}
				}
			}
		}
	}
	for i := len(found) - 1; i >= 0; i-- {
		fd := found[i]
		ck.run(&RuleStageArgOnlyForConditions, analysis.Location(fd.it), ck.itemComments(fd.it),
			RuleStageArgOnlyForConditions.Format(fd.name, stageLabel(f.Stages[fd.stage].Name, fd.stage), globals[fd.name]))
	}
}

// unreachableStages reports stages that run steps no build reaches, for
// any values: the analysis' stage graph over every stage and reference,
// live or not. A reference chosen by a variable may name any stage, so a
// file with one is not judged.
func (ck *checker) unreachableStages() {
	f := ck.file
	if len(f.Stages) < 2 {
		return
	}
	for _, it := range f.Linked() {
		for _, r := range f.Refs(it) {
			if r.HasVariable() {
				return // a stage chosen by a value: any stage may be the one
			}
		}
	}
	g := f.Graph(nil, nil, f.Literal)
	runs := make([]bool, len(f.Stages))
	roots := make([]bool, len(f.Stages))
	var owners []int
	for _, it := range f.Syntax.Items {
		var marks []bool
		switch it.Keyword {
		case "run":
			marks = runs
		case "cmd", "entrypoint", "expose", "healthcheck", "require":
			// An image of its own (a --target), or one that gates others.
			marks = roots
		default:
			continue
		}
		for _, s := range f.Owners(owners[:0], it) {
			if s >= 0 {
				marks[s] = true
			}
		}
	}
	// A stage that nothing references and that runs nothing is an export
	// or an aggregate: a --target of its own.
	referenced := g.Referenced()
	for i := range f.Stages {
		if !runs[i] && !referenced[i] {
			roots[i] = true
		}
	}
	// The default target is the last live stage: under some values, any
	// stage after which every FROM is conditional.
	for i := len(f.Stages) - 1; i >= 0; i-- {
		roots[i] = true
		if st := f.Stages[i].Item; st.Branch == nil && st.Cond == nil {
			break
		}
	}
	if t := strings.ToLower(ck.in.Target); t != "" {
		named := f.StagesNamed(t)
		if len(named) == 0 {
			return
		}
		for _, i := range named {
			roots[i] = true
		}
	}
	var rootList []int
	for i, r := range roots {
		if r {
			rootList = append(rootList, i)
		}
	}
	seen, _ := g.Reach(rootList...)
	for i, st := range f.Stages {
		if seen[i] || !runs[i] || referenced[i] {
			// Reached; or it runs nothing that could be skipped; or the
			// stage that references it is the one to report.
			continue
		}
		ck.run(&RuleUnreachableStage, analysis.Location(st.Item), [][]string{ck.node(st.Item).PrevComment},
			RuleUnreachableStage.Format(stageLabel(st.Name, i)))
	}
}
