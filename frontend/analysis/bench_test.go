package analysis

import (
	"context"
	"fmt"
	"testing"

	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/llbtest"
)

// BenchmarkAnalyzeParsed measures the analysis alone (what Analyze adds
// to the parse and the extension scan) on the generated extended file of
// the conversion benchmarks, parsed once.
func BenchmarkAnalyzeParsed(b *testing.B) {
	for _, stages := range []int{200, 500} {
		dt := llbtest.ExtendedDockerfile(stages)
		sf, err := syntax.ParseExpanded("Dockerfile", dt, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d", stages), func(b *testing.B) {
			llbtest.LoopCPU(b, func() {
				if _, err := analyzeParsed(context.Background(), sf, nil, Options{}, false, len(dt)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
