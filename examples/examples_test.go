// Package examples_test checks, offline and without BuildKit, what the
// rewrite makes of every example under the build args and platforms its
// README documents: which lines stay, which stages are live, which gates a
// stage REQUIREs. The real builds are in e2e/examples_test.go (hack/e2e).
package examples_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
)

type variant struct {
	example  string
	args     map[string]string
	target   string
	arch     string // target architecture, amd64 when empty
	wantErr  string // the rewrite fails with this in its error
	has      []string
	hasNot   []string
	live     []string
	dead     []string
	requires map[string][]string // stage -> the stages its live REQUIREs name
	// dockerfile is the Dockerfile under the example's folder, when not
	// "Dockerfile" (an example of several services); contexts are named
	// contexts for INCLUDE --from=, relative to the example's folder.
	dockerfile string
	contexts   map[string]string
}

var variants = []variant{
	{example: "basic", live: []string{"builder", "production"}},
	{example: "named-stages", target: "production", live: []string{"dependencies", "builder", "tester", "production"}},
	{example: "parallel-stages", requires: map[string][]string{"production": {"tester"}}},
	{example: "multi-arch", arch: "amd64", has: []string{"ENV GOAMD64=v2", "COPY config/default.conf /app/server.conf"}, hasNot: []string{"GOARM64", "arm64.conf"}},
	{example: "multi-arch", arch: "arm64", has: []string{"ENV GOARM64=v8.0", "COPY config/arm64.conf /app/server.conf"}, hasNot: []string{"GOAMD64", "default.conf"}},
	{example: "conditional-stages", live: []string{"base", "builder", "production"}, dead: []string{"development", "invalid"}},
	{example: "conditional-stages", args: map[string]string{"BUILD_ENV": "development"}, live: []string{"development"}, dead: []string{"production", "invalid"}},
	{example: "conditional-stages", args: map[string]string{"BUILD_ENV": "staging"}, live: []string{"invalid"}, dead: []string{"development", "production"}},
	{example: "include-docs", has: []string{"COPY --from=docs-builder /docs/site /app/docs"}},
	{example: "include-docs", args: map[string]string{"INCLUDE_DOCS": "false"}, hasNot: []string{"--from=docs-builder"}},
	{example: "include-docs", args: map[string]string{"INCLUDE_DOCS": "maybe"}, wantErr: "maybe"},
	{example: "cache-mounts", has: []string{"    npm ci\n"}, hasNot: []string{"    npm install\n"}},
	{example: "shared-base", target: "backend", hasNot: []string{"apk add"}},
	{example: "go-testing", requires: map[string][]string{"production": {"tester", "security"}}},
	{example: "go-testing", args: map[string]string{"RUN_TESTS": "false"}, requires: map[string][]string{"production": nil}},
	{example: "python-wheels", requires: map[string][]string{"production": {"tester"}}},
	{example: "python-wheels", args: map[string]string{"RUN_TESTS": "off"}, requires: map[string][]string{"production": nil}},
	{example: "full-stack", target: "all", requires: map[string][]string{
		"all": {"frontend", "backend", "migrations"}, "backend": {"backend-tests"}, "migrations": {"migrations-check"}}},
	{example: "full-stack", target: "backend", args: map[string]string{"RUN_CHECKS": "false"}, requires: map[string][]string{"backend": nil}},
	{example: "size-comparison", target: "single-stage"},
	{example: "external-stages", live: []string{"external-base", "builder"}, has: []string{"COPY --from=external-base /tools /tools", "RUN /tools/bin/stamp"}},
	{example: "external-stages", args: map[string]string{"TOOLS_IMAGE": ""}, live: []string{"builder"}, dead: []string{"external-base"}, hasNot: []string{"--from=external-base", "/tools/bin/stamp"}},
	{example: "build-args", hasNot: []string{"/app/RELEASE", "must be development or production"}},
	{example: "build-args", args: map[string]string{"APP_VERSION": "1.2.3"}, has: []string{`RUN echo "release $APP_VERSION" > /app/RELEASE`}},
	{example: "build-args", args: map[string]string{"BUILD_ENV": "staging"}, has: []string{"must be development or production"}, hasNot: []string{"FROM ${BUILD_ENV} AS final"}},
	{example: "include-fragments", dockerfile: "api/Dockerfile", contexts: map[string]string{"fragments": "fragments"},
		live: []string{"deps", "builder", "tester", "production"}, has: []string{"CGO_ENABLED=0 go build -o /out/app .", "go test -v ./..."},
		requires: map[string][]string{"production": {"tester"}}},
	{example: "include-fragments", dockerfile: "worker/Dockerfile", contexts: map[string]string{"fragments": "fragments"}, args: map[string]string{"RUN_TESTS": "false"},
		live: []string{"deps", "builder", "production"}, hasNot: []string{"go test -v ./..."}, requires: map[string][]string{"production": nil}},
}

func TestExamplesRewrite(t *testing.T) {
	for _, v := range variants {
		name := v.example
		for k, val := range v.args {
			name += " " + k + "=" + val
		}
		if v.target != "" {
			name += " --target " + v.target
		}
		if v.arch != "" {
			name += " " + v.arch
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(".", v.example)
			dockerfile := filepath.Join(dir, "Dockerfile")
			if v.dockerfile != "" {
				dockerfile = filepath.Join(dir, v.dockerfile)
			}
			src, err := os.ReadFile(dockerfile)
			if err != nil {
				t.Fatal(err)
			}
			// Fragments as the CLI reads them: beside the Dockerfile, and
			// the named contexts.
			frags := &contextfs.DirFragments{Dirs: map[string]string{"": filepath.Dir(dockerfile)}}
			for name, d := range v.contexts {
				frags.Dirs[name] = filepath.Join(dir, d)
			}
			dc, err := contextfs.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			arch := v.arch
			if arch == "" {
				arch = "amd64"
			}
			res, err := rewrite.Expand(context.Background(), dockerfile, src, rewrite.Options{
				Filename:       dockerfile,
				BuildArgs:      v.args,
				TargetPlatform: ocispecs.Platform{OS: "linux", Architecture: arch},
				BuildPlatform:  ocispecs.Platform{OS: "linux", Architecture: "amd64"},
				Target:         v.target,
				Context:        contextfs.NewContext(dc),
			}, frags)
			if v.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), v.wantErr) {
					t.Fatalf("error = %v, want one that mentions %q", err, v.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Sources != nil {
				src = res.Sources.Data // the Dockerfile and its fragments
			}
			if got, want := bytes.Count(res.Dockerfile, []byte("\n")), bytes.Count(src, []byte("\n")); got != want {
				t.Errorf("the rewrite has %d lines, the example %d: lines must not move", got, want)
			}
			out := string(res.Dockerfile)
			for _, s := range v.has {
				if !strings.Contains(out, s) {
					t.Errorf("the rewrite lacks %q:\n%s", s, out)
				}
			}
			for _, s := range v.hasNot {
				if strings.Contains(out, s) {
					t.Errorf("the rewrite still has %q:\n%s", s, out)
				}
			}
			stages := map[string]rewrite.Stage{}
			for _, s := range res.Stages {
				if s.Name != "" && (s.Live || stages[s.Name].Name == "") {
					stages[s.Name] = s
				}
			}
			for _, n := range v.live {
				if s, ok := stages[n]; !ok || !s.Live {
					t.Errorf("stage %s: live %v, want live", n, s.Live)
				}
			}
			for _, n := range v.dead {
				if s, ok := stages[n]; !ok || s.Live {
					t.Errorf("stage %s: found %v live %v, want it there and off", n, ok, s.Live)
				}
			}
			for stage, want := range v.requires {
				var got []string
				for _, r := range stages[stage].Requires {
					got = append(got, r.Stage)
				}
				slices.Sort(got)
				want = slices.Clone(want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("stage %s requires %v, want %v", stage, got, want)
				}
			}
		})
	}
}

// TestExamplesEveryFolder: each folder has a test variant above and the
// pieces an example must have.
func TestExamplesEveryFolder(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !slices.ContainsFunc(variants, func(v variant) bool { return v.example == e.Name() }) {
			t.Errorf("examples/%s has no variant in TestExamplesRewrite", e.Name())
		}
		// Its Dockerfile, or those of its services (the variants name them).
		files := []string{"Dockerfile"}
		for _, v := range variants {
			if v.example == e.Name() && v.dockerfile != "" && !slices.Contains(files, v.dockerfile) {
				files = append(files, v.dockerfile)
			}
		}
		if len(files) > 1 {
			files = files[1:]
		}
		for _, name := range files {
			df, err := os.ReadFile(filepath.Join(e.Name(), name))
			if err != nil {
				t.Error(err)
				continue
			}
			if first, _, _ := strings.Cut(string(df), "\n"); first != "# syntax=org/stagefront" {
				t.Errorf("examples/%s/%s starts with %q, want # syntax=org/stagefront", e.Name(), name, first)
			}
		}
		readme, err := os.ReadFile(filepath.Join(e.Name(), "README.md"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(readme), "docker buildx build --builder stagefront") {
			t.Errorf("examples/%s/README.md has no docker buildx build --builder stagefront command", e.Name())
		}
		index, _ := os.ReadFile("README.md")
		if !strings.Contains(string(index), "]("+e.Name()+")") {
			t.Errorf("examples/README.md does not link %s", e.Name())
		}
	}
}
