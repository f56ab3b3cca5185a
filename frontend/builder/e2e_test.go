//go:build e2e

package builder

// Client-mode tests: our Build runs in the test process against the real
// buildkitd of hack/buildkit-up, no image push needed.
//
//	go test -tags e2e -run E2E ./frontend/builder/

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/tonistiigi/fsutil"
)

const buildkitAddr = "unix:///run/stagefront/buildkitd.sock"

func e2eClient(t *testing.T) *bkclient.Client {
	t.Helper()
	if _, err := os.Stat(strings.TrimPrefix(buildkitAddr, "unix://")); err != nil {
		t.Skipf("no buildkitd: %v (run hack/buildkit-up)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bkclient.New(ctx, buildkitAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(ctx); err != nil {
		t.Skipf("buildkitd does not answer: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// writeTree creates files (path -> content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listTree lists the files under dir, relative, sorted.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

type run struct {
	res      *gateway.Result
	vertices []string
	warnings []string
	outDir   string
}

// solve runs fn (our Build, or upstream's) with the context dir, attrs,
// and a local export when export is set.
func solve(t *testing.T, c *bkclient.Client, fn gateway.BuildFunc, dir string, attrs map[string]string, export bool) (*run, error) {
	t.Helper()
	return solveWith(t, c, fn, dir, nil, attrs, export)
}

// solveWith is solve with extra local mounts (name -> dir).
func solveWith(t *testing.T, c *bkclient.Client, fn gateway.BuildFunc, dir string, locals map[string]string, attrs map[string]string, export bool) (*run, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{}
	opt := bkclient.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		FrontendAttrs: attrs,
	}
	for name, d := range locals {
		lfs, err := fsutil.NewFS(d)
		if err != nil {
			t.Fatal(err)
		}
		opt.LocalMounts[name] = lfs
	}
	if export {
		r.outDir = t.TempDir()
		opt.Exports = []bkclient.ExportEntry{{Type: bkclient.ExporterLocal, OutputDir: r.outDir}}
	}
	ch := make(chan *bkclient.SolveStatus)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for st := range ch {
			for _, v := range st.Vertexes {
				r.vertices = append(r.vertices, v.Name)
			}
			for _, w := range st.Warnings {
				r.warnings = append(r.warnings, string(w.Short))
			}
		}
	}()
	_, err = c.Build(ctx, opt, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		res, err := fn(ctx, gc)
		r.res = res
		return res, err
	}, ch)
	wg.Wait()
	return r, err
}

func TestE2EMultiPlatform(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": `# syntax=org/stagefront
FROM scratch
COPY common.txt /
IF TARGETARCH == 'arm64'
COPY arm.txt /
ELSE
COPY amd.txt /
END
`,
		"common.txt": "common\n",
		"arm.txt":    "arm\n",
		"amd.txt":    "amd\n",
	})
	r, err := solve(t, c, Build, dir, map[string]string{"platform": "linux/amd64,linux/arm64"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.res.Refs) != 2 || r.res.Refs["linux/amd64"] == nil || r.res.Refs["linux/arm64"] == nil {
		t.Fatalf("refs = %v", r.res.Refs)
	}
	if _, ok := r.res.Metadata["refs.platforms"]; !ok {
		t.Errorf("no platforms metadata: %v", keys(r.res.Metadata))
	}
	got := strings.Join(listTree(t, r.outDir), " ")
	want := "linux_amd64/amd.txt linux_amd64/common.txt linux_arm64/arm.txt linux_arm64/common.txt"
	if got != want {
		t.Errorf("exported %q, want %q", got, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const includeDocs = `# syntax=org/stagefront
# INCLUDE_DOCS ship the documentation in the image
ARG INCLUDE_DOCS=true

FROM scratch AS docs
COPY docs/ /site/

FROM scratch
COPY app.txt /
COPY --if=INCLUDE_DOCS --from=docs /site /docs
`

func TestE2EIncludeDocs(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{"Dockerfile": includeDocs, "app.txt": "app\n", "docs/index.html": "docs\n"})
	for _, tc := range []struct {
		value string
		files string
		docs  bool
	}{
		{"true", "app.txt docs/index.html", true},
		{"false", "app.txt", false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			r, err := solve(t, c, Build, dir, map[string]string{"build-arg:INCLUDE_DOCS": tc.value}, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(listTree(t, r.outDir), " "); got != tc.files {
				t.Errorf("exported %q, want %q", got, tc.files)
			}
			ran := false
			for _, v := range r.vertices {
				if strings.Contains(v, "[docs ") {
					ran = true
				}
			}
			if ran != tc.docs {
				t.Errorf("docs stage ran = %v, want %v (vertices %q)", ran, tc.docs, r.vertices)
			}
		})
	}
}

func TestE2EOutlineAndTargets(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{"Dockerfile": includeDocs, "app.txt": "app\n", "docs/index.html": "docs\n"})
	r, err := solve(t, c, Build, dir, map[string]string{"requestid": "frontend.outline", "build-arg:INCLUDE_DOCS": "false"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var o outline.Outline
	if err := json.Unmarshal(r.res.Metadata["result.json"], &o); err != nil {
		t.Fatalf("outline result: %v (%v)", err, keys(r.res.Metadata))
	}
	found := false
	for _, a := range o.Args {
		if a.Name == "INCLUDE_DOCS" {
			found = true
			if a.Value != "false" || !strings.HasPrefix(a.Description, "ship the documentation in the image") {
				t.Errorf("INCLUDE_DOCS = %+v", a)
			}
		}
	}
	if !found {
		t.Errorf("INCLUDE_DOCS not in outline:\n%s", r.res.Metadata["result.txt"])
	}

	r, err = solve(t, c, Build, dir, map[string]string{"requestid": "frontend.targets"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var l targets.List
	if err := json.Unmarshal(r.res.Metadata["result.json"], &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Targets) != 2 {
		t.Errorf("targets:\n%s", r.res.Metadata["result.txt"])
	}
}

func TestE2EBadConditionShowsLine(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{"Dockerfile": includeDocs, "app.txt": "app\n", "docs/index.html": "docs\n"})
	_, err := solve(t, c, Build, dir, map[string]string{"build-arg:INCLUDE_DOCS": "maybe"}, false)
	if err == nil {
		t.Fatal("no error for INCLUDE_DOCS=maybe")
	}
	srcs := errdefs.Sources(err)
	if len(srcs) == 0 {
		t.Fatalf("error without source: %v", err)
	}
	var b strings.Builder
	srcs[0].Print(&b)
	if !strings.Contains(b.String(), ">>> COPY --if=INCLUDE_DOCS") {
		t.Errorf("source does not show the user's line:\n%s", b.String())
	}
}

// TestE2EStandardMatchesUpstream builds a standard Dockerfile with our
// Build and upstream's, in the same daemon.
func TestE2EStandardMatchesUpstream(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM scratch AS base\nCOPY a.txt /\n\nFROM base as Final\nCOPY b/ /b/\nENV key value\n",
		"a.txt":      "a\n",
		"b/c.txt":    "c\n",
	})
	ours, err := solve(t, c, Build, dir, map[string]string{"build-arg:SOURCE_DATE_EPOCH": "0"}, true)
	if err != nil {
		t.Fatal(err)
	}
	up, err := solve(t, c, builder.Build, dir, map[string]string{"build-arg:SOURCE_DATE_EPOCH": "0"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := listTree(t, ours.outDir), listTree(t, up.outDir); strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("files: ours %v, upstream %v", a, b)
	}
	if a, b := string(ours.res.Metadata["containerimage.config"]), string(up.res.Metadata["containerimage.config"]); a != b {
		t.Errorf("image config:\nours     %s\nupstream %s", a, b)
	}
	ours.warnings = upstreamShort(ours.warnings)
	sort.Strings(ours.warnings)
	sort.Strings(up.warnings)
	if strings.Join(ours.warnings, "\n") != strings.Join(up.warnings, "\n") || len(up.warnings) == 0 {
		t.Errorf("warnings:\nours     %q\nupstream %q", ours.warnings, up.warnings)
	}
	for _, req := range []string{"frontend.outline", "frontend.targets", "frontend.lint"} {
		o, err := solve(t, c, Build, dir, map[string]string{"requestid": req}, false)
		if err != nil {
			t.Fatal(err)
		}
		u, err := solve(t, c, builder.Build, dir, map[string]string{"requestid": req}, false)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := sessionFree(t, upstreamOnlyJSON(t, o.res.Metadata["result.json"])), sessionFree(t, u.res.Metadata["result.json"]); a != b {
			t.Errorf("%s:\nours     %s\nupstream %s", req, a, b)
		}
	}
}

func TestE2EExists(t *testing.T) {
	c := e2eClient(t)
	const df = `# syntax=org/stagefront
FROM scratch
COPY app.txt /
IF exists("PATTERN")
COPY docs/ /docs/
END
`
	for _, tc := range []struct {
		name    string
		pattern string
		files   map[string]string
		want    string
	}{
		{"deep glob", "**/*.md", map[string]string{"docs/x/y/a.md": "a\n"}, "app.txt docs/x/y/a.md"},
		{"deep glob absent", "**/*.md", map[string]string{"docs/x/y/a.txt": "a\n"}, "app.txt"},
		{"directory", "docs", map[string]string{"docs/a.txt": "a\n"}, "app.txt docs/a.txt"},
		{"present", "docs/*.md", map[string]string{"docs/a.md": "a\n"}, "app.txt docs/a.md"},
		{"absent", "docs/*.md", map[string]string{"docs/a.txt": "a\n"}, "app.txt"},
		{"present among others", "docs/*.md", map[string]string{"docs/a.md": "a\n", "docs/keep.txt": "k\n"}, "app.txt docs/a.md docs/keep.txt"},
		// exists() sees the context after .dockerignore: no .md, so no docs
		{"dockerignored", "docs/*.md", map[string]string{"docs/a.md": "a\n", "docs/keep.txt": "k\n", ".dockerignore": "docs/*.md\n"}, "app.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"Dockerfile": strings.Replace(df, "PATTERN", tc.pattern, 1), "app.txt": "app\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			r, err := solve(t, c, Build, writeTree(t, files), nil, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(listTree(t, r.outDir), " "); got != tc.want {
				t.Errorf("exported %q, want %q", got, tc.want)
			}
		})
	}
}

// sessionFree drops the LLB definitions of lint sources: they name the
// session, which differs between two solves.
func sessionFree(t *testing.T, dt []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(dt, &v); err != nil {
		t.Fatal(err)
	}
	if srcs, ok := v["sources"].([]any); ok {
		for _, s := range srcs {
			if m, ok := s.(map[string]any); ok {
				delete(m, "definition")
			}
		}
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestE2EPanicIsClearError(t *testing.T) {
	c := e2eClient(t)
	b := &Builder{engine: func(context.Context, rewrite.Options) (*rewrite.Result, error) { panic("test panic") }}
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	_, err := solve(t, c, b.Build, dir, map[string]string{"platform": "linux/amd64,linux/arm64"}, false)
	if err == nil || !strings.Contains(err.Error(), "internal error: test panic") {
		t.Fatalf("panic gave %v", err)
	}
}

// TestE2ENamedContext: a --build-context replaces a stage, in a
// conditional COPY, as upstream resolves it.
func TestE2ENamedContext(t *testing.T) {
	c := e2eClient(t)
	dir := writeTree(t, map[string]string{"Dockerfile": `# syntax=org/stagefront
ARG WITH_EXTRA=true
FROM scratch AS extra
FROM scratch
COPY --if=WITH_EXTRA --from=extra /x.txt /
`})
	extra := writeTree(t, map[string]string{"x.txt": "x\n"})
	r, err := solveWith(t, c, Build, dir, map[string]string{"extradir": extra}, map[string]string{"context:extra": "local:extradir"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(listTree(t, r.outDir), " "); got != "x.txt" {
		t.Errorf("exported %q, want x.txt", got)
	}
}
