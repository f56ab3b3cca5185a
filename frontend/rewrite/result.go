package rewrite

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
)

// What a Result knows of the build beyond the rewritten bytes: which
// instructions and stages are live, what each live reference names, the
// build's stage graph and global scope. The checks and the gateway read
// these instead of working them out again from the rewrite.

// evaluation returns the evaluation behind r, walking the file on first
// use when r was not made by Evaluate's walk (a standard file).
func (r *Result) evaluation() *evaluation {
	r.evalOnce.Do(func() {
		if r.eval != nil {
			return
		}
		e := newEvaluation(context.Background(), r.Analysis, r.opt)
		e.walk()
		e.indexStages()
		r.eval = e
	})
	return r.eval
}

// Live reports whether the instruction it (an item of Analysis) is in the
// rewrite; false for extension lines (IF, REQUIRE, ...), which never are.
func (r *Result) Live(it *syntax.Item) bool {
	if it.Kind != syntax.Instruction {
		return false
	}
	return !r.Extended || !r.evaluation().dead[it.Line-1]
}

// Owner returns the stage the live instruction it belongs to in this
// build, as an index of Analysis.Stages: the last live FROM above it
// (one of analysis.File.Owners); -1 when it is not live, or before the
// first stage.
func (r *Result) Owner(it *syntax.Item) int {
	if !r.Live(it) {
		return -1
	}
	if !r.Extended {
		return it.LastFrom
	}
	return r.evaluation().stageAt(it.Line)
}

// StageLive reports whether stage i (an index of Analysis.Stages) is in
// the rewrite.
func (r *Result) StageLive(i int) bool { return !r.Extended || r.evaluation().stages[i].Live }

// InstructionFlags are the --flags of the instruction it as the converter
// reads them in the rewrite: without --if=, with the stage names that
// variables chose written in.
func (r *Result) InstructionFlags(it *syntax.Item) []string {
	if r.Extended {
		if fl, ok := r.evaluation().resolvedFlags[it]; ok {
			return fl
		}
	}
	return it.Flags
}

// RefName returns what the k-th stage reference of the live item it names
// in this build, expanded in the instruction's own scope and lower-cased;
// false when it cannot be known (a variable without a value).
func (r *Result) RefName(it *syntax.Item, k int) (string, bool) {
	return r.evaluation().refName(it, k)
}

// Graph is the stage graph of this build: the live stages, and the live
// references as this build resolves them.
func (r *Result) Graph() *analysis.Graph {
	e := r.evaluation()
	e.graphOnce.Do(func() {
		if e.g == nil {
			e.g = e.graph()
		}
	})
	return e.g
}

// Final is the stage the build exports (an index of Analysis.Stages): the
// target, else the last live stage; -1 when there is none.
func (r *Result) Final() int { return r.evaluation().root() }

// ExpandGlobal expands the variables of word in the global scope of this
// build, as the converter expands a FROM's base and platform: the
// platform ARGs and the global ARGs, with their build args or defaults; a
// variable with no value there expands to nothing, as upstream's does
// (its UndefinedArgInFrom check warns of it). ok is false when the word
// does not expand (a syntax error the converter reports).
func (r *Result) ExpandGlobal(word string) (string, bool) {
	e := r.evaluation()
	res, err := shell.NewLex(rune(r.Analysis.Syntax.Escape)).ProcessWordWithMatches(word, e.global)
	if err != nil {
		return "", false
	}
	return res.Result, true
}

// CopiesFrom reports whether a live COPY has a --from= flag (naming a
// stage, a build context or an image).
func (r *Result) CopiesFrom() bool {
	for _, it := range r.Analysis.Linked() {
		if it.Keyword != "copy" || !r.Live(it) {
			continue
		}
		for _, ref := range r.Analysis.Refs(it) {
			if ref.Kind == analysis.RefCopy {
				return true
			}
		}
	}
	return false
}

// LineRef names line n of the rewrite for a message: "line 12", or a
// fragment's "line 3 of stages/build.Dockerfile" (syntax.File.LineRef).
func (r *Result) LineRef(n int) string {
	if r.Analysis == nil {
		return fmt.Sprintf("line %d", n)
	}
	return r.Analysis.Syntax.LineRef(n)
}

// Chain returns stage i and the stages it is built FROM, nearest first
// (indexes of Analysis.Stages): the FROM edges of the build's graph.
func (r *Result) Chain(i int) []int {
	g := r.Graph()
	out := []int{i}
	for {
		next := -1
		for _, e := range g.Deps(i) {
			if e.Kind == analysis.RefFrom {
				next = e.To
			}
		}
		if next < 0 || next >= i {
			return out // a FROM names an earlier stage: the chain ends
		}
		out = append(out, next)
		i = next
	}
}

// FinalBase returns the image the exported stage is built on: the base of
// the bottom of its chain of FROM stages (see Chain), expanded in the
// build's global scope, and that stage. ok is false when there is no
// exported stage, the base is scratch, or it does not expand.
func (r *Result) FinalBase() (image string, st *analysis.Stage, ok bool) {
	final := r.Final()
	if final < 0 {
		return "", nil, false
	}
	chain := r.Chain(final)
	st = r.Analysis.Stages[chain[len(chain)-1]]
	image = st.Base
	if strings.Contains(image, "$") {
		if image, ok = r.ExpandGlobal(image); !ok {
			return "", nil, false
		}
	}
	if image == "" || strings.EqualFold(image, "scratch") {
		return "", nil, false
	}
	return image, st, true
}
