package analysis

import (
	"slices"
	"sort"

	"github.com/org/stagefront/frontend/syntax"
)

// Which stage a line belongs to. Dead lines vanish and what remains is
// the Dockerfile the build converts, so a line belongs to the last live
// FROM above it:
//
//   - a FROM that is off (by its --if= or its block) turns off its body:
//     the lines after it up to the next FROM, or to the end of the branch
//     it stands in (ELSE IF, ELSE, END);
//   - lines after the END of a block that starts stages (and lines of a
//     branch after another branch started one) continue whichever stage
//     is live there: one of several, depending on the branches taken.
//
// The evaluation of a build decides which one (rewrite.Result.Owner);
// the analysis lists the stages each line may belong to, for the
// questions that hold for any values: the scope a condition reads, the
// stage graph of every reference, the checks.

// MaxOwners is the most stages the lines after an END may continue,
// depending on the branches above them.
const MaxOwners = 64

// A Join is a run of consecutive items whose stage is not the FROM they
// follow: after the END of a block that starts stages, or in a branch
// after another branch of its block started one.
type Join struct {
	// First and Last are the first and last item of the run.
	First, Last *syntax.Item
	// Stages are the stages its lines may belong to, as indexes of
	// File.Stages in file order, -1 first when some branches leave no
	// stage live above them. The slice is the File's: read it, never
	// change it.
	Stages []int
}

// Owners appends to dst the stages it may belong to (see Join), as
// indexes of Stages: the FROM it follows (a FROM is its own stage), or
// those of its Join; -1 alone before the first FROM.
func (f *File) Owners(dst []int, it *syntax.Item) []int {
	if j := f.joinOf(it); j != nil {
		return append(dst, j.Stages...)
	}
	return append(dst, it.LastFrom)
}

// Owner returns the one stage it belongs to whatever the branches decide
// (-1 before the first FROM); ok is false when that depends on them (see
// Owners).
func (f *File) Owner(it *syntax.Item) (stage int, ok bool) {
	if j := f.joinOf(it); j != nil {
		if len(j.Stages) == 1 {
			return j.Stages[0], true
		}
		return -1, false
	}
	return it.LastFrom, true
}

// Joins lists the runs of items whose stage is decided by the branches
// above them, in file order.
func (f *File) Joins() []Join { return f.joins }

// joinOf returns the Join that holds it, nil when there is none.
func (f *File) joinOf(it *syntax.Item) *Join {
	if len(f.joins) == 0 {
		return nil
	}
	i := sort.Search(len(f.joins), func(i int) bool { return f.joins[i].Last.Index >= it.Index })
	if i < len(f.joins) && f.joins[i].First.Index <= it.Index {
		return &f.joins[i]
	}
	return nil
}

// findJoins finds the Joins of the file in one pass, with a stack of the
// open blocks that start stages. It follows the stages that may be live
// (given that the branches around the item at hand are taken): an
// unguarded FROM makes its stage the only one; a guarded one adds its
// stage to those before it (when it is off, they show through once its
// body ends). A branch starts with the stages live at its IF; an END
// leaves those at the end of each branch, and those at the IF when the
// block has no ELSE.
func (f *File) findJoins() {
	type frame struct {
		block     *syntax.Block
		pre, ends []int
		hasElse   bool
	}
	var stack []frame
	live := []int{-1}
	// body is the FROM whose body the items are in (-1: none), and
	// bodyIn the branch it stands in.
	body := -1
	var bodyIn *syntax.Branch
	endsBody := func(b *syntax.Block) {
		if body >= 0 && bodyIn != nil && bodyIn.Block == b {
			body = -1
		}
	}
	for _, it := range f.Syntax.Items {
		if b := it.Block(); b != nil && b.HasFrom {
			// IF, ELSE IF, ELSE or END of a block that starts stages; the
			// others are lines of the body they stand in, as instructions.
			if it.Kind == syntax.If {
				stack = append(stack, frame{block: b, pre: live})
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1].block != b {
				continue // a malformed block, already an error
			}
			top := &stack[len(stack)-1]
			top.ends = unionStages(top.ends, live)
			endsBody(b)
			if it.Kind != syntax.End {
				top.hasElse = top.hasElse || it.Kind == syntax.Else
				live = top.pre
				continue
			}
			live = top.ends
			if !top.hasElse {
				live = unionStages(live, top.pre)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if it.Keyword == "from" {
			if it.Cond != nil {
				live = unionStages(live, []int{it.LastFrom})
			} else {
				live = []int{it.LastFrom}
			}
			body, bodyIn = it.LastFrom, it.Branch
			continue
		}
		if body >= 0 || (len(live) == 1 && live[0] == it.LastFrom) {
			continue // the FROM it follows
		}
		if n := len(f.joins); n > 0 && f.joins[n-1].Last.Index == it.Index-1 && sameStages(f.joins[n-1].Stages, live) {
			f.joins[n-1].Last = it
			continue
		}
		if len(live) > MaxOwners {
			f.errs.Add(f.Syntax.Name, it.Line, 0, "this line may continue any of more than %d stages, depending on the branches above it; the limit is %d: start a stage (FROM) before it, or give the blocks above it an ELSE", MaxOwners, MaxOwners)
		}
		f.joins = append(f.joins, Join{First: it, Last: it, Stages: live})
	}
}

// unionStages merges two sorted lists of stages, returning a or b itself
// when it holds the other. It keeps at most MaxOwners+1 stages: one more
// is an error (see findJoins), and the list stays small.
func unionStages(a, b []int) []int {
	switch {
	case holds(a, b):
		return a
	case holds(b, a):
		return b
	}
	u := make([]int, 0, min(len(a)+len(b), MaxOwners+1))
	i, j := 0, 0
	for (i < len(a) || j < len(b)) && len(u) <= MaxOwners {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			u = append(u, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			u = append(u, b[j])
			j++
		default:
			u = append(u, a[i])
			i++
			j++
		}
	}
	return u
}

// holds reports whether the sorted list a holds every stage of b.
func holds(a, b []int) bool {
	i := 0
	for _, x := range b {
		for i < len(a) && a[i] < x {
			i++
		}
		if i == len(a) || a[i] != x {
			return false
		}
	}
	return true
}

func sameStages(a, b []int) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || slices.Equal(a, b))
}
