//go:build e2e

package builder

// Client-mode tests: our Build runs in the test process against the real
// buildkitd of hack/buildkit-up, no image push needed, through the shared
// harness (internal/bkharness).
//
//	go test -tags e2e -run E2E ./frontend/builder/

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/builder"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/bkharness"
)

// solve runs fn (our Build, or upstream's) in this process on the real
// buildkitd, with the context dir, frontend attrs, and a local export
// when export is set: the shared harness's InProcessWith.
func solve(t *testing.T, fn gateway.BuildFunc, dir string, attrs map[string]string, export bool) *bkharness.Result {
	t.Helper()
	return solveWith(t, fn, dir, nil, attrs, export)
}

// solveWith is solve with extra local mounts (name -> dir).
func solveWith(t *testing.T, fn gateway.BuildFunc, dir string, locals, attrs map[string]string, export bool) *bkharness.Result {
	t.Helper()
	o := bkharness.Opts{Dir: dir, Locals: locals, FrontendOpts: attrs, Output: bkharness.OutputNone, Progress: "rawjson"}
	if export {
		o.Output = bkharness.OutputLocal
	}
	return bkharness.InProcessWith(t, o, fn)
}

// warningTexts are the short texts of a build's warnings.
func warningTexts(r *bkharness.Result) []string {
	var out []string
	for _, ss := range r.Statuses {
		for _, w := range ss.Warnings {
			out = append(out, string(w.Short))
		}
	}
	return out
}

func TestE2EMultiPlatform(t *testing.T) {
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
	r := solve(t, Build, dir, map[string]string{"platform": "linux/amd64,linux/arm64"}, true).Must(t)
	if _, ok := r.Metadata["refs.platforms"]; !ok {
		t.Errorf("no platforms metadata: %v", keys(r.Metadata))
	}
	got := fileList(t, r)
	want := "linux_amd64/amd.txt linux_amd64/common.txt linux_arm64/arm.txt linux_arm64/common.txt"
	if got != want {
		t.Errorf("exported %q, want %q", got, want)
	}
}

// fileList lists the regular files a build exported, sorted, by space.
func fileList(t *testing.T, r *bkharness.Result) string {
	t.Helper()
	var out []string
	for _, f := range r.Files(t) {
		if !strings.HasSuffix(f, "/") {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

// writeTree creates files (path -> content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, files)
	return dir
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
			r := solve(t, Build, dir, map[string]string{"build-arg:INCLUDE_DOCS": tc.value}, true).Must(t)
			if got := fileList(t, r); got != tc.files {
				t.Errorf("exported %q, want %q", got, tc.files)
			}
			if ran := r.Ran("[docs "); ran != tc.docs {
				t.Errorf("docs stage ran = %v, want %v (vertices %v)", ran, tc.docs, r.Vertices())
			}
		})
	}
}

func TestE2EOutlineAndTargets(t *testing.T) {
	dir := writeTree(t, map[string]string{"Dockerfile": includeDocs, "app.txt": "app\n", "docs/index.html": "docs\n"})
	r := solve(t, Build, dir, map[string]string{"requestid": "frontend.outline", "build-arg:INCLUDE_DOCS": "false"}, false).Must(t)
	var o outline.Outline
	if err := json.Unmarshal(r.Metadata["result.json"], &o); err != nil {
		t.Fatalf("outline result: %v (%v)", err, keys(r.Metadata))
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
		t.Errorf("INCLUDE_DOCS not in outline:\n%s", r.Metadata["result.txt"])
	}

	r = solve(t, Build, dir, map[string]string{"requestid": "frontend.targets"}, false).Must(t)
	var l targets.List
	if err := json.Unmarshal(r.Metadata["result.json"], &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Targets) != 2 {
		t.Errorf("targets:\n%s", r.Metadata["result.txt"])
	}
}

func TestE2EBadConditionShowsLine(t *testing.T) {
	dir := writeTree(t, map[string]string{"Dockerfile": includeDocs, "app.txt": "app\n", "docs/index.html": "docs\n"})
	err := solve(t, Build, dir, map[string]string{"build-arg:INCLUDE_DOCS": "maybe"}, false).Err
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
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM scratch AS base\nCOPY a.txt /\n\nFROM base as Final\nCOPY b/ /b/\nENV key value\n",
		"a.txt":      "a\n",
		"b/c.txt":    "c\n",
	})
	ours := solve(t, Build, dir, map[string]string{"build-arg:SOURCE_DATE_EPOCH": "0"}, true).Must(t)
	up := solve(t, builder.Build, dir, map[string]string{"build-arg:SOURCE_DATE_EPOCH": "0"}, true).Must(t)
	if a, b := fileList(t, ours), fileList(t, up); a != b {
		t.Errorf("files: ours %v, upstream %v", a, b)
	}
	if a, b := string(ours.Metadata["containerimage.config"]), string(up.Metadata["containerimage.config"]); a != b {
		t.Errorf("image config:\nours     %s\nupstream %s", a, b)
	}
	ourW, upW := upstreamShort(warningTexts(ours)), warningTexts(up)
	sort.Strings(ourW)
	sort.Strings(upW)
	if strings.Join(ourW, "\n") != strings.Join(upW, "\n") || len(upW) == 0 {
		t.Errorf("warnings:\nours     %q\nupstream %q", ourW, upW)
	}
	for _, req := range []string{"frontend.outline", "frontend.targets", "frontend.lint"} {
		o := solve(t, Build, dir, map[string]string{"requestid": req}, false).Must(t)
		u := solve(t, builder.Build, dir, map[string]string{"requestid": req}, false).Must(t)
		if a, b := sessionFree(t, upstreamOnlyJSON(t, o.Metadata["result.json"])), sessionFree(t, u.Metadata["result.json"]); a != b {
			t.Errorf("%s:\nours     %s\nupstream %s", req, a, b)
		}
	}
}

func TestE2EExists(t *testing.T) {
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
			r := solve(t, Build, writeTree(t, files), nil, true).Must(t)
			if got := fileList(t, r); got != tc.want {
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
	b := &Builder{engine: func(context.Context, rewrite.Options) (*rewrite.Result, error) { panic("test panic") }}
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	err := solve(t, b.Build, dir, map[string]string{"platform": "linux/amd64,linux/arm64"}, false).Err
	if err == nil || !strings.Contains(err.Error(), "internal error: test panic") {
		t.Fatalf("panic gave %v", err)
	}
}

// TestE2ENamedContext: a --build-context replaces a stage, in a
// conditional COPY, as upstream resolves it.
func TestE2ENamedContext(t *testing.T) {
	dir := writeTree(t, map[string]string{"Dockerfile": `# syntax=org/stagefront
ARG WITH_EXTRA=true
FROM scratch AS extra
FROM scratch
COPY --if=WITH_EXTRA --from=extra /x.txt /
`})
	extra := writeTree(t, map[string]string{"x.txt": "x\n"})
	r := solveWith(t, Build, dir, map[string]string{"extradir": extra}, map[string]string{"context:extra": "local:extradir"}, true).Must(t)
	if got := fileList(t, r); got != "x.txt" {
		t.Errorf("exported %q, want x.txt", got)
	}
}
