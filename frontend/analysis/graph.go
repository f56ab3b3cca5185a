package analysis

import (
	"slices"
	"sort"
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
//     otherwise the last stage of that name in the file (with alive nil,
//     every one of them); otherwise an image or a named context;
//   - RUN --mount from=: as COPY --from, but a number is a name there, as
//     upstream reads it;
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
		// The stages of the name before the FROM: a prefix of named.
		before := named[:sort.SearchInts(named, at)]
		if alive == nil {
			return append(dst, before...)
		}
		// The last of them alive: a file of many stages of one name, each
		// FROM the one before, finds it at once.
		for k := len(before) - 1; k >= 0; k-- {
			if alive(before[k]) {
				return append(dst, before[k])
			}
		}
		return dst
	}
	if kind != RefRequire && alive != nil {
		// dockerfile2llb keeps the last stage of each name it converts.
		for k := len(named) - 1; k >= 0; k-- {
			if alive(named[k]) {
				return append(dst, named[k])
			}
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
//
// A reference that resolves to several stages (the stages of a name, in
// a file that names several alike) is one edge to a group node, which
// stands for them: a file of k stages of one name that each refer to it
// would otherwise have k*k edges. The nodes from len(File.Stages) on are
// groups; Deps and Requires may lead to one (see IsGroup and Members).
type Graph struct {
	f *File
	// deps and reqs are the edges of each node, in the order written; a
	// group's deps are its members.
	deps, reqs [][]Edge
	// stages is the number of stages, the first group node.
	stages int
	// groups are the group nodes by what they stand for; first is the
	// first member of each, by node - stages.
	groups map[groupKey]int
	first  []int
}

// groupKey names a group: the first prefix stages of name (FROM with
// alive nil: the stages of that name before the FROM), or with prefix
// -1, all the stages of name that Resolve gave.
type groupKey struct {
	name   string
	prefix int
}

// Edge is one reference from a stage to another.
type Edge struct {
	To   int
	Item *syntax.Item
	Kind RefKind
}

// Graph builds the stage graph: each reference of an item is an edge
// from each stage owners gives for the item (nil: every stage it may
// belong to, see Owners; none: the item is left out), resolved by resolve
// (the k-th reference of it, expanded and lower-cased; false when it
// cannot be known) among the stages alive accepts (nil: all, see
// Resolve).
func (f *File) Graph(alive func(int) bool, owners func(dst []int, it *syntax.Item) []int, resolve func(it *syntax.Item, k int) (string, bool)) *Graph {
	n := len(f.Stages)
	g := &Graph{f: f, deps: make([][]Edge, n), reqs: make([][]Edge, n), stages: n}
	if owners == nil {
		owners = f.Owners
	}
	var targets, from []int
	// required holds the REQUIRE edges made, to keep the first of each.
	var required map[[2]int]bool
	for _, it := range f.linked {
		if from = owners(from[:0], it); len(from) == 0 {
			continue
		}
		for k, r := range f.Refs(it) {
			name, ok := resolve(it, k)
			if !ok {
				continue
			}
			// Resolve reads its at for a FROM only, whose stage is its own.
			targets = f.Resolve(targets[:0], r.Kind, name, it.LastFrom, alive)
			if len(targets) > 1 {
				key := groupKey{name, -1}
				if r.Kind == RefFrom {
					key.prefix = len(targets) // a prefix of the stages named so
				}
				targets = append(targets[:0], g.group(key, targets))
			}
			for _, s := range from {
				if s < 0 || s >= n {
					continue
				}
				for _, to := range targets {
					e := Edge{To: to, Item: it, Kind: r.Kind}
					if r.Kind != RefRequire {
						g.deps[s] = append(g.deps[s], e)
						continue
					}
					if required == nil {
						required = map[[2]int]bool{}
					}
					if !required[[2]int{s, to}] {
						required[[2]int{s, to}] = true
						g.reqs[s] = append(g.reqs[s], e)
					}
				}
			}
		}
	}
	return g
}

// group returns the node of the group key, made on first use with
// members. A prefix group of p stages is made of the group of the first
// p-1 and the p-th stage, so that the prefixes of one name take as many
// nodes and edges as it has stages.
func (g *Graph) group(key groupKey, members []int) int {
	if v, ok := g.groups[key]; ok {
		return v
	}
	if g.groups == nil {
		g.groups = map[groupKey]int{}
	}
	v := len(g.deps)
	g.deps = append(g.deps, nil)
	g.reqs = append(g.reqs, nil)
	g.groups[key] = v
	g.first = append(g.first, members[0])
	if key.prefix >= 2 {
		last := members[key.prefix-1]
		rest := members[0]
		if key.prefix > 2 {
			rest = g.group(groupKey{key.name, key.prefix - 1}, members)
		}
		g.deps[v] = []Edge{{To: rest}, {To: last}}
		return v
	}
	g.deps[v] = make([]Edge, len(members))
	for i, m := range members {
		g.deps[v][i] = Edge{To: m}
	}
	return v
}

// IsGroup reports whether node i is a group node, not a stage.
func (g *Graph) IsGroup(i int) bool { return i >= g.stages }

// Members returns the stages node i stands for: itself for a stage, in
// file order for a group.
func (g *Graph) Members(i int) []int {
	if !g.IsGroup(i) {
		return []int{i}
	}
	var out []int
	for stack := []int{i}; len(stack) > 0; {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !g.IsGroup(v) {
			out = append(out, v)
			continue
		}
		for k := len(g.deps[v]) - 1; k >= 0; k-- {
			stack = append(stack, g.deps[v][k].To)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// First returns the first stage node i stands for: itself for a stage.
func (g *Graph) First(i int) int {
	if !g.IsGroup(i) {
		return i
	}
	return g.first[i-g.stages]
}

// Leads reports whether node i is stage s or a group with s in it.
func (g *Graph) Leads(i, s int) bool {
	return i == s || (g.IsGroup(i) && slices.Contains(g.Members(i), s))
}

// Referenced reports, for each stage, whether an edge of the graph leads
// to it.
func (g *Graph) Referenced() []bool {
	marked := make([]bool, len(g.deps))
	var stack []int
	mark := func(to int) {
		if !marked[to] {
			marked[to] = true
			stack = append(stack, to)
		}
	}
	for i := range g.stages {
		for _, e := range g.deps[i] {
			mark(e.To)
		}
		for _, e := range g.reqs[i] {
			mark(e.To)
		}
	}
	// A group's members are referenced through it.
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if g.IsGroup(v) {
			for _, e := range g.deps[v] {
				mark(e.To)
			}
		}
	}
	return marked[:g.stages]
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

// Requires are the stages (or groups, see IsGroup) stage i requires, in
// the order written, each with the first REQUIRE that names it.
func (g *Graph) Requires(i int) []Edge { return g.reqs[i] }

// Deps are the stages (or groups, see IsGroup) stage i builds on, in the
// order written.
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
	// push adds the edges of node i; a group's members are required when
	// the group is (req).
	push := func(i int, req bool) {
		for k := len(g.reqs[i]) - 1; k >= 0; k-- {
			stack = append(stack, step{g.reqs[i][k].To, true})
		}
		for k := len(g.deps[i]) - 1; k >= 0; k-- {
			stack = append(stack, step{g.deps[i][k].To, req && g.IsGroup(i)})
		}
	}
	gated := make([]bool, len(g.deps))
	for _, r := range roots {
		if r < 0 || r >= g.stages || reach[r] {
			continue
		}
		reach[r] = true
		push(r, false)
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if s.req && !gated[s.to] {
				gated[s.to] = true
				if g.IsGroup(s.to) {
					push(s.to, true) // reached or not, its members are gates
				} else {
					gates = append(gates, s.to)
				}
			}
			if !reach[s.to] {
				reach[s.to] = true
				push(s.to, false)
			}
		}
	}
	return reach[:g.stages], gates
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
				// The stages along it, from to: groups are left out.
				var cycle []int
				on := false
				for i := range path {
					on = on || path[i].stage == to
					if on && !g.IsGroup(path[i].stage) {
						cycle = append(cycle, path[i].stage)
					}
				}
				return append(cycle, cycle[0])
			case unvisited:
				state[to] = onPath
				path = append(path, frame{stage: to})
			}
		}
	}
	return nil
}
