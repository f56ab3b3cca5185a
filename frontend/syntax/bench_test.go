package syntax

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/internal/llbtest"
)

// BenchmarkScan measures the extension scan alone (what ParseExpanded
// adds to BuildKit's parse) on the generated extended file of the
// conversion benchmarks, parsed once.
func BenchmarkScan(b *testing.B) {
	for _, stages := range []int{200, 500} {
		dt := llbtest.ExtendedDockerfile(stages)
		res, err := parser.Parse(bytes.NewReader(dt))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := scan("Dockerfile", dt, res, true, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
