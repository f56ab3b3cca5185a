package analysis

import (
	"strconv"
	"strings"

	"github.com/org/stagefront/frontend/syntax"
)

// RefKind says how an instruction names another stage.
type RefKind uint8

// The kinds of stage references.
const (
	RefFrom    RefKind = iota // FROM <stage>
	RefCopy                   // COPY --from=<stage>
	RefMount                  // RUN --mount=from=<stage>
	RefRequire                // REQUIRE <stage>
)

var refKindNames = [...]string{RefFrom: "FROM", RefCopy: "COPY --from", RefMount: "RUN --mount from", RefRequire: "REQUIRE"}

func (k RefKind) String() string { return refKindNames[k] }

// Ref is one stage reference of an instruction.
type Ref struct {
	Kind RefKind
	// Name is the stage, image or context name as written, variables
	// unexpanded.
	Name string
}

// HasVariable reports whether the name is chosen by a variable.
func (r Ref) HasVariable() bool { return strings.Contains(r.Name, "$") }

// Resolve appends to dst the stages a reference of kind names when its
// expanded name is name, written in stage at, among the stages alive
// accepts (nil: every stage, live or not: what some values could make
// live). It follows dockerfile2llb's rules:
//
//   - FROM: the last stage of that name defined before stage at (with
//     alive nil, every one of them); otherwise the name is an image;
//   - COPY --from: the stage of that index when the name is a number,
//     otherwise the stages of that name, anywhere in the file; otherwise
//     an image or a named context;
//   - RUN --mount from=: the stages of that name (a number is a name
//     there, as upstream reads it);
//   - REQUIRE: the stages of that name.
//
// Names are compared lower-cased; name must already be.
func (f *File) Resolve(dst []int, kind RefKind, name string, at int, alive func(int) bool) []int {
	if kind == RefCopy {
		if n, ok := StageNumber(name); ok {
			if n < len(f.Stages) && (alive == nil || alive(n)) {
				dst = append(dst, n)
			}
			return dst
		}
	}
	named := f.byName[name]
	if kind == RefFrom {
		last := -1
		for _, i := range named {
			if i >= at {
				break
			}
			if alive == nil {
				dst = append(dst, i)
			} else if alive(i) {
				last = i
			}
		}
		if last >= 0 {
			dst = append(dst, last)
		}
		return dst
	}
	for _, i := range named {
		if alive == nil || alive(i) {
			dst = append(dst, i)
		}
	}
	return dst
}

// StageNumber reads a stage referred to by its index, as in COPY --from=0.
func StageNumber(name string) (int, bool) {
	if name == "" || strings.Trim(name, "0123456789") != "" {
		return 0, false // most names: no error value to build
	}
	n, err := strconv.Atoi(name)
	return n, err == nil
}

// Graph is the stage graph of a file: which stages each stage builds on
// (FROM, COPY --from, RUN --mount from=) and which it requires
// (REQUIRE). One graph type serves every question about stages: what a
// build converts and gates, the cycles, the flags on a target's path and
// the stages no build reaches; they differ only in the items and stages
// they are built from (see File.Graph).
type Graph struct {
	f *File
	// deps and reqs are the edges of each stage, in the order written.
	deps, reqs [][]Edge
}

// Edge is one reference from a stage to another.
type Edge struct {
	To   int
	Item *syntax.Item
	Kind RefKind
}

// Graph builds the stage graph of the items keep accepts (nil: all),
// each reference resolved by resolve (the k-th reference of it, expanded
// and lower-cased; false when it cannot be known) among the stages alive
// accepts (nil: all, see Resolve).
func (f *File) Graph(alive func(int) bool, keep func(*syntax.Item) bool, resolve func(it *syntax.Item, k int) (string, bool)) *Graph {
	g := &Graph{f: f, deps: make([][]Edge, len(f.Stages)), reqs: make([][]Edge, len(f.Stages))}
	var targets []int
	// required[t] is 1 + the last stage that requires t: the items of a
	// stage come together, so this finds a REQUIRE repeated in a stage.
	var required []int32
	for _, it := range f.linked {
		if it.Stage < 0 || it.Stage >= len(f.Stages) || (keep != nil && !keep(it)) {
			continue
		}
		for k, r := range f.Refs(it) {
			name, ok := resolve(it, k)
			if !ok {
				continue
			}
			targets = f.Resolve(targets[:0], r.Kind, name, it.Stage, alive)
			for _, to := range targets {
				e := Edge{To: to, Item: it, Kind: r.Kind}
				if r.Kind == RefRequire {
					if required == nil {
						required = make([]int32, len(f.Stages))
					}
					if required[to] != int32(it.Stage)+1 {
						required[to] = int32(it.Stage) + 1
						g.reqs[it.Stage] = append(g.reqs[it.Stage], e)
					}
				} else {
					g.deps[it.Stage] = append(g.deps[it.Stage], e)
				}
			}
		}
	}
	return g
}

// Literal resolves a reference as written, lower-cased; false when a
// variable chooses it. It is the resolve of Graph for questions that
// hold for any values.
func (f *File) Literal(it *syntax.Item, k int) (string, bool) {
	r := f.Refs(it)[k]
	if r.HasVariable() {
		return "", false
	}
	return strings.ToLower(r.Name), true
}

// Requires are the stages stage i requires, in the order written, each
// with the first REQUIRE that names it.
func (g *Graph) Requires(i int) []Edge { return g.reqs[i] }

// Deps are the stages stage i builds on, in the order written.
func (g *Graph) Deps(i int) []Edge { return g.deps[i] }

// Reach returns the stages a build of roots converts: the roots and
// every stage they build on or require, transitively. gates are the
// stages REQUIREs among them name, in order of discovery (depth first,
// the stages a stage builds on before those it requires).
func (g *Graph) Reach(roots ...int) (reach []bool, gates []int) {
	reach = make([]bool, len(g.deps))
	type step struct {
		to  int
		req bool
	}
	var stack []step
	push := func(i int) {
		for k := len(g.reqs[i]) - 1; k >= 0; k-- {
			stack = append(stack, step{g.reqs[i][k].To, true})
		}
		for k := len(g.deps[i]) - 1; k >= 0; k-- {
			stack = append(stack, step{g.deps[i][k].To, false})
		}
	}
	gated := make([]bool, len(g.deps))
	for _, r := range roots {
		if r < 0 || r >= len(reach) || reach[r] {
			continue
		}
		reach[r] = true
		push(r)
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if s.req && !gated[s.to] {
				gated[s.to] = true
				gates = append(gates, s.to)
			}
			if !reach[s.to] {
				reach[s.to] = true
				push(s.to)
			}
		}
	}
	return reach, gates
}

// RequireCycle returns a cycle that goes through a REQUIRE: the stages
// along it, the first one repeated at the end; nil when there is none.
// Cycles of FROM and COPY --from alone are the converter's to report.
func (g *Graph) RequireCycle() []int {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]uint8, len(g.deps))
	type frame struct {
		stage, next int
	}
	// edges of a stage: its REQUIREs first, then what it builds on.
	edge := func(i, k int) (int, bool) {
		if k < len(g.reqs[i]) {
			return g.reqs[i][k].To, true
		}
		k -= len(g.reqs[i])
		if k < len(g.deps[i]) {
			return g.deps[i][k].To, true
		}
		return 0, false
	}
	for start := range g.deps {
		if len(g.reqs[start]) == 0 || state[start] != unvisited {
			continue
		}
		path := []frame{{stage: start}}
		state[start] = onPath
		for len(path) > 0 {
			top := &path[len(path)-1]
			to, ok := edge(top.stage, top.next)
			if !ok {
				state[top.stage] = done
				path = path[:len(path)-1]
				continue
			}
			top.next++
			switch state[to] {
			case onPath:
				var cycle []int
				for i := range path {
					if path[i].stage == to || len(cycle) > 0 {
						cycle = append(cycle, path[i].stage)
					}
				}
				return append(cycle, to)
			case unvisited:
				state[to] = onPath
				path = append(path, frame{stage: to})
			}
		}
	}
	return nil
}
