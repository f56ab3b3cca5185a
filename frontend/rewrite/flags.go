package rewrite

import (
	"slices"
	"strings"

	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
)

// reachable returns the stages the target may build on, whatever the
// conditions decided: every stage named by any instruction (live or not)
// of a stage reachable from the target. This is the "target's path" that
// Flags and outline report on. A live reference counts as this build
// resolved it; a dead one with its variables expanded in the global
// scope.
func (e *evaluation) reachable() []bool {
	var roots []int
	if t := strings.ToLower(e.opt.Target); t != "" {
		roots = e.p.StagesNamed(t)
	} else {
		last := len(e.stages) - 1
		for i := range e.stages {
			if e.stages[i].Live {
				last = i
			}
		}
		if last >= 0 {
			roots = append([]int{last}, e.p.StagesNamed(e.stages[last].Name)...)
		}
	}
	resolve := func(it *syntax.Item, k int) (string, bool) {
		if e.refs[e.p.LinkIndex(it)] != nil {
			return e.refName(it, k)
		}
		n := e.p.Refs(it)[k].Name
		if strings.Contains(n, "$") {
			if v, _, err := e.lex.ProcessWord(n, e.global); err == nil {
				n = v
			}
		}
		return strings.ToLower(n), true
	}
	seen, _ := e.p.Graph(nil, nil, resolve).Reach(roots...)
	return seen
}

// flags lists the names read by the conditions on the target's path.
func (e *evaluation) flags() []Flag {
	reach := e.reachable()
	// Blocks that choose a reachable stage.
	choosing := map[*syntax.Block]bool{}
	for i, it := range e.p.Syntax.Stages {
		if !reach[i] {
			continue
		}
		for b := it.Branch; b != nil; b = b.Block.Parent {
			choosing[b.Block] = true
		}
	}
	var out []Flag
	index := map[string]int{}
	var owners []int
	for _, it := range e.p.Scoped() {
		c := e.p.Condition(it)
		if c == nil {
			continue
		}
		var onPath bool
		switch {
		case it.LastFrom < 0:
			onPath = true
		case it.Block() != nil && it.Block().HasFrom:
			onPath = choosing[it.Block()]
		default:
			// In a stage the target may reach (a FROM is its own).
			owners = e.p.Owners(owners[:0], it)
			onPath = slices.ContainsFunc(owners, func(s int) bool { return s >= 0 && reach[s] })
		}
		if !onPath {
			continue
		}
		guard := guarded(it)
		for k, n := range c.Names {
			if i, ok := index[n]; ok {
				out[i].UsedAt = append(out[i].UsedAt, it.Cond.Line)
				out[i].Guards = append(out[i].Guards, guard)
				continue
			}
			var d declared
			vals := e.seenBy(it)
			if k < len(vals) {
				d = vals[k]
			}
			f := Flag{Name: n, Value: d.value, Defined: d.ok, UsedAt: []int{it.Cond.Line}, Guards: []LineRange{guard}}
			decl := e.p.Declaration(it, n)
			if _, one := e.p.Owner(it); !one && e.live(it.Branch) && !analysis.StageLevel(it) {
				// After END: the declaration of the stage this build
				// continues there.
				if o := e.stageAt(it.Line); o >= 0 {
					decl = e.p.DeclarationIn(it, n, o)
				}
			}
			if decl != nil {
				f.Line = decl.Item.Line
				f.Doc = decl.KV.DocComment
				if decl.KV.Value != nil {
					f.Default = *decl.KV.Value
				}
			} else {
				f.Automatic = analysis.IsAutomatic(n)
			}
			index[n] = len(out)
			out = append(out, f)
		}
	}
	return out
}

// guarded returns the lines the condition of it decides.
func guarded(it *syntax.Item) LineRange {
	r := LineRange{From: it.Line, To: it.EndLine}
	if (it.Kind == syntax.If || it.Kind == syntax.ElseIf) && it.Block() != nil && it.Block().End != nil {
		r.To = it.Block().End.Line
	}
	return r
}
