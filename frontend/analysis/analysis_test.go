package analysis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/org/stagefront/frontend/syntax"
)

func analyze(t *testing.T, lines ...string) *File {
	t.Helper()
	f, err := Analyze(context.Background(), "Dockerfile", []byte(strings.Join(lines, "\n")+"\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestResolve: stage references resolve as dockerfile2llb resolves them.
func TestResolve(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"FROM busybox AS a", // 0
		"FROM a AS b",       // 1
		"FROM busybox AS a", // 2: a again (dead in a real build, or an error)
		"FROM busybox AS later",
		"FROM scratch") // 4
	all := func(int) bool { return true }
	notFirst := func(i int) bool { return i != 0 }
	for _, tc := range []struct {
		kind  RefKind
		name  string
		at    int
		alive func(int) bool
		want  []int
	}{
		{RefFrom, "a", 1, all, []int{0}},                                 // only stages before the FROM
		{RefFrom, "a", 4, all, []int{2}},                                 // the last of them
		{RefFrom, "a", 4, nil, []int{0, 2}},                              // any, for questions over all values
		{RefFrom, "a", 4, notFirst, []int{2}},                            // live ones only
		{RefFrom, "later", 1, all, nil},                                  // a later stage: an image
		{RefCopy, "later", 1, all, []int{3}},                             // COPY --from looks everywhere
		{RefCopy, "1", 4, all, []int{1}},                                 // by index
		{RefCopy, "7", 4, all, nil},                                      // no such index
		{RefMount, "1", 4, all, nil},                                     // a number is a name for mounts
		{RefMount, "b", 4, all, []int{1}},                                // by name
		{RefRequire, "a", 1, notFirst, []int{2}},                         // REQUIRE names any live one
		{RefCopy, "busybox", 4, all, nil},                                // an image
		{RefCopy, "a", 1, all, []int{2}},                                 // the last of the name, as dockerfile2llb keeps it
		{RefCopy, "a", 1, notFirst, []int{2}},                            //
		{RefCopy, "a", 1, nil, []int{0, 2}},                              // any, over all values
		{RefMount, "a", 4, func(i int) bool { return i != 2 }, []int{0}}, // the last live one
	} {
		if got := f.Resolve(nil, tc.kind, tc.name, tc.at, tc.alive); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s at stage %d: %v, want %v", tc.kind, tc.name, tc.at, got, tc.want)
		}
	}
}

// TestGraphReachAndGates: what a target converts and the gates it must
// pass, through every kind of reference, transitively.
func TestGraphReachAndGates(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"FROM busybox AS lint",  // 0
		"FROM busybox AS unit",  // 1
		"REQUIRE lint",          //
		"FROM busybox AS deps",  // 2
		"FROM busybox AS build", // 3
		"RUN --mount=from=deps,target=/d true",
		"REQUIRE unit",
		"FROM busybox AS scan", // 4
		"FROM build AS image",  // 5
		"REQUIRE scan unit",
		"FROM scratch AS other", // 6
		"COPY --from=image / /")
	g := f.Graph(nil, nil, f.Literal)
	reach, gates := g.Reach(6)
	var reached []int
	for i, r := range reach {
		if r {
			reached = append(reached, i)
		}
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(reached, want) {
		t.Errorf("reach %v, want %v", reached, want)
	}
	// Depth first, what a stage builds on before what it requires.
	if want := []int{1, 0, 4}; !slices.Equal(gates, want) {
		t.Errorf("gates %v, want %v", gates, want)
	}
	reach, gates = g.Reach(2)
	if !reach[2] || reach[3] || len(gates) != 0 {
		t.Errorf("deps alone: reach %v, gates %v", reach, gates)
	}
	if c := g.RequireCycle(); c != nil {
		t.Errorf("cycle %v in a graph without one", c)
	}
}

func TestRequireCycle(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"FROM busybox AS a", // 0
		"REQUIRE c",
		"FROM a AS b", // 1
		"FROM b AS c", // 2
		"FROM scratch")
	c := f.Graph(nil, nil, f.Literal).RequireCycle()
	if got := fmt.Sprint(c); got != "[0 2 1 0]" {
		t.Errorf("cycle %s, want [0 2 1 0] (a -> c -> b -> a)", got)
	}
}

// TestCompileRounds: a large file's conditions, compiled in rounds with
// a collection between them, are those compiled at once.
func TestCompileRounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ARG A=1\nFROM busybox\nARG B\n")
	for i := range 500 {
		fmt.Fprintf(&b, "RUN --if=\"A == '%d' || B\" true\n", i%37)
		if i%50 == 0 {
			fmt.Fprintf(&b, "RUN --if=C%d true\n", i) // undeclared: an error
		}
	}
	dt := []byte(b.String())
	opt := Options{ConditionsPerWorker: 1}
	once, err1 := analyzeFile(context.Background(), "Dockerfile", dt, opt, false)
	rounds, err2 := analyzeFile(context.Background(), "Dockerfile", dt, opt, true)
	if once == nil || rounds == nil || err1 == nil || err1.Error() != err2.Error() {
		t.Fatalf("errors differ:\n%v\n---\n%v", err1, err2)
	}
	for i, it := range once.Syntax.Items {
		a, b := once.Condition(it), rounds.Condition(rounds.Syntax.Items[i])
		if (a == nil) != (b == nil) || a != nil && (a.Text != b.Text || !slices.Equal(a.Names, b.Names)) {
			t.Fatalf("line %d: %+v, in rounds %+v", it.Line, a, b)
		}
	}
}

// TestGraphGroups: references that resolve to many stages of one name
// are edges to group nodes, so that k stages of one name that each
// refer to it make a graph of O(k) edges, with the same answers.
func TestGraphGroups(t *testing.T) {
	t.Parallel()
	edges := func(g *Graph) int {
		n := 0
		for i := range g.deps {
			n += len(g.deps[i]) + len(g.reqs[i])
		}
		return n
	}
	build := func(k int) *File {
		lines := []string{"FROM busybox AS x"}
		for range k {
			lines = append(lines, "FROM x AS x", "COPY --from=x / /", "RUN --mount=from=x true", "REQUIRE x")
		}
		return analyze(t, append(lines, "FROM scratch AS t", "REQUIRE x")...)
	}
	small, large := build(100), build(800)
	gs, gl := small.Graph(nil, nil, small.Literal), large.Graph(nil, nil, large.Literal)
	if r := float64(edges(gl)) / float64(edges(gs)); r > 10 {
		t.Errorf("edges grow x%.1f from 100 to 800 stages of one name (%d, %d): quadratic", r, edges(gs), edges(gl))
	}
	f, g := small, gs
	last := len(f.Stages) - 1
	reach, gates := g.Reach(last)
	if len(reach) != len(f.Stages) {
		t.Fatalf("reach has %d entries for %d stages", len(reach), len(f.Stages))
	}
	for i := range last {
		if !reach[i] {
			t.Errorf("stage %d not reached", i)
		}
	}
	if len(gates) != last {
		t.Errorf("%d gates, want the %d stages named x", len(gates), last)
	}
	slices.Sort(gates)
	if gates = slices.Compact(gates); len(gates) != last || gates[0] != 0 || gates[len(gates)-1] != last-1 {
		t.Errorf("gates %v, want 0..%d", gates, last-1)
	}
	ref := g.Referenced()
	if slices.Contains(ref[:last], false) || ref[last] {
		t.Errorf("referenced %v: every x and not t", ref)
	}
	for _, e := range g.Requires(last) {
		if !g.IsGroup(e.To) || len(g.Members(e.To)) != last || g.First(e.To) != 0 || !g.Leads(e.To, 7) {
			t.Errorf("REQUIRE x of t: edge to %d, members %v", e.To, g.Members(e.To))
		}
	}
	// Every x requires the stages named x, itself among them: a cycle
	// through a group, reported as stages.
	c := g.RequireCycle()
	if len(c) < 2 || c[0] != c[len(c)-1] || slices.ContainsFunc(c, g.IsGroup) {
		t.Errorf("cycle %v: want stages, the first repeated at the end", c)
	}
	// A live graph: FROM, COPY and mounts name the last live x, REQUIRE
	// all of them.
	live := f.Graph(func(int) bool { return true }, nil, f.Literal)
	for _, e := range live.Deps(5) {
		if live.IsGroup(e.To) || e.To != 4 && e.Kind == RefFrom || e.To != last-1 && e.Kind != RefFrom {
			t.Errorf("stage 5 %s: to %d", e.Kind, e.To)
		}
	}
	if r := live.Requires(5); len(r) != 1 || !live.IsGroup(r[0].To) || len(live.Members(r[0].To)) != last {
		t.Errorf("REQUIRE x of stage 5, live: %+v", r)
	}
}

// TestGraphOfVariables: a reference chosen by a variable is what resolve
// says it is; Literal leaves it out.
func TestGraphOfVariables(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"ARG SRC=a",
		"FROM busybox AS a",
		"FROM busybox AS b",
		"FROM scratch",
		"COPY --from=${SRC} / /")
	if reach, _ := f.Graph(nil, nil, f.Literal).Reach(2); reach[0] || reach[1] {
		t.Errorf("Literal followed a variable: %v", reach)
	}
	toB := func(*syntax.Item, int) (string, bool) { return "b", true }
	if reach, _ := f.Graph(nil, nil, toB).Reach(2); reach[0] || !reach[1] {
		t.Errorf("resolved to b: %v", reach)
	}
}

func TestDeclarationsAndNames(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"# DOCS ships the docs",
		"ARG DOCS=true A B=1",
		"FROM busybox AS Build",
		"ARG DOCS",
		"RUN --if=DOCS echo",
		"IF DOCS",
		"FROM busybox AS test",
		"END")
	var names []string
	for _, a := range f.GlobalArgs() {
		names = append(names, a.KV.Key)
	}
	if strings.Join(names, " ") != "DOCS A B" {
		t.Errorf("global ARGs %v", names)
	}
	items := f.Syntax.Items
	if d := f.Declaration(items[3], "DOCS"); d == nil || d.Item.Line != 4 || d.Global {
		t.Errorf("RUN --if=DOCS reads %+v, want the stage ARG of line 4", d)
	}
	if d := f.Declaration(items[4], "DOCS"); d == nil || d.Item.Line != 2 || d.KV.DocComment != "ships the docs" {
		t.Errorf("IF DOCS around a FROM reads %+v, want the global ARG of line 2 and its doc", d)
	}
	if got := strings.Join(f.StageNames(), " "); got != "build test" {
		t.Errorf("stage names %q", got)
	}
	if got := f.SuggestStage("biuld"); got != "build" {
		t.Errorf("SuggestStage(biuld) = %q", got)
	}
}

// TestCheckCommentAboveInstruction: BuildKit's instruction parser needs a
// linter to read a `# check=` comment above an instruction; without one
// it panics.
func TestCheckCommentAboveInstruction(t *testing.T) {
	t.Parallel()
	f := analyze(t, "ARG base=busybox", "FROM ${base}", "# check=skip=all", "ARG password", "RUN echo ok")
	if f.Arg(f.Syntax.Items[2]) == nil {
		t.Errorf("ARG below a check comment not parsed")
	}
}

// TestErrorsOfTheFile: value-independent errors come with the File.
func TestErrorsOfTheFile(t *testing.T) {
	t.Parallel()
	f, err := Analyze(context.Background(), "Dockerfile", []byte("FROM busybox AS tester\nFROM scratch\nREQUIRE testr\nRUN --if=NOPE true\n"), Options{})
	if f == nil || err == nil {
		t.Fatalf("Analyze = %v, %v", f, err)
	}
	got := err.Error()
	for _, want := range []string{`Dockerfile:3: REQUIRE names "testr", which is not a stage of this file; did you mean "tester"?`, "Dockerfile:4:10: --if=NOPE: undeclared name NOPE"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	if _, err := Analyze(context.Background(), "Dockerfile", []byte("# escape=x\nFROM scratch\n"), Options{}); err == nil {
		t.Errorf("a parser error is not returned")
	}
}

// TestOwners: a line belongs to the last live FROM above it, so the
// stages it may belong to are the FROM it follows, or after the END of a
// block that starts stages (and in a branch after another started one)
// whatever the branches leave live. Each file marks a line with the
// stages it may belong to, by line of their FROM ("-" for none), in a
// comment on the line before it.
func TestOwners(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		file []string
		// want maps a line to the lines of the FROMs it may belong to (0:
		// no stage).
		want map[int][]int
	}{
		{"alternatives of one name", []string{
			"ARG E=dev",       // 1
			"IF E == 'dev'",   // 2
			"FROM a AS final", // 3
			"RUN dev",         // 4
			"ELSE",            // 5
			"FROM b AS final", // 6
			"RUN prod",        // 7
			"END",             // 8
			"COPY app /app",   // 9
			"IF E == 'dev'",   // 10: a block inside the stage
			"RUN more",        // 11
			"END",             // 12
			"CMD [\"/app\"]"}, // 13
			map[int][]int{4: {3}, 7: {6}, 9: {3, 6}, 10: {3, 6}, 11: {3, 6}, 13: {3, 6}}},
		{"no ELSE: the stage before goes on", []string{
			"FROM a AS app", // 1
			"IF true",       // 2
			"RUN x",         // 3
			"FROM b AS dbg", // 4
			"END",           // 5
			"RUN after"},    // 6
			map[int][]int{3: {1}, 6: {1, 4}}},
		{"an ELSE continues the stage before the IF", []string{
			"FROM a AS base", // 1
			"IF true",        // 2
			"FROM b AS b",    // 3
			"ELSE",           // 4
			"RUN in-base",    // 5
			"END",            // 6
			"RUN after"},     // 7
			map[int][]int{5: {1}, 7: {1, 3}}},
		{"no stage before the IF", []string{
			"IF true", // 1
			"FROM a",  // 2
			"END",     // 3
			"RUN x"},  // 4
			map[int][]int{4: {0, 2}}},
		{"a guarded FROM's stage or the one before", []string{
			"FROM z",           // 1
			"FROM --if=true a", // 2
			"RUN in-a",         // 3
			"IF true",          // 4
			"RUN still-in-a",   // 5
			"FROM c",           // 6
			"ELSE",             // 7
			"RUN z-or-a",       // 8
			"END",              // 9
			"RUN after"},       // 10
			map[int][]int{3: {2}, 5: {2}, 8: {1, 2}, 10: {1, 2, 6}}},
		{"nested blocks", []string{
			"FROM base",  // 1
			"IF true",    // 2
			"FROM outer", // 3
			"IF true",    // 4
			"FROM inner", // 5
			"END",        // 6
			"RUN x",      // 7
			"END",        // 8
			"RUN y"},     // 9
			map[int][]int{7: {3, 5}, 9: {1, 3, 5}}},
		{"a FROM after END starts its own", []string{
			"IF true", "FROM a", "ELSE", "FROM b", "END", // 1-5
			"FROM c", // 6
			"RUN c"}, // 7
			map[int][]int{7: {6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := analyze(t, tc.file...)
			byLine := map[int]int{0: -1}
			for i, s := range f.Stages {
				byLine[s.Item.Line] = i
			}
			for _, it := range f.Syntax.Items {
				want, ok := tc.want[it.Line]
				if !ok {
					continue
				}
				var wantStages []int
				for _, l := range want {
					wantStages = append(wantStages, byLine[l])
				}
				if got := f.Owners(nil, it); !slices.Equal(got, wantStages) {
					t.Errorf("line %d (%s) may belong to stages %v, want %v", it.Line, it.Keyword, got, wantStages)
				}
				s, one := f.Owner(it)
				if one != (len(wantStages) == 1) || (one && s != wantStages[0]) {
					t.Errorf("line %d: Owner = %d, %t", it.Line, s, one)
				}
			}
		})
	}
}

// TestOwnersLimit: the lines after END may continue at most MaxOwners
// stages; one more is an error at the first such line, and the lists
// stay that short.
func TestOwnersLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ARG X=1\nFROM a\n")
	for i := range MaxOwners {
		fmt.Fprintf(&b, "IF X\nFROM s%d\nEND\n", i)
	}
	b.WriteString("RUN x\n")
	f, err := Analyze(context.Background(), "Dockerfile", []byte(b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("Dockerfile:%d: this line may continue any of more than %d stages", 3+3*MaxOwners, MaxOwners)) {
		t.Fatalf("want the limit's error at the RUN, got %v", err)
	}
	for _, j := range f.Joins() {
		if len(j.Stages) > MaxOwners+1 {
			t.Errorf("a join of %d stages", len(j.Stages))
		}
	}
}

// TestDeclarationAfterEnd: a condition after END reads the ARGs of the
// stages it may belong to; DeclarationIn picks the one a build decided.
func TestDeclarationAfterEnd(t *testing.T) {
	t.Parallel()
	f := analyze(t,
		"ARG E=dev",       // 1
		"FROM x AS other", // 2
		"ARG ONLY_OTHER=1",
		"IF E == 'dev'",   // 4
		"FROM a AS final", // 5
		"ARG V=1",         // 6
		"ELSE",            // 7
		"FROM b AS final", // 8
		"ARG V=0",         // 9
		"END",             // 10
		"RUN --if=V x")    // 11
	run := f.Syntax.Items[len(f.Syntax.Items)-1]
	if d := f.Declaration(run, "V"); d == nil || d.Item.Line != 9 {
		t.Errorf("Declaration(V) = %+v, want line 9 (the nearest of the stages it may belong to)", d)
	}
	for stage, line := range map[int]int{1: 6, 2: 9} {
		if d := f.DeclarationIn(run, "V", stage); d == nil || d.Item.Line != line {
			t.Errorf("DeclarationIn(V, stage %d) = %+v, want line %d", stage, d, line)
		}
	}
	if d := f.Declaration(run, "ONLY_OTHER"); d != nil {
		t.Errorf("ARG of stage other, which this line is never in, is seen: %+v", d)
	}
}
