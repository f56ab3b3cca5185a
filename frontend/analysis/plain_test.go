package analysis

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/fuzzseed"
	"github.com/org/stagefront/internal/llbtest"
)

// plainAsAnalysed is what syntax.Plain must prove: the analysis finds no
// extension, nothing a variable names as a stage, no INCLUDE.
func plainAsAnalysed(dt []byte) (plain, parsed bool) {
	f, _ := Analyze(context.Background(), "Dockerfile", dt, Options{})
	if f == nil {
		return false, false
	}
	return !f.Extended() && !f.Syntax.HasVarFlags && !f.SelectsByVar && !f.Syntax.Includes, true
}

// TestPlain: the scan never calls a file plain that the analysis finds
// extended, and it calls plain the standard files users write.
func TestPlain(t *testing.T) {
	for _, tc := range []struct {
		name, dt string
		plain    bool
	}{
		{"standard", "FROM golang:1.26 AS build\nRUN go build\nFROM scratch\nCOPY --from=build /app /app\n", true},
		{"a variable outside FROM and from=", "ARG V=1\nFROM busybox\nRUN echo $V ${HOME}\nENV A=$V\n", true},
		{"a FROM from a variable", "ARG BASE=busybox\nFROM $BASE\n", false},
		{"a FROM whose variable is on a continuation", "ARG BASE=busybox\nFROM \\\n  ${BASE}\n", false},
		{"COPY --from= a variable", "ARG S=a\nFROM busybox AS a\nFROM busybox\nCOPY --from=${S} / /\n", false},
		{"a mount from a variable", "FROM busybox\nRUN --mount=type=bind,from=$S,target=/m true\n", false},
		{"IF", "FROM busybox\nif A\nRUN x\nend\n", false},
		{"--if", "FROM busybox\nRUN --if=A x\n", false},
		{"--IF in any case", "FROM busybox\nRUN --IF=A x\n", false},
		{"REQUIRE", "FROM busybox\nREQUIRE a\n", false},
		{"INCLUDE", "INCLUDE a.Dockerfile\n", false},
		{"a keyword split by a continuation", "FROM busybox AS a\nINC\\\nLUDE x\n", false},
		{"a shell if in a continuation (false, safely)", "FROM busybox\nRUN true \\\n  if true; then echo; fi\n", false},
		{"a shell if after &&", "FROM busybox\nRUN true \\\n  && if true; then echo; fi\n", true},
		{"FROM --platform= a variable", "FROM --platform=$BUILDPLATFORM busybox AS a\nFROM --platform=${TARGETPLATFORM} a\n", true},
		{"FROM --platform= and a variable base", "FROM --platform=$BUILDPLATFORM ${BASE}\n", false},
		{"a stage named by a variable", "FROM busybox AS $N\n", false},
		{"a quoted from=", "FROM busybox\nRUN --mount=type=bind,\"from=$S\",target=/m true\n", false},
		{"COPY --from= a stage, a variable elsewhere", "FROM busybox AS a\nFROM busybox\nCOPY --from=a /$HOME /x\n", true},
		{"a BOM", "\ufeffFROM busybox\n", true},
		{"no newline at the end", "FROM busybox\nRUN true", true},
		{"the escape directive", "# escape=`\nFROM busybox\nRUN echo a `\n  b\n", true},
		{"an empty file", "", true},
	} {
		if got := syntax.Plain([]byte(tc.dt)); got != tc.plain {
			t.Errorf("%s: Plain = %t, want %t", tc.name, got, tc.plain)
		}
		if plain, parsed := plainAsAnalysed([]byte(tc.dt)); parsed && syntax.Plain([]byte(tc.dt)) && !plain {
			t.Errorf("%s: the scan says plain, the analysis does not", tc.name)
		}
	}

	// Every Dockerfile at hand: BuildKit's, the examples, the seeds.
	files, err := llbtest.ModuleCacheDockerfiles()
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Glob("../../examples/*/Dockerfile")
	files = append(files, examples...)
	var plain, checked int
	for _, name := range files {
		dt, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		isPlain, parsed := plainAsAnalysed(dt)
		if !parsed {
			continue
		}
		checked++
		if syntax.Plain(dt) {
			plain++
			if !isPlain {
				t.Errorf("%s: the scan says plain, the analysis finds an extension", name)
			}
		}
	}
	for _, dt := range fuzzseed.HostileSeeds("FROM busybox") {
		if isPlain, parsed := plainAsAnalysed(dt); parsed && syntax.Plain(dt) && !isPlain {
			t.Errorf("a hostile seed: the scan says plain, the analysis does not:\n%.300s", dt)
		}
	}
	if checked < 100 || plain < checked/2 {
		t.Errorf("of %d files, the scan found %d plain: want at least 100 files, most of them plain", checked, plain)
	}
	t.Logf("%d files, %d plain by the scan", checked, plain)
}

// FuzzPlain: on files of extension constructs (fuzzseed.Generate), the
// scan never calls plain a file the analysis finds extended.
func FuzzPlain(f *testing.F) {
	for _, seed := range fuzzseed.GeneratedSeeds() {
		f.Add(seed, []byte(nil))
	}
	f.Add([]byte{}, []byte("FROM \\\n $X\n"))
	f.Fuzz(func(t *testing.T, prog, raw []byte) {
		for _, dt := range [][]byte{fuzzseed.Generate(prog), raw} {
			if isPlain, parsed := plainAsAnalysed(dt); parsed && syntax.Plain(dt) && !isPlain {
				t.Fatalf("the scan says plain, the analysis does not:\n%q", dt)
			}
		}
	})
}
