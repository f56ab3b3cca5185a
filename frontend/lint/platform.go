package lint

import (
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
)

// The rules on the rewrite for the target platform: the live stages and
// commands, as BuildKit parses them (rewrite.Result.Instructions), and the
// build's stage graph.

// cmdComments returns the comments of a stage and one of its commands.
func cmdComments(st *instructions.Stage, cmd instructions.Command) [][]string {
	out := [][]string{st.Comments}
	if c, ok := cmd.(interface{ Comments() []string }); ok {
		out = append(out, c.Comments())
	}
	return out
}

func (ck *checker) platform() {
	if len(ck.stages) == 0 {
		return
	}
	ck.stageNotFound()
	final := ck.finalStage()
	for i := range ck.stages {
		ck.installs(&ck.stages[i])
	}
	if final >= 0 {
		ck.finalStageRules(final)
	}
	ck.dockerignore()
}

// finalStage is the index (in ck.stages) of the stage the build exports:
// the rewrite's, which knows the target and the live stages.
func (ck *checker) finalStage() int {
	return ck.rewriteIndex(ck.in.Rewrite.Final())
}

// rewriteIndex maps the index of a stage of the file to its index in
// ck.stages (which holds the live ones); -1 when it is not there.
func (ck *checker) rewriteIndex(i int) int {
	if i < 0 || i >= len(ck.file.Stages) {
		return -1
	}
	if ck.stageAt == nil {
		ck.stageAt = make(map[int]int, len(ck.stages))
		for k := range ck.stages {
			if loc := ck.stages[k].Location; len(loc) > 0 {
				if _, ok := ck.stageAt[loc[0].Start.Line]; !ok {
					ck.stageAt[loc[0].Start.Line] = k
				}
			}
		}
	}
	if k, ok := ck.stageAt[ck.file.Stages[i].Item.Line]; ok {
		return k
	}
	return -1
}

// chain is the final stage and the stages it is built FROM, nearest
// first, as indexes of ck.stages (see rewrite.Result.Chain).
func (ck *checker) chain(final int) []int {
	var out []int
	for _, i := range ck.in.Rewrite.Chain(ck.fileIndex(final)) {
		k := ck.rewriteIndex(i)
		if k < 0 {
			break
		}
		out = append(out, k)
	}
	return out
}

// fileIndex maps an index of ck.stages to the index of the stage in the
// file.
func (ck *checker) fileIndex(k int) int {
	line := ck.stages[k].Location[0].Start.Line
	i, _ := slices.BinarySearchFunc(ck.file.Stages, line, func(s *analysis.Stage, line int) int { return s.Item.Line - line })
	return i
}

// stageNotFound reports live references that name no stage but are
// close to one: the analysis' one did-you-mean, which the rewrite's
// errors use too.
func (ck *checker) stageNotFound() {
	f, rw := ck.file, ck.in.Rewrite
	alive := rw.StageLive
	var found []int
	suggested := map[string]string{} // a file names the same images often
	var contexts map[string]bool     // the named contexts, by foldKey
	for _, c := range ck.in.NamedContexts {
		if contexts == nil {
			contexts = map[string]bool{}
		}
		contexts[foldKey(c)] = true
	}
	for _, it := range f.Linked() {
		if it.Kind != syntax.Instruction || !rw.Live(it) || it.LastFrom < 0 {
			continue
		}
		for k, r := range f.Refs(it) {
			name, ok := rw.RefName(it, k)
			if !ok || name == "" || strings.ContainsAny(name, ":/@$") || name == "scratch" || name == "context" {
				continue
			}
			if _, isNumber := analysis.StageNumber(name); isNumber {
				continue
			}
			if found = f.Resolve(found[:0], r.Kind, name, it.LastFrom, alive); len(found) > 0 {
				continue
			}
			if contexts[foldKey(name)] { // strings.EqualFold to one of them
				continue
			}
			s, seen := suggested[name]
			if !seen {
				s = f.SuggestStage(name)
				suggested[name] = s
			}
			if s == "" {
				continue
			}
			instr := map[analysis.RefKind]string{analysis.RefFrom: "FROM", analysis.RefCopy: "COPY --from=", analysis.RefMount: "RUN --mount=from="}[r.Kind]
			comments := ck.itemComments(it)
			if it.Keyword == "from" {
				comments = comments[1:] // the stage's comments are the item's
			}
			ck.run(&RuleStageNotFound, analysis.Location(it), comments, RuleStageNotFound.Format(name, instr, s))
		}
	}
}

// foldKey returns the same string for two strings exactly when
// strings.EqualFold says they are equal: each rune (an invalid byte
// reads as utf8.RuneError, as EqualFold reads it) replaced with the
// smallest of the runes it folds to.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		lo := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lo = min(lo, f)
		}
		b.WriteRune(lo)
	}
	return b.String()
}

// runCmd is a RUN as the rules read it: from the item BuildKit's parser
// made, not through BuildKit's RUN instruction parser (the costliest of
// all, and the rules need only the script and the mounts).
type runCmd struct {
	it    *syntax.Item
	node  *parser.Node
	flags []string
}

func (c *runCmd) Name() string             { return "run" }
func (c *runCmd) Location() []parser.Range { return analysis.Location(c.it) }
func (c *runCmd) Comments() []string       { return c.node.PrevComment }

// script is the shell text of the RUN: its command line (the words after
// the flags, exec form or shell form) and its heredocs.
func (c *runCmd) script() string {
	var b strings.Builder
	for n := c.node.Next; n != nil; n = n.Next {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n.Value)
	}
	for _, h := range c.node.Heredocs {
		b.WriteString("\n")
		b.WriteString(h.Content)
	}
	return b.String()
}

// hasCacheMount reports whether one of the RUN's mounts is a cache;
// true when a mount's type is a variable (cannot tell: do not nag).
func (c *runCmd) hasCacheMount() bool {
	for _, fl := range c.flags {
		v, ok := strings.CutPrefix(fl, "--mount=")
		if !ok {
			continue
		}
		for _, field := range syntax.MountFields(v) {
			k, t, _ := strings.Cut(field, "=")
			if strings.EqualFold(strings.TrimSpace(k), "type") && (strings.EqualFold(t, string(instructions.MountTypeCache)) || strings.Contains(t, "$")) {
				return true
			}
		}
	}
	return false
}

// copiesContext returns the source of a COPY or ADD that copies the
// whole build context, "" for any other command.
func copiesContext(cmd instructions.Command) string {
	var srcs []string
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return ""
		}
		srcs = c.SourcePaths
	case *instructions.AddCommand:
		srcs = c.SourcePaths
	default:
		return ""
	}
	for _, s := range srcs {
		switch strings.TrimRight(s, "/") {
		case ".", "", "./*", "*", "./.":
			return s
		}
	}
	return ""
}

// fromContext reports whether cmd copies anything from the build context.
func fromContext(cmd instructions.Command) bool {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		return c.From == "" && len(c.SourcePaths) > 0
	case *instructions.AddCommand:
		for _, s := range c.SourcePaths {
			if !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
				return true
			}
		}
	}
	return false
}

// installs reports package-manager RUNs without a cache mount, and
// dependency installs that follow a copy of the whole context.
func (ck *checker) installs(st *instructions.Stage) {
	contextCopied := -1
	var contextCmd instructions.Command
	reportedOrder := false
	for _, cmd := range st.Commands {
		if src := copiesContext(cmd); src != "" && contextCopied < 0 {
			contextCopied = cmd.Location()[0].Start.Line
			contextCmd = cmd
			continue
		}
		run, ok := cmd.(*runCmd)
		if !ok {
			continue
		}
		found := findInstalls(run.script())
		if len(found) == 0 {
			continue
		}
		if !run.hasCacheMount() {
			in := found[0]
			ck.run(&RulePackageInstallWithoutCache, run.Location(), cmdComments(st, run),
				RulePackageInstallWithoutCache.Format(in.Text, cacheTargets[in.Manager]))
		}
		if contextCopied >= 0 && !reportedOrder {
			reportedOrder = true
			ck.run(&RuleContextCopiedBeforeInstall, contextCmd.Location(), cmdComments(st, contextCmd),
				RuleContextCopiedBeforeInstall.Format(found[0].Text, run.Location()[0].Start.Line))
		}
	}
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "root" || u == "0" || u == ""
}

func (ck *checker) finalStageRules(final int) {
	st := &ck.stages[final]
	label := stageLabel(st.Name, final)
	chain := ck.chain(final)
	root := &ck.stages[chain[len(chain)-1]]

	// The image at the bottom of the chain ("" when not known).
	image, _, _ := ck.in.Rewrite.FinalBase()

	// FinalStageLatestTag
	if img := image; img != "" {
		if named, err := reference.ParseNormalizedNamed(img); err == nil {
			_, digested := named.(reference.Digested)
			tagged, isTagged := named.(reference.Tagged)
			if !digested && (!isTagged || tagged.Tag() == "latest") {
				ck.run(&RuleFinalStageLatestTag, root.Location, [][]string{root.Comments},
					RuleFinalStageLatestTag.Format(label, img))
			}
		}
	}

	// FinalStageRunsAsRoot: the last USER along the chain.
	var user *instructions.UserCommand
	var userStage *instructions.Stage
	for _, i := range chain {
		for _, cmd := range ck.stages[i].Commands {
			if u, ok := cmd.(*instructions.UserCommand); ok {
				user, userStage = u, &ck.stages[i]
			}
		}
		if user != nil {
			break
		}
	}
	switch {
	case user == nil && image == "" && !strings.EqualFold(root.BaseName, "scratch"):
		// Built on something whose user is not known here (a stage of
		// a variable without a value): say nothing.
	case user == nil && image != "":
		// The base image's config decides: as the conversion resolved
		// it, or nothing when that is not known.
		if ck.in.FinalImageUser == nil {
			break
		}
		if u, ok := ck.in.FinalImageUser(ck.ctx); ok && isRoot(u) {
			ck.run(&RuleFinalStageRunsAsRoot, st.Location, [][]string{st.Comments}, RuleFinalStageRunsAsRoot.Format(label))
		}
	case user == nil:
		ck.run(&RuleFinalStageRunsAsRoot, st.Location, [][]string{st.Comments}, RuleFinalStageRunsAsRoot.Format(label))
	case isRoot(user.User):
		ck.run(&RuleFinalStageRunsAsRoot, user.Location(), cmdComments(userStage, user), RuleFinalStageRunsAsRoot.Format(label))
	}

	if final == 0 {
		return // the rest is about multi-stage files
	}

	// FinalStageCopiesContext: only the final stage's own commands.
	for _, cmd := range st.Commands {
		if src := copiesContext(cmd); src != "" {
			ck.run(&RuleFinalStageCopiesContext, cmd.Location(), cmdComments(st, cmd),
				RuleFinalStageCopiesContext.Format(label, src))
		}
	}

	// BuildToolsInFinalStage: any stage whose filesystem the image keeps.
	for _, i := range chain {
		s := &ck.stages[i]
		for _, cmd := range s.Commands {
			run, ok := cmd.(*runCmd)
			if !ok {
				continue
			}
			var tools []string
			for _, in := range findInstalls(run.script()) {
				for _, p := range in.Packages {
					if buildTools[p] && !slices.Contains(tools, p) {
						tools = append(tools, p)
					}
				}
			}
			if len(tools) > 0 {
				sort.Strings(tools)
				ck.run(&RuleBuildToolsInFinalStage, run.Location(), cmdComments(s, run),
					RuleBuildToolsInFinalStage.Format(strings.Join(tools, ", "), stageLabel(s.Name, i)))
			}
		}
	}
}

func (ck *checker) dockerignore() {
	if ck.in.Dockerignore == nil || *ck.in.Dockerignore {
		return
	}
	for i := range ck.stages {
		st := &ck.stages[i]
		for _, cmd := range st.Commands {
			if fromContext(cmd) {
				ck.run(&RuleMissingDockerignore, cmd.Location(), cmdComments(st, cmd), RuleMissingDockerignore.Format())
				return
			}
		}
	}
}
