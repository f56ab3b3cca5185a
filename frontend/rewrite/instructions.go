package rewrite

// Follows BuildKit v0.35.1 frontend/dockerfile/instructions/parse.go:
// Parse (as Result.InstructionsWith).

import (
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

// Instructions returns the rewrite as BuildKit's instructions.Parse
// returns a parsed Dockerfile (stages with their commands, and the ARGs
// before the first FROM), built from the analysis' parse of the original
// file instead of parsing the rewrite again: the live instructions only,
// each with the flags the converter reads (see InstructionFlags). The
// error is the first instruction BuildKit rejects, with its location; the
// converter reports it too.
//
// The loop is upstream's instructions.Parse over the live items instead
// of the AST's children.
func (r *Result) Instructions() (stages []instructions.Stage, metaArgs []instructions.ArgCommand, err error) {
	return r.InstructionsWith(nil, nil)
}

// InstructionsWith is Instructions with the commands of the items that
// read gives (a Command, or nil to leave the item out; ok false to parse it
// as Instructions does), for tools that read only some commands, or read
// some from the item itself: the others are not parsed. FROM and the
// global ARGs are always parsed. nodes are the items' nodes, as
// syntax.File.Nodes gives them, for a tool that has them already; nil to
// parse the file again when an item needs its node.
func (r *Result) InstructionsWith(nodes []*parser.Node, read func(it *syntax.Item) (cmd instructions.Command, ok bool)) (stages []instructions.Stage, metaArgs []instructions.ArgCommand, err error) {
	f := r.Analysis
	lint := linter.New(&linter.Config{}) // reads `# check=` comments, reports nothing
	for _, it := range f.Syntax.Items {
		if !r.Live(it) {
			continue
		}
		var cmd any
		switch {
		case it.Keyword == "from" && f.StageOf(it) != nil && f.StageOf(it).Parsed != nil:
			cmd = f.StageOf(it).Parsed
		case it.Keyword == "arg" && it.LastFrom < 0 && f.Arg(it) != nil:
			cmd = f.Arg(it)
		}
		if cmd == nil && read != nil && it.Keyword != "from" && it.LastFrom >= 0 {
			if c, ok := read(it); ok {
				if c == nil {
					continue
				}
				cmd = c
			}
		}
		if cmd == nil && it.Keyword == "arg" && f.Arg(it) != nil {
			cmd = f.Arg(it)
		}
		if cmd == nil {
			if nodes == nil {
				if nodes, err = f.Syntax.Nodes(); err != nil {
					return nil, nil, err
				}
			}
			n := *nodes[it.Index]
			n.Flags = r.InstructionFlags(it)
			if cmd, err = instructions.ParseInstructionWithLinter(&n, lint); err != nil {
				return nil, nil, err
			}
		}
		if len(stages) == 0 {
			if a, isArg := cmd.(*instructions.ArgCommand); isArg {
				metaArgs = append(metaArgs, *a)
				continue
			}
		}
		switch c := cmd.(type) {
		case *instructions.Stage:
			st := *c
			st.Commands = nil
			stages = append(stages, st)
		case instructions.Command:
			stage, err := instructions.CurrentStage(stages)
			if err != nil {
				return nil, nil, parser.WithLocation(err, analysis.Location(it))
			}
			stage.AddCommand(c)
		default:
			return nil, nil, parser.WithLocation(errors.Errorf("%T is not a command type", cmd), analysis.Location(it))
		}
	}
	return stages, metaArgs, nil
}
