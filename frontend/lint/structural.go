package lint

import (
	"regexp"
	"slices"
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
}

// itemComments are the `# check=` comments of an item's stage and of the
// item itself.
func (ck *checker) itemComments(it *syntax.Item) [][]string {
	var out [][]string
	if st := ck.file.StageOf(it); st != nil {
		out = append(out, st.Item.Node.PrevComment)
	}
	return append(out, it.Node.PrevComment)
}

func (ck *checker) constantConditions() {
	for _, c := range ck.conds {
		if len(c.c.Names) > 0 || c.c.ReadsContext {
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

// readByCondition reports whether any condition of the file reads name.
func (ck *checker) readByCondition(name string) bool {
	for _, c := range ck.conds {
		if slices.Contains(c.c.Names, name) {
			return true
		}
	}
	return false
}

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

// afterComment reports whether name is declared after a word that starts
// with "#": `ARG X # no default` declares "#", "no" and "default" too, as
// BuildKit reads it, but nobody means them.
func afterComment(a *instructions.ArgCommand, name string) bool {
	for _, kv := range a.Args {
		if kv.Key == name {
			return false
		}
		if strings.HasPrefix(kv.Key, "#") {
			return true
		}
	}
	return false
}

// declares reports whether the ARG item it declares name.
func (ck *checker) declares(it *syntax.Item, name string) bool {
	a := ck.file.Arg(it)
	return a != nil && slices.ContainsFunc(a.Args, func(kv instructions.KeyValuePairOptional) bool { return kv.Key == name })
}

func (ck *checker) unusedGlobalArgs() {
	for _, a := range ck.globals {
		name := a.KV.Key
		if !argName.MatchString(name) || afterComment(ck.file.Arg(a.Item), name) || frontendArg(name) || ck.readByCondition(name) {
			continue
		}
		used := false
		for _, it := range ck.file.Syntax.Items {
			if it == a.Item {
				continue
			}
			if it.Keyword == "arg" && it.Stage >= 0 && ck.declares(it, name) {
				used = true
				break
			}
			// Stages see a global ARG only in FROM, in other global ARGs,
			// and in stage names chosen by a variable (COPY --from=$X,
			// RUN --mount=from=$X), which the engine expands with them.
			if (it.Keyword == "from" || (it.Keyword == "arg" && it.Stage < 0)) && ck.refersTo(it.Node.Original, name) {
				used = true
				break
			}
			if slices.ContainsFunc(it.VarFlags(), func(sp *syntax.Span) bool { return ck.refersTo(sp.Text, name) }) {
				used = true
				break
			}
		}
		// Another name in the same ARG may read it: ARG A=1 B=${A}.
		for _, b := range ck.file.Arg(a.Item).Args {
			if b.Key != name && b.Value != nil && ck.refersTo(*b.Value, name) {
				used = true
			}
		}
		if !used {
			ck.run(&RuleUnusedGlobalArg, analysis.Location(a.Item), [][]string{a.Item.Node.PrevComment}, RuleUnusedGlobalArg.Format(name))
		}
	}
}

func (ck *checker) stageArgsOnlyForConditions() {
	items := ck.file.Syntax.Items
	for _, it := range ck.file.Scoped() {
		a := ck.file.Arg(it)
		if a == nil || it.Stage < 0 {
			continue
		}
		for _, kv := range a.Args {
			name := kv.Key
			if frontendArg(name) {
				continue
			}
			readByCond, readByInstr := false, false
			// The rest of the stage: items are in file order, by stage.
			for _, other := range items[it.Index+1:] {
				if other.Stage != it.Stage {
					break
				}
				if other.Keyword == "arg" && ck.declares(other, name) {
					break // redeclared: what follows is that ARG's business
				}
				if c := ck.file.Condition(other); c != nil && slices.Contains(c.Names, name) {
					readByCond = true
				}
				if other.Kind == syntax.Instruction && (ck.refersTo(other.Node.Original, name) || slices.ContainsFunc(other.Flags, func(f string) bool { return ck.refersTo(f, name) })) {
					readByInstr = true
				}
			}
			if !readByCond || readByInstr {
				continue
			}
			global := slices.ContainsFunc(ck.globals, func(g analysis.ArgDecl) bool { return g.KV.Key == name })
			st := ck.file.StageOf(it)
			ck.run(&RuleStageArgOnlyForConditions, analysis.Location(it), ck.itemComments(it),
				RuleStageArgOnlyForConditions.Format(name, stageLabel(st.Name, it.Stage), global))
		}
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
	for _, it := range f.Syntax.Items {
		if it.Stage < 0 {
			continue
		}
		switch it.Keyword {
		case "run":
			runs[it.Stage] = true
		case "cmd", "entrypoint", "expose", "healthcheck", "require":
			// An image of its own (a --target), or one that gates others.
			roots[it.Stage] = true
		}
	}
	// A stage that nothing references and that runs nothing is an export
	// or an aggregate: a --target of its own.
	referenced := make([]bool, len(f.Stages))
	for i := range f.Stages {
		for _, e := range g.Deps(i) {
			referenced[e.To] = true
		}
		for _, e := range g.Requires(i) {
			referenced[e.To] = true
		}
	}
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
		ck.run(&RuleUnreachableStage, analysis.Location(st.Item), [][]string{st.Item.Node.PrevComment},
			RuleUnreachableStage.Format(stageLabel(st.Name, i)))
	}
}
