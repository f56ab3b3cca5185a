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
		{RefFrom, "a", 1, all, []int{0}},         // only stages before the FROM
		{RefFrom, "a", 4, all, []int{2}},         // the last of them
		{RefFrom, "a", 4, nil, []int{0, 2}},      // any, for questions over all values
		{RefFrom, "a", 4, notFirst, []int{2}},    // live ones only
		{RefFrom, "later", 1, all, nil},          // a later stage: an image
		{RefCopy, "later", 1, all, []int{3}},     // COPY --from looks everywhere
		{RefCopy, "1", 4, all, []int{1}},         // by index
		{RefCopy, "7", 4, all, nil},              // no such index
		{RefMount, "1", 4, all, nil},             // a number is a name for mounts
		{RefMount, "b", 4, all, []int{1}},        // by name
		{RefRequire, "a", 1, notFirst, []int{2}}, // REQUIRE names any live one
		{RefCopy, "busybox", 4, all, nil},        // an image
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
// it panics (issue 13).
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
