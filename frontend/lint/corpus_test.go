package lint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/llbtest"
)

// TestCorpus runs every rule on every Dockerfile of the Go module cache
// (BuildKit's, Docker's, buildx's, ...) and on the engine's fuzz seeds:
// no panic, every finding at a line of the file. With -v it prints how
// often each rule fires, to judge the noise on real files.
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the module cache")
	}
	files, err := llbtest.ModuleCacheDockerfiles()
	if err != nil {
		t.Fatal(err)
	}
	seeds, _ := filepath.Glob("../rewrite/testdata/fuzz/*/*")
	files = append(files, seeds...)
	counts := map[string]int{}
	checked := 0
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	for _, f := range files {
		dt, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.Contains(f, "testdata/fuzz") {
			dt = fuzzSeed(dt)
		}
		fa, _ := analysis.Analyze(context.Background(), "Dockerfile", dt, analysis.Options{})
		if fa == nil {
			continue // BuildKit's parser rejects it: nothing to check
		}
		rw, err := rewrite.Evaluate(context.Background(), fa, rewrite.Options{TargetPlatform: p, BuildPlatform: p})
		if err != nil {
			rw = nil // the structural rules still run
		}
		cfg, err := Config(dt, nil)
		if err != nil {
			cfg = &linter.Config{}
		}
		lines := bytes.Count(dt, []byte("\n")) + 1
		no := false
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", f, r)
				}
			}()
			_, err = Run(context.Background(), &Input{Analysis: fa, Rewrite: rw, Dockerignore: &no}, cfg, func(rule, _, _, msg string, loc []parser.Range) {
				counts[rule]++
				if os.Getenv("LINT_SHOW") != "" && strings.Contains(os.Getenv("LINT_SHOW"), rule) {
					t.Logf("%s:%d %s: %s", f, loc[0].Start.Line, rule, msg)
				}
				for _, r := range loc {
					if r.Start.Line < 1 || r.Start.Line > lines {
						t.Errorf("%s: %s at line %d of %d", f, rule, r.Start.Line, lines)
					}
				}
			})
		}()
		checked++
	}
	var names []string
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-28s %d", n, counts[n])
	}
	t.Logf("%d files checked", checked)
	// The module cache holds hundreds of Dockerfiles (BuildKit's,
	// Docker's, ...): a run over few of them proves little.
	if checked < 100 {
		t.Fatalf("only %d files checked; run `go mod download` first", checked)
	}
}

// fuzzSeed extracts the Dockerfile of a `go test fuzz v1` seed file.
func fuzzSeed(dt []byte) []byte {
	s := string(dt)
	i := strings.Index(s, "[]byte(")
	if i < 0 {
		return dt
	}
	s = strings.TrimSuffix(strings.TrimSpace(s[i+len("[]byte("):]), ")")
	if u, err := strconvUnquote(s); err == nil {
		return []byte(u)
	}
	return dt
}

func strconvUnquote(s string) (string, error) { return strconv.Unquote(s) }
