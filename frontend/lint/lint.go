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
	"context"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

//go:generate go run ./gen -src . -dest ../../docs/rules

// Input is what the rules look at.
type Input struct {
	// Analysis is the model of the file as the user wrote it: every
	// stage and condition, live or not. Taken from Rewrite when nil.
	Analysis *analysis.File
	// Rewrite is the engine's result for the target platform; nil when
	// there is none (then only the rules on the file's structure run).
	Rewrite *rewrite.Result
	// BuildArgs are the values given with --build-arg.
	BuildArgs map[string]string
	// Target is the stage built; the last live stage when empty.
	Target string
	// NamedContexts are the names given with --build-context: a FROM or
	// --from= of one of them is not a misspelt stage.
	NamedContexts []string
	// FinalImageUser returns the USER of the image the build exports as
	// the conversion resolved it (its base image's config, named contexts
	// and stage chains included); ok is false when that is not known
	// (offline, or the lookup failed), and FinalStageRunsAsRoot then
	// judges only the USER instructions. nil: not known.
	FinalImageUser func(ctx context.Context) (user string, ok bool)
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
	return lt, runChecks(ctx, in, lt)
}

// runChecks runs the checks, reporting through lt. A Dockerfile is
// untrusted input in a shared builder, so no check may loop over one part
// of the file for each of another: they index what they look for in one
// pass instead (TestChecksLinear holds them to it).
func runChecks(ctx context.Context, in *Input, lt *linter.Linter) error {
	ck := &checker{ctx: ctx, in: in, lt: lt, file: in.Analysis}
	if ck.file == nil && in.Rewrite != nil {
		ck.file = in.Rewrite.Analysis
	}
	if ck.file == nil {
		return errors.New("stagefront checks: no analysis of the file")
	}
	if err := ck.load(); err != nil {
		return err
	}
	ck.structural()
	ck.platform()
	return nil
}

// checker holds one run's views of the file.
type checker struct {
	ctx context.Context
	in  *Input
	lt  *linter.Linter

	// file is the model of the original file.
	file *analysis.File
	// conds are the compiled conditions of the original, in file order.
	conds []cond
	// globals are the ARGs declared before the first FROM.
	globals []analysis.ArgDecl

	// The rewrite for the target platform, as BuildKit parses it (nil
	// when there is no rewrite or BuildKit rejects it).
	stages []instructions.Stage
	// nodes are BuildKit's nodes of the file's items, by Item.Index.
	nodes []*parser.Node
	// stageAt maps the line of a stage of ck.stages to its index (see
	// rewriteIndex).
	stageAt map[int]int

	// commentCfg caches commentConfig's answer per comment block.
	commentCfg map[commentKey]*linter.Linter
	// noConfig is a linter with nothing configured, to read `# check=`
	// comments into.
	noConfig *linter.Linter
}

type cond struct {
	item *syntax.Item
	c    *conditions.Condition
}

func (ck *checker) load() error {
	f := ck.file
	// The analysis keeps few of BuildKit's nodes; the rules read the
	// comments and text of every instruction.
	nodes, err := f.Syntax.Nodes()
	if err != nil {
		return err
	}
	ck.nodes = nodes
	for _, it := range f.Scoped() {
		if c := f.Condition(it); c != nil {
			ck.conds = append(ck.conds, cond{it, c})
		}
	}
	ck.globals = f.GlobalArgs()
	if ck.in.Rewrite == nil {
		return nil
	}
	// The rules on the rewrite read these commands only, RUN from the item.
	rw := ck.in.Rewrite
	stages, _, err := rw.InstructionsWith(nodes, func(it *syntax.Item) (instructions.Command, bool) {
		switch it.Keyword {
		case "copy", "add", "user":
			return nil, false
		case "run":
			return &runCmd{it: it, node: ck.node(it), flags: rw.InstructionFlags(it)}, true
		}
		return nil, true
	})
	if err != nil {
		return nil // the conversion reports it
	}
	ck.stages = stages
	return nil
}

// node returns BuildKit's node of it.
func (ck *checker) node(it *syntax.Item) *parser.Node { return ck.nodes[it.Index] }

// run reports rule at loc, with the `# check=` comments of the stage and
// of the instruction merged into the configuration. It is what
//
//	lt := ck.lt
//	for _, c := range comments {
//		lt = lt.WithMergedConfigFromComments(c)
//	}
//	lt.Run(rule, loc, msg)
//
// does, without its cost per finding: reading the comments again and
// copying the skipped rules (which a `# check=skip=` directive of the
// file makes as long as it likes) for every finding.
func (ck *checker) run(rule linter.LinterRuleI, loc []parser.Range, comments [][]string, msg string) {
	var buf [2]*linter.Linter
	layers := buf[:0]
	for _, c := range comments {
		if l := ck.commentConfig(c); l != nil {
			layers = append(layers, l)
		}
	}
	if len(layers) == 0 {
		ck.lt.Run(rule, loc, msg)
		return
	}
	// The merged configuration is the union of all: skipped (or enabled,
	// for an experimental rule) when any says so. Decide for this rule,
	// then run it on a copy of ck.lt that says just that (it shares
	// ck.lt's CalledRules, as a merged linter does).
	name := rule.RuleName()
	lt := *ck.lt
	for _, l := range layers {
		lt.SkipAll = lt.SkipAll || l.SkipAll
		lt.ExperimentalAll = lt.ExperimentalAll || l.ExperimentalAll
		if _, ok := l.SkippedRules[name]; ok {
			lt.SkipAll = true
		}
		if _, ok := l.ExperimentalRules[name]; ok {
			lt.ExperimentalAll = true
		}
	}
	lt.Run(rule, loc, msg)
}

// commentKey identifies a block of comments (one node's PrevComment).
type commentKey struct {
	first *string
	n     int
}

// commentConfig returns the configuration a block of `# check=` comments
// adds (nil when they add none), as upstream's
// WithMergedConfigFromComments reads it, reading each block once.
func (ck *checker) commentConfig(c []string) *linter.Linter {
	if len(c) == 0 {
		return nil
	}
	k := commentKey{&c[0], len(c)}
	if l, ok := ck.commentCfg[k]; ok {
		return l
	}
	if ck.noConfig == nil {
		ck.noConfig = linter.New(&linter.Config{})
		ck.commentCfg = map[commentKey]*linter.Linter{}
	}
	l := ck.noConfig.WithMergedConfigFromComments(c)
	if l == ck.noConfig {
		l = nil // no directive, or one upstream ignores
	}
	ck.commentCfg[k] = l
	return l
}

func lineRange(start, end int) []parser.Range {
	if end < start {
		end = start
	}
	return []parser.Range{{Start: parser.Position{Line: start}, End: parser.Position{Line: end}}}
}
