package builder

import (
	"context"
	"fmt"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/llbtest"
)

// BenchmarkGatewayConvert measures what a build does per platform for an
// extended file, and for a standard one (plain-*), (converter.toLLB: the rewrite, stagefront's build rules
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
			llbtest.LoopCPU(b, func() {
				if _, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, (&converter{opt: base}).platformOpt(nil, true)); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("gateway/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				// A converter of its own per run, as a build has: it
				// analyses the file once, then converts a platform.
				cv := &converter{orig: dt, opt: base}
				if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
					b.Fatal(err)
				}
			})
		})
		// Both, op against op (llbtest.Interleaved): ratio is
		// gateway/upstream.
		b.Run(fmt.Sprintf("pairs/%d-interleaved", stages), func(b *testing.B) {
			llbtest.Interleaved(b, func() {
				cv := &converter{orig: dt, opt: base}
				if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if _, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, (&converter{opt: base}).platformOpt(nil, true)); err != nil {
					b.Fatal(err)
				}
			})
		})

		// A standard file of the same shape: what it costs through
		// stagefront over upstream (plain_convert_ratio).
		plain := llbtest.StandardDockerfile(stages)
		plainOpt := testConvertOpt(b, plain, nil, "", nil)
		plainOpt.Warn = ignore
		b.Run(fmt.Sprintf("plain-upstream/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := dockerfile2llb.Dockerfile2LLB(ctx, plain, (&converter{opt: plainOpt}).platformOpt(nil, true)); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("plain-gateway/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				cv := &converter{orig: plain, opt: plainOpt}
				if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("plain-pairs/%d-interleaved", stages), func(b *testing.B) {
			llbtest.Interleaved(b, func() {
				cv := &converter{orig: plain, opt: plainOpt}
				if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if _, err := dockerfile2llb.Dockerfile2LLB(ctx, plain, (&converter{opt: plainOpt}).platformOpt(nil, true)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
