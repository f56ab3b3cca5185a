package rewrite

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/internal/llbtest"
)

// TestGraphMatchesLLB is the differential test of the one stage graph:
// for every corpus Dockerfile and many generated extended ones, for every
// target and several sets of values, the stages the analysis says a build
// converts (the target, what it builds on, and its REQUIRE gates) are
// exactly the stages whose steps appear in the LLB that dockerfile2llb
// makes of the rewrite for the target and for each gate.
func TestGraphMatchesLLB(t *testing.T) {
	t.Parallel()
	type input struct {
		name string
		dt   []byte
		args []map[string]string
	}
	var inputs []input
	for name, dt := range corpus(t) {
		inputs = append(inputs, input{name, dt, []map[string]string{nil}})
	}
	rng := rand.New(rand.NewPCG(11, 42))
	for i := range 300 {
		dt, args := generateGraphFile(rng)
		inputs = append(inputs, input{fmt.Sprintf("generated-%d", i), dt, args})
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].name < inputs[j].name })

	ctx := context.Background()
	p := platforms.MustParse("linux/amd64")
	compared := 0
	for _, in := range inputs {
		f, _ := analysis.Analyze(context.Background(), "Dockerfile", in.dt, analysis.Options{})
		if f == nil {
			continue
		}
		targets := append([]string{""}, f.StageNames()...)
		for _, args := range in.args {
			for _, target := range targets {
				rw, err := Evaluate(ctx, f, Options{BuildArgs: args, Target: target, TargetPlatform: p, BuildPlatform: p})
				if err != nil {
					continue // these values make an error: nothing is converted
				}
				final := rw.Final()
				if final < 0 {
					continue
				}
				reach, gates := rw.Graph().Reach(final)
				want := map[int]bool{}
				for i, r := range reach {
					if r && makesSteps(rw, i) {
						want[i] = true
					}
				}
				got := map[int]bool{}
				ok := true
				for _, tgt := range append([]string{target}, gateNames(rw, gates)...) {
					stages, err := stagesWithSteps(ctx, rw, tgt, args, &p)
					if err != nil {
						ok = false // needs a named context or an arg this test does not give
						break
					}
					maps.Copy(got, stages)
				}
				if !ok {
					continue
				}
				compared++
				if !maps.Equal(want, got) {
					t.Errorf("%s, target %q, args %v: the analysis converts stages %v, the LLB has steps of %v\n%s",
						in.name, target, args, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)), rw.Dockerfile)
				}
			}
		}
	}
	t.Logf("%d conversions compared", compared)
	if compared < 500 {
		t.Fatalf("only %d conversions compared", compared)
	}
}

func gateNames(rw *Result, gates []int) []string {
	var out []string
	for _, g := range gates {
		out = append(out, rw.Analysis.Stages[g].Name)
	}
	return out
}

// makesSteps reports whether stage i of a rewrite has an instruction that
// is a step of its own in the LLB: FROM an image, RUN, COPY, ADD or WORKDIR.
func makesSteps(rw *Result, i int) bool {
	f := rw.Analysis
	st := f.Stages[i]
	if len(rw.Chain(i)) == 1 {
		if base, ok := rw.ExpandGlobal(st.Base); ok && !strings.EqualFold(base, "scratch") {
			return true
		}
	}
	for _, it := range f.Syntax.Items {
		if rw.Owner(it) == i && (it.Keyword == "run" || it.Keyword == "copy" || it.Keyword == "add" || it.Keyword == "workdir") {
			return true
		}
	}
	return false
}

// stagesWithSteps converts the rewrite for target and returns the stages
// (of the analysis) that the LLB's steps come from, by their source
// locations.
func stagesWithSteps(ctx context.Context, rw *Result, target string, args map[string]string, p *ocispecs.Platform) (map[int]bool, error) {
	opt := llbtest.ConvertOpt(llbtest.Options{BuildArgs: args, Target: target, Platform: p})
	opt.SourceMap = llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", rw.Dockerfile)
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
	if err != nil {
		return nil, err
	}
	def, err := res.State.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	if def.Source == nil {
		return out, nil
	}
	// A line of the rewrite is in the last stage above it that the
	// rewrite keeps, as the converter reads it.
	var live []int
	for _, st := range rw.Analysis.Stages {
		if rw.StageLive(st.Index) {
			live = append(live, st.Index)
		}
	}
	stages := rw.Analysis.Stages
	for _, locs := range def.Source.Locations {
		for _, loc := range locs.Locations {
			for _, r := range loc.Ranges {
				line := int(r.Start.Line)
				i := sort.Search(len(live), func(i int) bool { return stages[live[i]].Item.Line > line }) - 1
				if i >= 0 {
					out[live[i]] = true
				}
			}
		}
	}
	return out, nil
}

// generateGraphFile writes an extended Dockerfile whose stages refer to
// each other in every way a file can (FROM a stage, COPY --from by name,
// by index and by a stage ARG, RUN --mount=from=, REQUIRE), some of them
// under conditions, with a stage after the default target now and then,
// and the sets of values to build it with.
func generateGraphFile(rng *rand.Rand) ([]byte, []map[string]string) {
	n := 2 + rng.IntN(7)
	var b strings.Builder
	b.WriteString("# syntax=org/stagefront\nARG A=true\nARG B=false\nARG PICK=s0\n")
	name := func(i int) string { return fmt.Sprintf("s%d", i) }
	guard := func() string {
		switch rng.IntN(6) {
		case 0:
			return "--if=A "
		case 1:
			return "--if=!B "
		}
		return ""
	}
	from := func(i int) {
		switch {
		case i > 0 && rng.IntN(4) == 0:
			fmt.Fprintf(&b, "FROM %s AS %s\n", name(rng.IntN(i)), name(i))
		case rng.IntN(5) == 0:
			fmt.Fprintf(&b, "FROM scratch AS %s\n", name(i))
		default:
			fmt.Fprintf(&b, "FROM busybox AS %s\n", name(i))
		}
	}
	for i := range n {
		conditional := i > 0 && i < n-1 && rng.IntN(5) == 0
		// A block may end before the stage's references: they continue
		// the stage live after END (an alternative of the same name, or
		// the stage before the IF).
		endEarly := conditional && rng.IntN(2) == 0
		if conditional {
			b.WriteString("IF A\n")
		}
		from(i)
		fmt.Fprintf(&b, "RUN %secho %d > /f%d\n", guard(), i, i)
		if endEarly {
			if rng.IntN(2) == 0 {
				b.WriteString("ELSE\n")
				from(i)
				fmt.Fprintf(&b, "RUN echo else %d > /e%d\n", i, i)
			}
			b.WriteString("END\n")
		}
		for range rng.IntN(3) {
			if i == 0 {
				break
			}
			j := rng.IntN(i)
			switch rng.IntN(5) {
			case 0:
				fmt.Fprintf(&b, "COPY %s--from=%s / /from%d\n", guard(), name(j), j)
			case 1:
				fmt.Fprintf(&b, "COPY %s--from=%d / /from%d\n", guard(), j, j)
			case 2:
				fmt.Fprintf(&b, "ARG SRC=%s\nCOPY --from=${SRC} / /src\n", name(j))
			case 3:
				fmt.Fprintf(&b, "RUN %s--mount=from=%s,target=/m true\n", guard(), name(j))
			case 4:
				fmt.Fprintf(&b, "REQUIRE %s%s\n", guard(), name(j))
			}
		}
		if conditional && !endEarly {
			b.WriteString("END\n")
		}
	}
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "FROM busybox AS trailing\nARG SRC=%s\nRUN echo trailing\n", name(0))
	}
	return []byte(b.String()), []map[string]string{nil, {"A": "false"}, {"B": "true"}}
}
