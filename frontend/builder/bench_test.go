package builder

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/llbtest"
)

// benchRuns numbers the benchmark's runs across -count repetitions.
var benchRuns atomic.Int64

// BenchmarkGatewayConvert measures what a build does per platform for an
// extended file (converter.toLLB: the rewrite, stagefront's build rules
// beside the conversion, the conversion) against upstream's conversion of
// the rewrite, both with warnings on as in a build. hack/bench reports it
// next to convert_ratio (bench/convert_test.go, the engine alone).
func BenchmarkGatewayConvert(b *testing.B) {
	ctx := context.Background()
	ignore := func(string, string, string, string, []parser.Range) {}
	for _, stages := range []int{20, 200} {
		dt := llbtest.ExtendedDockerfile(stages)
		base := testConvertOpt(b, dt, nil, "", nil)
		base.Warn = ignore
		rw, err := rewrite.Rewrite(ctx, dt, rewrite.Options{TargetPlatform: base.BuildPlatforms[0], BuildPlatform: base.BuildPlatforms[0]})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("upstream/%d", stages), func(b *testing.B) {
			for b.Loop() {
				if _, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, (&converter{opt: base}).platformOpt(nil, true)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("gateway/%d", stages), func(b *testing.B) {
			for b.Loop() {
				// A file name of its own per run: a build process converts
				// a file once per platform, so the loop must not profit
				// from the engine's cache of prepared files.
				sm := *base.SourceMap
				sm.Filename = fmt.Sprintf("Dockerfile.%d", benchRuns.Add(1))
				opt := base
				opt.SourceMap = &sm
				cv := &converter{orig: dt, opt: opt}
				if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
