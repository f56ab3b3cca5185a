package rewrite

import (
	"strings"

	"github.com/org/stagefront/frontend/syntax"
)

// reachable returns the stages the target may build on, whatever the
// conditions decided: every stage named by any instruction (live or not)
// of a stage reachable from the target. This is the "target's path" that
// Flags and outline report on.
func (e *evaluation) reachable() []bool {
	byName := map[string][]int{}
	for i, s := range e.stages {
		if s.Name != "" {
			byName[s.Name] = append(byName[s.Name], i)
		}
	}
	var roots []int
	if t := strings.ToLower(e.opt.Target); t != "" {
		roots = byName[t]
	} else {
		last := len(e.stages) - 1
		for i := range e.stages {
			if e.stages[i].Live {
				last = i
			}
		}
		if last >= 0 {
			roots = append([]int{last}, byName[e.stages[last].Name]...)
		}
	}
	edges := make([][]int, len(e.stages))
	for _, it := range e.p.linked {
		if it.Stage < 0 || it.Stage >= len(e.stages) {
			continue
		}
		var names []string
		for _, r := range e.p.of(it).refs {
			names = append(names, r.name)
		}
		names = append(names, it.Args()...)
		for _, n := range names {
			if strings.Contains(n, "$") {
				if v, _, err := e.lex.ProcessWord(n, e.global); err == nil {
					n = v
				}
			}
			n = strings.ToLower(n)
			if i, ok := stageNumber(n); ok && i >= 0 && i < len(e.stages) {
				edges[it.Stage] = append(edges[it.Stage], i)
				continue
			}
			edges[it.Stage] = append(edges[it.Stage], byName[n]...)
		}
	}
	seen := make([]bool, len(e.stages))
	var visit func(int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, j := range edges[i] {
			visit(j)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	return seen
}

// flags lists the names read by the conditions on the target's path.
func (e *evaluation) flags() []Flag {
	reach := e.reachable()
	// Blocks that choose a reachable stage.
	choosing := map[*syntax.Block]bool{}
	for i, it := range e.p.file.Stages {
		if !reach[i] {
			continue
		}
		for b := it.Branch; b != nil; b = b.Block.Parent {
			choosing[b.Block] = true
		}
	}
	var out []Flag
	index := map[string]int{}
	for _, it := range e.p.scoped {
		c := e.p.of(it).cond
		if c == nil {
			continue
		}
		var onPath bool
		switch {
		case it.Stage < 0:
			onPath = true
		case it.Keyword == "from":
			onPath = reach[it.Stage]
		case it.Block != nil && it.Block.HasFrom:
			onPath = choosing[it.Block]
		default:
			onPath = reach[it.Stage]
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
			if vals := e.seenBy(it); k < len(vals) {
				d = vals[k]
			}
			f := Flag{Name: n, Value: d.value, Defined: d.ok, UsedAt: []int{it.Cond.Line}, Guards: []LineRange{guard}}
			if decl := e.declarationFor(it, n); decl != nil {
				f.Line = decl.item.Line
				f.Doc = decl.kv.DocComment
				if decl.kv.Value != nil {
					f.Default = *decl.kv.Value
				}
			} else {
				f.Automatic = isAutomatic(n)
			}
			index[n] = len(out)
			out = append(out, f)
		}
	}
	return out
}

// declarationFor finds the ARG that declares name for the condition of it.
func (e *evaluation) declarationFor(it *syntax.Item, name string) *argDecl {
	var found *argDecl
	for i, d := range e.p.argDecls[name] {
		if d.item.Line > it.Line {
			break
		}
		if d.global || (!stageLevel(it) && d.item.Stage == it.Stage) {
			found = &e.p.argDecls[name][i]
		}
	}
	return found
}

// guarded returns the lines the condition of it decides.
func guarded(it *syntax.Item) LineRange {
	r := LineRange{From: it.Line, To: it.EndLine}
	if (it.Kind == syntax.If || it.Kind == syntax.ElseIf) && it.Block != nil && it.Block.End != nil {
		r.To = it.Block.End.Line
	}
	return r
}
