package rewrite

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/internal/llbtest"
)

// generateExtended returns an extended Dockerfile of about n
// instructions, keywords included (stages of 20).
func generateExtended(n int) []byte { return llbtest.ExtendedDockerfile((n + 19) / 20) }

// rewriteWith is Rewrite with the analysis options ao.
func rewriteWith(dt []byte, ao analysis.Options, opt Options) (*Result, error) {
	f, err := analysis.Analyze(context.Background(), "Dockerfile", dt, ao)
	if f == nil {
		return nil, err
	}
	return Evaluate(context.Background(), f, opt)
}

// BenchmarkRewrite compares a full rewrite (parse, compile, evaluate,
// write) with parser.Parse alone, on the same generated file; the goal is
// rewrite/parse <= 1.5 at 10k instructions and linear growth to 100k.
func BenchmarkRewrite(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		dt := generateExtended(n)
		b.Run(fmt.Sprintf("parse/%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(dt)))
			llbtest.LoopCPU(b, func() {
				if _, err := parser.Parse(bytes.NewReader(dt)); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("rewrite/%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(dt)))
			llbtest.LoopCPU(b, func() {
				if _, err := Rewrite(context.Background(), dt, Options{}); err != nil {
					b.Fatal(err)
				}
			})
		})
		// Both, op against op (llbtest.Interleaved): ratio is rewrite/parse.
		b.Run(fmt.Sprintf("pairs/%dk-interleaved", n/1000), func(b *testing.B) {
			llbtest.Interleaved(b, func() {
				if _, err := Rewrite(context.Background(), dt, Options{}); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if _, err := parser.Parse(bytes.NewReader(dt)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkEvaluate measures the evaluation alone (Evaluate: deciding the
// lines and writing the rewrite) of the generated extended file of the
// conversion benchmarks, analysed once.
func BenchmarkEvaluate(b *testing.B) {
	for _, stages := range []int{200, 500} {
		f, err := analysis.Analyze(context.Background(), "Dockerfile", llbtest.ExtendedDockerfile(stages), analysis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := Evaluate(context.Background(), f, Options{}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func TestGeneratedFileRewrites(t *testing.T) {
	dt := generateExtended(2000)
	res, err := Rewrite(context.Background(), dt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Extended || bytes.Count(res.Dockerfile, []byte("\n")) != bytes.Count(dt, []byte("\n")) {
		t.Fatal("bad rewrite of the generated file")
	}
}
