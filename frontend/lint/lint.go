// Package lint is stagefront's own build checks: the best practices and
// troubleshooting advice of the multi-stage builds guide, as rules that
// run next to BuildKit's in `--call=check` and `stagefront check`.
//
// The rules are declared as BuildKit declares its own (ruleset.go) and run
// through a linter.Linter configured like upstream's: by the
// BUILDKIT_DOCKERFILE_CHECK build arg when it is set, else by the
// `# check=skip=...;error=true` directive, and by `# check=` comments
// directly above a stage or an instruction. Some rules read the original
// extended file (every stage and condition, live or not); the others read
// the rewrite for the target platform. All report at the user's lines,
// which the rewrite keeps.
package lint

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

//go:generate go run ./gen -src . -dest ../../docs/rules

// Input is what the rules look at.
type Input struct {
	// Filename is the Dockerfile's name, for messages.
	Filename string
	// Original is the file as the user wrote it.
	Original []byte
	// Rewrite is the engine's result for the target platform; its
	// Dockerfile has the original's lines.
	Rewrite *rewrite.Result
	// BuildArgs are the values given with --build-arg.
	BuildArgs map[string]string
	// Target is the stage built; the last live stage when empty.
	Target string
	// NamedContexts are the names given with --build-context: a FROM or
	// --from= of one of them is not a misspelt stage.
	NamedContexts []string
	// ImageUser returns the USER of an image's config; nil, or ok false,
	// when it cannot be known (offline). FinalStageRunsAsRoot asks it
	// when no USER instruction is on the final stage's path.
	ImageUser func(ctx context.Context, image string) (user string, ok bool)
	// Dockerignore says whether the build context has a .dockerignore
	// that excludes something; nil when that is not known (the check is
	// then skipped).
	Dockerignore *bool
}

// Config returns the linter configuration of dt as upstream computes it:
// the BUILDKIT_DOCKERFILE_CHECK build arg (fromArg, nil when not given)
// wins over the `# check=` directive.
func Config(dt []byte, fromArg *linter.Config) (*linter.Config, error) {
	if fromArg != nil {
		c := *fromArg
		return &c, nil
	}
	v, _, _, _ := parser.ParseDirective("check", dt)
	c, err := linter.ParseLintOptions(v)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to parse check options")
	}
	return c, nil
}

// Run checks in with cfg, reporting each finding through warn. The
// returned linter's Error() is the failure that `check=error=true` asks
// for (nil otherwise, or when nothing was found).
func Run(ctx context.Context, in *Input, cfg *linter.Config, warn linter.LintWarnFunc) (*linter.Linter, error) {
	c := *cfg
	c.Warn = warn
	lt := linter.New(&c)
	if c.SkipAll && !c.ExperimentalAll && len(c.ExperimentalRules) == 0 {
		return lt, nil
	}
	ck := &checker{ctx: ctx, in: in, lt: lt, name: in.Filename}
	if ck.name == "" {
		ck.name = "Dockerfile"
	}
	if err := ck.load(); err != nil {
		return lt, err
	}
	ck.structural()
	ck.platform()
	return lt, nil
}

// checker holds one run's parsed views of the file.
type checker struct {
	ctx  context.Context
	in   *Input
	lt   *linter.Linter
	name string

	// file is the original's structure (nil when it cannot be parsed).
	file *syntax.File
	// conds are the compiled conditions of the original, in file order,
	// and condOf the same by item.
	conds  []cond
	condOf map[*syntax.Item]*conditions.Condition
	// globals are the ARGs declared before the first FROM.
	globals []argDecl
	// stageNames holds every stage name of the original, live or not.
	stageNames []string

	// The rewrite for the target platform, parsed (nil when it cannot be).
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
}

type cond struct {
	item *syntax.Item
	c    *conditions.Condition
}

type argDecl struct {
	item        *syntax.Item
	name, value string
	hasValue    bool
	comments    []string
}

// anyScope lets every name be read: the rules look at conditions
// whatever their values.
type anyScope struct{}

func (anyScope) Declared(string) bool     { return true }
func (anyScope) Undeclared(string) string { return "" }

func (ck *checker) load() error {
	f, err := ck.original()
	if f != nil {
		ck.file = f
		ck.escape = rune(f.Escape)
		ck.condOf = map[*syntax.Item]*conditions.Condition{}
		var cc *conditions.Compiler
		for _, it := range f.Items {
			if it.Stage < 0 && it.Keyword == "arg" {
				ck.globals = append(ck.globals, argDecls(it)...)
			}
			if it.Keyword == "from" {
				if n := stageNameOf(it.Node); n != "" {
					ck.stageNames = append(ck.stageNames, n)
				}
			}
			if it.Cond == nil || strings.TrimSpace(it.Cond.Text) == "" {
				continue
			}
			c := ck.in.Rewrite.Condition(it)
			if c == nil {
				if cc == nil {
					cc = conditions.NewCompiler(nil)
				}
				c, _ = cc.Compile(it.Cond.Text, anyScope{})
			}
			if c != nil {
				ck.conds = append(ck.conds, cond{it, c})
				ck.condOf[it] = c
			}
		}
	} else if err != nil {
		return err
	}
	if ck.in.Rewrite == nil {
		return nil
	}
	res, err := parser.Parse(bytes.NewReader(ck.in.Rewrite.Dockerfile))
	if err != nil {
		return nil // the conversion reports it
	}
	ck.escape = rune(res.EscapeToken)
	// A linter without Warn reports nothing (upstream's rules are not
	// ours to report), but Parse needs one for `# check=` comments.
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil // the conversion reports it
	}
	ck.stages, ck.metaArgs = stages, metaArgs
	return nil
}

// original parses the original file, or takes the engine's parse of it
// from the rewrite.
func (ck *checker) original() (*syntax.File, error) {
	if rw := ck.in.Rewrite; rw != nil && rw.File != nil && rw.File.Name == ck.name {
		return rw.File, nil
	}
	return syntax.Parse(ck.name, ck.in.Original)
}

// run reports rule at loc, with the `# check=` comments of the stage and
// of the instruction merged into the configuration.
func (ck *checker) run(rule linter.LinterRuleI, loc []parser.Range, comments [][]string, msg string) {
	lt := ck.lt
	for _, c := range comments {
		lt = lt.WithMergedConfigFromComments(c)
	}
	lt.Run(rule, loc, msg) // merged linters share CalledRules with ck.lt
}

func lineRange(start, end int) []parser.Range {
	if end < start {
		end = start
	}
	return []parser.Range{{Start: parser.Position{Line: start}, End: parser.Position{Line: end}}}
}

func itemRange(it *syntax.Item) []parser.Range { return lineRange(it.Line, it.EndLine) }

// stageNameOf returns the AS name of a FROM node, lower-cased as upstream
// does, "" when unnamed.
func stageNameOf(n *parser.Node) string {
	var words []string
	for w := n.Next; w != nil; w = w.Next {
		words = append(words, w.Value)
	}
	if len(words) == 3 && strings.EqualFold(words[1], "as") {
		return strings.ToLower(words[2])
	}
	return ""
}

// baseNameOf returns the base of a FROM node as written.
func baseNameOf(n *parser.Node) string {
	if n.Next == nil {
		return ""
	}
	return n.Next.Value
}

// argDecls reads the names of an ARG item.
func argDecls(it *syntax.Item) []argDecl {
	var out []argDecl
	for w := it.Node.Next; w != nil; w = w.Next {
		if strings.HasPrefix(w.Value, "#") {
			break // `ARG X # comment`: BuildKit declares the words, nobody means them
		}
		k, v, ok := strings.Cut(w.Value, "=")
		out = append(out, argDecl{item: it, name: k, value: v, hasValue: ok, comments: it.Node.PrevComment})
	}
	return out
}

// refersTo reports whether text reads variable name ($name or ${name...}).
func refersTo(text, name string) bool {
	if !strings.Contains(text, name) {
		return false
	}
	re, ok := refersToRe.Load(name)
	if !ok {
		re, _ = refersToRe.LoadOrStore(name, regexp.MustCompile(`\$(\{`+regexp.QuoteMeta(name)+`[}:]|`+regexp.QuoteMeta(name)+`\b)`))
	}
	return re.(*regexp.Regexp).MatchString(text)
}

// refersToRe caches refersTo's expression per name.
var refersToRe sync.Map

// env is the global ARG values the build sees: the declared defaults,
// overridden by build args.
func (ck *checker) env() []string {
	var out []string
	lex := shell.NewLex(ck.escapeToken())
	for _, a := range ck.globals {
		if bv, ok := ck.in.BuildArgs[a.name]; ok {
			out = append(out, a.name+"="+bv)
			continue
		}
		if !a.hasValue {
			continue
		}
		// A default is a word: quotes removed, earlier ARGs expanded.
		v, _, err := lex.ProcessWord(a.value, shell.EnvsFromSlice(out))
		if err != nil {
			continue
		}
		out = append(out, a.name+"="+v)
	}
	return out
}

func (ck *checker) escapeToken() rune {
	if ck.escape == 0 {
		return '\\'
	}
	return ck.escape
}

// expand resolves the variables of word with the global ARGs; ok is
// false when one has no value.
func (ck *checker) expand(word string) (string, bool) {
	if !strings.Contains(word, "$") {
		return word, true
	}
	res, err := shell.NewLex(ck.escapeToken()).ProcessWordWithMatches(word, shell.EnvsFromSlice(ck.env()))
	if err != nil || len(res.Unmatched) > 0 {
		return "", false
	}
	return res.Result, true
}

// ---- rules on the original file's structure ----

func (ck *checker) structural() {
	if ck.file == nil {
		return
	}
	ck.constantConditions()
	ck.unusedGlobalArgs()
	ck.stageArgsOnlyForConditions()
	ck.unreachableStages()
}

var existsCall = regexp.MustCompile(`\bexists\s*\(`)

func (ck *checker) itemComments(it *syntax.Item) [][]string {
	var out [][]string
	if it.Stage >= 0 && it.Stage < len(ck.file.Stages) {
		out = append(out, ck.file.Stages[it.Stage].Node.PrevComment)
	}
	return append(out, it.Node.PrevComment)
}

func (ck *checker) constantConditions() {
	for _, c := range ck.conds {
		if len(c.c.Names) > 0 || existsCall.MatchString(c.c.Text) {
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

// frontendArgs are build args the frontend or BuildKit itself reads.
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

func (ck *checker) unusedGlobalArgs() {
	for _, a := range ck.globals {
		// `ARG X # comment` declares "#" and "comment" too: not names
		// anyone means.
		if !argName.MatchString(a.name) || frontendArg(a.name) || ck.readByCondition(a.name) {
			continue
		}
		used := false
		for _, it := range ck.file.Items {
			if it == a.item {
				continue
			}
			if it.Keyword == "arg" && it.Stage >= 0 && slices.ContainsFunc(argDecls(it), func(d argDecl) bool { return d.name == a.name }) {
				used = true
				break
			}
			// Stages see a global ARG only in FROM, in other global ARGs,
			// and in stage names chosen by a variable (COPY --from=$X,
			// RUN --mount=from=$X), which the engine expands with them.
			if (it.Keyword == "from" || (it.Keyword == "arg" && it.Stage < 0)) && refersTo(it.Node.Original, a.name) {
				used = true
				break
			}
			if slices.ContainsFunc(it.VarFlags(), func(sp *syntax.Span) bool { return refersTo(sp.Text, a.name) }) {
				used = true
				break
			}
		}
		// Another name in the same ARG may read it: ARG A=1 B=${A}.
		for _, b := range argDecls(a.item) {
			if b.name != a.name && refersTo(b.value, a.name) {
				used = true
			}
		}
		if !used {
			ck.run(&RuleUnusedGlobalArg, itemRange(a.item), [][]string{a.item.Node.PrevComment}, RuleUnusedGlobalArg.Format(a.name))
		}
	}
}

func (ck *checker) stageArgsOnlyForConditions() {
	for _, it := range ck.file.Items {
		if it.Keyword != "arg" || it.Stage < 0 || it.Kind != syntax.Instruction {
			continue
		}
		for _, a := range argDecls(it) {
			if frontendArg(a.name) {
				continue
			}
			readByCond, readByInstr := false, false
			// The rest of the stage: items are in file order, by stage.
			for _, other := range ck.file.Items[it.Index+1:] {
				if other.Stage != it.Stage {
					break
				}
				if other.Keyword == "arg" && slices.ContainsFunc(argDecls(other), func(d argDecl) bool { return d.name == a.name }) {
					break // redeclared: what follows is that ARG's business
				}
				if c := ck.condOf[other]; c != nil && slices.Contains(c.Names, a.name) {
					readByCond = true
				}
				if other.Kind == syntax.Instruction && (refersTo(other.Node.Original, a.name) || slices.ContainsFunc(other.Flags, func(f string) bool { return refersTo(f, a.name) })) {
					readByInstr = true
				}
			}
			if !readByCond || readByInstr {
				continue
			}
			global := slices.ContainsFunc(ck.globals, func(g argDecl) bool { return g.name == a.name })
			st := ck.file.Stages[it.Stage]
			ck.run(&RuleStageArgOnlyForConditions, itemRange(it), ck.itemComments(it),
				RuleStageArgOnlyForConditions.Format(a.name, stageLabel(stageNameOf(st.Node), it.Stage), global))
		}
	}
}

// stageRefs returns the stage references of an item of the original:
// FROM's base, COPY --from, RUN --mount from=, REQUIRE's stages.
func (ck *checker) stageRefs(it *syntax.Item) []string {
	var refs []string
	switch it.Keyword {
	case "from":
		refs = append(refs, baseNameOf(it.Node))
	case "copy", "add":
		for _, f := range it.Flags {
			if v, ok := strings.CutPrefix(f, "--from="); ok {
				refs = append(refs, v)
			}
		}
	case "run":
		for _, f := range it.Flags {
			v, ok := strings.CutPrefix(f, "--mount=")
			if !ok {
				continue
			}
			for _, field := range syntax.MountFields(v) {
				if k, v, _ := strings.Cut(field, "="); strings.EqualFold(k, "from") {
					refs = append(refs, v)
				}
			}
		}
	case "require":
		refs = append(refs, it.Args()...)
	}
	return refs
}

func (ck *checker) unreachableStages() {
	f := ck.file
	if len(f.Stages) < 2 {
		return
	}
	byName := map[string][]int{}
	for i, st := range f.Stages {
		if n := stageNameOf(st.Node); n != "" {
			byName[n] = append(byName[n], i)
		}
	}
	edges := make([][]int, len(f.Stages))
	runs := make([]bool, len(f.Stages))
	roots := map[int]bool{}
	for _, it := range f.Items {
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
		for _, ref := range ck.stageRefs(it) {
			if strings.Contains(ref, "$") {
				return // a stage chosen by a value: any stage may be the one
			}
			r := strings.ToLower(ref)
			if idx, err := strconv.Atoi(r); err == nil && idx >= 0 && idx < len(f.Stages) {
				edges[it.Stage] = append(edges[it.Stage], idx)
			}
			edges[it.Stage] = append(edges[it.Stage], byName[r]...)
		}
	}
	// A stage that nothing references and that runs nothing is an export
	// or an aggregate: a --target of its own.
	referenced := make([]bool, len(f.Stages))
	for _, es := range edges {
		for _, n := range es {
			referenced[n] = true
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
		if st := f.Stages[i]; st.Branch == nil && st.Cond == nil {
			break
		}
	}
	if t := strings.ToLower(ck.in.Target); t != "" {
		idx, ok := byName[t]
		if !ok {
			return
		}
		for _, i := range idx {
			roots[i] = true
		}
	}
	seen := make([]bool, len(f.Stages))
	var queue []int
	for r := range roots {
		seen[r] = true
		queue = append(queue, r)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range edges[s] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for i, st := range f.Stages {
		if seen[i] || !runs[i] || referenced[i] {
			// Reached; or it runs nothing that could be skipped; or the
			// stage that references it is the one to report.
			continue
		}
		ck.run(&RuleUnreachableStage, itemRange(st), [][]string{st.Node.PrevComment},
			RuleUnreachableStage.Format(stageLabel(stageNameOf(st.Node), i)))
	}
}

// ---- rules on the rewrite for the target platform ----

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

// finalStage is the index (in ck.stages) of the stage the build exports.
func (ck *checker) finalStage() int {
	if t := strings.ToLower(ck.in.Target); t != "" {
		for i, st := range ck.stages {
			if st.Name == t {
				return i
			}
		}
		return -1
	}
	return len(ck.stages) - 1
}

// stageIndex finds a stage of the rewrite by name (or index) among the
// stages before stage `before`.
func (ck *checker) stageIndex(name string, before int) int {
	name = strings.ToLower(name)
	for i := 0; i < before && i < len(ck.stages); i++ {
		if ck.stages[i].Name == name {
			return i
		}
	}
	return -1
}

// chain is the final stage and the stages it is built FROM, nearest
// first.
func (ck *checker) chain(final int) []int {
	out := []int{final}
	for cur := final; ; {
		p := ck.stageIndex(ck.stages[cur].BaseName, cur)
		if p < 0 || slices.Contains(out, p) {
			return out
		}
		out = append(out, p)
		cur = p
	}
}

func (ck *checker) stageNotFound() {
	var candidates []string
	candidates = append(candidates, ck.stageNames...)
	for _, st := range ck.stages {
		if st.Name != "" && !slices.Contains(candidates, st.Name) {
			candidates = append(candidates, st.Name)
		}
	}
	if len(candidates) == 0 {
		return
	}
	closest := map[string]string{} // memo: a file names the same images often
	check := func(st *instructions.Stage, cmd instructions.Command, ref, instr string, loc []parser.Range) {
		if ref == "" || strings.ContainsAny(ref, ":/@$") || strings.EqualFold(ref, "scratch") || strings.EqualFold(ref, "context") {
			return
		}
		if _, err := strconv.Atoi(ref); err == nil {
			return
		}
		if slices.ContainsFunc(candidates, func(c string) bool { return strings.EqualFold(c, ref) }) ||
			slices.ContainsFunc(ck.in.NamedContexts, func(c string) bool { return strings.EqualFold(c, ref) }) {
			return
		}
		s, seen := closest[ref]
		if !seen {
			s = closestStage(ref, candidates)
			closest[ref] = s
		}
		if s != "" {
			ck.run(&RuleStageNotFound, loc, cmdComments(st, cmd), RuleStageNotFound.Format(ref, instr, s))
		}
	}
	for i := range ck.stages {
		st := &ck.stages[i]
		base, ok := ck.expand(st.BaseName)
		if ok {
			check(st, nil, base, "FROM", st.Location)
		}
		for _, cmd := range st.Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				check(st, c, c.From, "COPY --from=", c.Location())
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					check(st, c, m.From, "RUN --mount=from=", c.Location())
				}
			}
		}
	}
}

// runScript is the shell text of a RUN: its command line and heredocs.
func runScript(c *instructions.RunCommand) string {
	var b strings.Builder
	b.WriteString(strings.Join(c.CmdLine, " "))
	for _, f := range c.Files {
		b.WriteString("\n")
		b.WriteString(f.Data)
	}
	return b.String()
}

func hasCacheMount(c *instructions.RunCommand) bool {
	// The parser leaves all but from= for the expansion; expand as is.
	cp := *c
	if err := cp.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		return true // cannot tell: do not nag
	}
	for _, m := range instructions.GetMounts(&cp) {
		if m.Type == instructions.MountTypeCache {
			return true
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
		run, ok := cmd.(*instructions.RunCommand)
		if !ok {
			continue
		}
		found := findInstalls(runScript(run))
		if len(found) == 0 {
			continue
		}
		if !hasCacheMount(run) {
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
	image := ""
	if img, ok := ck.expand(root.BaseName); ok && !strings.EqualFold(img, "scratch") && ck.stageIndex(img, len(ck.stages)) < 0 {
		image = img
	}

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
	imageUser := false // the base image's config sets a user
	if user == nil && image != "" && ck.in.ImageUser != nil && !slices.ContainsFunc(ck.in.NamedContexts, func(c string) bool { return strings.EqualFold(c, image) }) {
		u, ok := ck.in.ImageUser(ck.ctx, image)
		imageUser = ok && !isRoot(u)
	}
	switch {
	case user == nil && imageUser:
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
			run, ok := cmd.(*instructions.RunCommand)
			if !ok {
				continue
			}
			var tools []string
			for _, in := range findInstalls(runScript(run)) {
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
