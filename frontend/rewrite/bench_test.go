package rewrite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// GenerateExtended returns an extended Dockerfile of about n instructions
// (keywords included): stages of 20 instructions with ARGs, guarded RUNs
// and COPYs, IF/ELSE blocks and shell ifs in continuations.
func GenerateExtended(n int) []byte {
	var b strings.Builder
	b.WriteString("# syntax=org/stagefront\n# INCLUDE_DOCS adds docs.\nARG INCLUDE_DOCS=true\nARG BUILD_ENV=production\n")
	count := 2
	for s := 0; count < n; s++ {
		fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM busybox AS s%d\n", s)
		fmt.Fprintf(&b, "ARG V%d=%d\n", s, s)
		fmt.Fprintf(&b, "RUN --if=INCLUDE_DOCS echo docs %d\n", s)
		fmt.Fprintf(&b, "IF BUILD_ENV == 'development' && V%d != ''\n", s)
		fmt.Fprintf(&b, "RUN echo dev %d\n", s)
		fmt.Fprintf(&b, "ELSE IF TARGETARCH == 'arm64'\n")
		fmt.Fprintf(&b, "RUN echo arm %d\n", s)
		fmt.Fprintf(&b, "ELSE\n")
		fmt.Fprintf(&b, "RUN if [ -f /x ]; then \\\n  echo prod; \\\nfi\n")
		fmt.Fprintf(&b, "END\n")
		if s > 0 {
			fmt.Fprintf(&b, "COPY --if=\"BUILD_ENV in ['production', 'staging']\" --from=s%d /out /in\n", s-1)
		} else {
			fmt.Fprintf(&b, "COPY --if=\"BUILD_ENV in ['production', 'staging']\" a /in\n")
		}
		for i := 0; i < 6; i++ {
			fmt.Fprintf(&b, "RUN echo step %d %d\n", s, i)
		}
		fmt.Fprintf(&b, "ENV S%d=%d\n", s, s)
		fmt.Fprintf(&b, "WORKDIR /w%d\n", s)
		fmt.Fprintf(&b, "COPY --if=!INCLUDE_DOCS x /x\n")
		count += 20
	}
	return []byte(b.String())
}

// rewriteUncached is Rewrite without the content cache, for benchmarks.
func rewriteUncached(dt []byte, opt Options) (*Result, error) {
	p, err := prepareUncached("Dockerfile", dt)
	if err != nil {
		return nil, err
	}
	return evaluate(context.Background(), p, dt, opt)
}

// BenchmarkRewrite compares a full rewrite (parse, compile, evaluate,
// write) with parser.Parse alone, on the same generated file; the goal is
// rewrite/parse <= 1.5 at 10k instructions and linear growth to 100k.
func BenchmarkRewrite(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		dt := GenerateExtended(n)
		b.Run(fmt.Sprintf("parse/%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(dt)))
			for b.Loop() {
				if _, err := parser.Parse(bytes.NewReader(dt)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rewrite/%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(dt)))
			for b.Loop() {
				if _, err := rewriteUncached(dt, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestGeneratedFileRewrites(t *testing.T) {
	dt := GenerateExtended(2000)
	res, err := rewriteUncached(dt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Extended || bytes.Count(res.Dockerfile, []byte("\n")) != bytes.Count(dt, []byte("\n")) {
		t.Fatal("bad rewrite of the generated file")
	}
}
