package lsp

import (
	"strings"
	"testing"

	"github.com/org/stagefront/internal/llbtest"
	"go.lsp.dev/protocol"
)

// BenchmarkDiagnostics is the time from a change of a 2,000-line extended
// Dockerfile (llbtest.ExtendedDockerfile, as rewrite's benchmarks) to its diagnostics, published:
// the whole pipeline (analysis, rewrite, upstream's checks and
// stagefront's) over the protocol, in-process, with the debounce off (it
// only delays the changes of a burst). hack/bench reports it as
// lsp_diagnostics_ms.
func BenchmarkDiagnostics(b *testing.B) {
	zero := 0
	c := newClient(b, Settings{DebounceMs: &zero})
	df := string(llbtest.ExtendedDockerfile(2000 / 20))
	// The second text differs by a character, as a keystroke makes it.
	texts := [2]string{df, strings.Replace(df, "\nRUN ", "\nRUN  ", 1)}
	c.write(map[string]string{"Dockerfile": texts[0], ".dockerignore": ".git\n"})
	c.open("Dockerfile", "")
	c.diagnostics("Dockerfile", func([]protocol.Diagnostic) bool { return true })
	i := 0
	for b.Loop() {
		i++
		c.edit("Dockerfile", texts[i%2])
		c.diagnostics("Dockerfile", func([]protocol.Diagnostic) bool { return true })
	}
}
