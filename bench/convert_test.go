// Package bench holds stagefront's in-process benchmarks against the upstream
// converter. hack/bench runs them (with the build benchmarks against a real
// BuildKit) and writes bench/results.json.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/llbtest"
)

// generate returns the generated extended Dockerfile of frontend/rewrite's
// benchmark, with the given number of stages of 20 instructions.
func generate(stages int) []byte { return llbtest.ExtendedDockerfile(stages) }

// fresh counts rewrites, so that each gets a file name of its own: the
// engine caches prepared files by name and content, and a gateway process
// converts a file once per platform, so a benchmark loop must not profit
// from that cache.
var fresh atomic.Int64

func rewriteOptions() rewrite.Options {
	p := platforms.Normalize(platforms.DefaultSpec())
	return rewrite.Options{
		Filename:       fmt.Sprintf("Dockerfile.%d", fresh.Add(1)),
		TargetPlatform: p,
		BuildPlatform:  p,
	}
}

// convertStagefront is what frontend/builder's converter does for one
// platform: rewrite the extended file, convert the rewrite upstream's way.
func convertStagefront(ctx context.Context, dt []byte) (*dockerfile2llb.Result, error) {
	rw, err := rewrite.Rewrite(ctx, dt, rewriteOptions())
	if err != nil {
		return nil, err
	}
	return dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, llbtest.ConvertOpt(llbtest.Options{}))
}

// convertUpstream is upstream's conversion of the same, already rewritten,
// standard file: upstream cannot read the extended one, and converting the
// rewrite gives both sides the same LLB to produce, so the difference is the
// rewrite alone.
func convertUpstream(ctx context.Context, std []byte) (*dockerfile2llb.Result, error) {
	return dockerfile2llb.Dockerfile2LLB(ctx, std, llbtest.ConvertOpt(llbtest.Options{}))
}

func rewritten(tb testing.TB, dt []byte) []byte {
	tb.Helper()
	rw, err := rewrite.Rewrite(context.Background(), dt, rewriteOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return rw.Dockerfile
}

// BenchmarkConvert compares the full conversion of an extended file (rewrite
// + dockerfile2llb) with dockerfile2llb alone on its rewrite; the goal is
// stagefront/upstream <= 1.10 at 200 stages. STAGES sizes: 200 (the goal's)
// and 20 (the smoke run's). What the gateway adds around the engine (its
// build rules) is measured by frontend/builder's BenchmarkGatewayConvert.
func BenchmarkConvert(b *testing.B) {
	for _, stages := range []int{20, 200} {
		dt := generate(stages)
		std := rewritten(b, dt)
		ctx := context.Background()
		b.Run(fmt.Sprintf("upstream/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := convertUpstream(ctx, std); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("stagefront/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := convertStagefront(ctx, dt); err != nil {
					b.Fatal(err)
				}
			})
		})
		// Both, op against op (llbtest.Interleaved): ratio is
		// stagefront/upstream; then the parse against upstream, whose
		// ratio plus 1 is the floor.
		b.Run(fmt.Sprintf("pairs/%d-interleaved", stages), func(b *testing.B) {
			llbtest.Interleaved(b, func() {
				if _, err := convertStagefront(ctx, dt); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if _, err := convertUpstream(ctx, std); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("parse-pairs/%d-interleaved", stages), func(b *testing.B) {
			llbtest.Interleaved(b, func() {
				if _, err := parser.Parse(bytes.NewReader(dt)); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if _, err := convertUpstream(ctx, std); err != nil {
					b.Fatal(err)
				}
			})
		})
		// The parse of the extended file alone: the least the engine can
		// add to a conversion while dockerfile2llb takes only bytes.
		b.Run(fmt.Sprintf("parse/%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := parser.Parse(bytes.NewReader(dt)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// TestConvertSame checks the benchmark's premise on a small file: the
// rewrite keeps every line, and both sides produce the same LLB.
func TestConvertSame(t *testing.T) {
	dt := generate(5)
	std := rewritten(t, dt)
	if strings.Count(string(std), "\n") != strings.Count(string(dt), "\n") {
		t.Fatal("the rewrite moved lines")
	}
	ctx := context.Background()
	digestOf := func(res *dockerfile2llb.Result, err error) digest.Digest {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		def, err := res.State.Marshal(ctx, llb.LocalUniqueID("bench"))
		if err != nil {
			t.Fatal(err)
		}
		h := digest.Canonical.Digester()
		for _, op := range def.Def {
			h.Hash().Write(op)
		}
		return h.Digest()
	}
	if a, b := digestOf(convertStagefront(ctx, dt)), digestOf(convertUpstream(ctx, std)); a != b {
		t.Fatalf("LLB differs: stagefront %s, upstream %s", a, b)
	}
}
