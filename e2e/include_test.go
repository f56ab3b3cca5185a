//go:build e2e

package e2e

// INCLUDE through the real BuildKit: fragments read from the Dockerfile's
// own directory and from a named context, chosen by a build arg; every
// location of a fragment's line (a failing RUN, a check finding) names
// the fragment's file and line; editing one fragment line re-runs only
// what depends on it; nothing is read out of the directory.
//
//	hack/e2e -run TestInclude

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

// includeFiles is a project whose Dockerfile takes its build stage from
// a fragment chosen by ENV, and its test gate from a shared fragment.
func includeFiles(nonce string) map[string]string {
	return map[string]string{
		"Dockerfile": bkharness.SyntaxStagefront + `
ARG ENV=dev
INCLUDE stages/${ENV}.Dockerfile
FROM scratch
COPY --from=built /out/ /
`,
		"stages/dev.Dockerfile":  "FROM busybox AS built\nRUN mkdir /out && echo " + nonce + " > /out/dev\n",
		"stages/prod.Dockerfile": "# Production.\nFROM busybox AS built\nRUN mkdir /out && echo " + nonce + " > /out/prod\nRUN echo prod-step-" + nonce + "\n",
		"stages/fail.Dockerfile": "FROM busybox AS built\nRUN echo ok\nRUN echo " + nonce + " && exit 3\n",
	}
}

func TestIncludeChosenByArg(t *testing.T) {
	nonce := nonce(t)
	for _, tc := range []struct {
		env, want string
	}{{"", "dev"}, {"prod", "prod"}} {
		args := map[string]string{}
		if tc.env != "" {
			args["ENV"] = tc.env
		}
		for name, r := range map[string]*bkharness.Result{
			"buildx":   bkharness.Buildx(t, bkharness.Opts{Files: includeFiles(nonce), BuildArgs: args, Progress: "rawjson"}),
			"buildctl": bkharness.Buildctl(t, bkharness.Opts{Files: includeFiles(nonce), BuildArgs: args, Progress: "rawjson"}),
		} {
			t.Run(tc.want+"/"+name, func(t *testing.T) {
				r.Must(t)
				if errs := errorSteps(r); len(errs) > 0 {
					t.Errorf("error steps: %q", errs)
				}
				if got := strings.Join(r.Files(t), " "); got != tc.want {
					t.Errorf("exported %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestIncludeFailingRunNamesTheFragment(t *testing.T) {
	nonce := nonce(t)
	r := bkharness.Buildx(t, bkharness.Opts{Files: includeFiles(nonce), BuildArgs: map[string]string{"ENV": "fail"}, Progress: "plain"})
	out := r.MustFail(t)
	for _, want := range []string{"stages/fail.Dockerfile:3", ">>> RUN echo " + nonce + " && exit 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output:\n%s", want, bkharness.Tail(out, 40))
		}
	}
	wantNoExport(t, r)
}

func TestIncludeFromNamedContext(t *testing.T) {
	nonce := nonce(t)
	shared := t.TempDir()
	bkharness.WriteFiles(t, shared, map[string]string{
		"go/test.Dockerfile": "FROM busybox AS test\nRUN echo test-" + nonce + " > /t\nINCLUDE lint.Dockerfile\n",
		"go/lint.Dockerfile": "RUN echo lint-" + nonce + " >> /t\n",
	})
	df := bkharness.SyntaxStagefront + `
INCLUDE --from=fragments go/test.Dockerfile
FROM scratch
COPY --from=test /t /t
`
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: map[string]string{"fragments": shared}, Progress: "rawjson"}).Must(t)
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	if got := r.File(t, "t"); got != "test-"+nonce+"\nlint-"+nonce+"\n" {
		t.Errorf("exported t: %q", got)
	}
	// Without the context: an error at the INCLUDE, saying what to pass.
	r = bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, `no build context "fragments"`) || !strings.Contains(msg, "Dockerfile:2") {
		t.Errorf("without the context:\n%s", bkharness.Tail(msg, 20))
	}
}

func TestIncludeCheckNamesTheFragment(t *testing.T) {
	files := map[string]string{
		"Dockerfile":          bkharness.SyntaxStagefront + "\nFROM busybox\nINCLUDE meta.Dockerfile\nRUN true\n",
		"meta.Dockerfile":     "RUN echo one\nMAINTAINER me\n",
		".dockerignore":       "*.log\n",
		"unrelated/README.md": "x\n",
	}
	// buildx prints every source of --call=check under the Dockerfile's
	// name (it maps them all to the path it sent), with the right lines.
	r := bkharness.Buildx(t, bkharness.Opts{Files: files, Output: bkharness.OutputNone, Call: "check", Progress: "rawjson"})
	if !strings.Contains(r.Stdout, "WARNING: MaintainerDeprecated") || !strings.Contains(r.Stdout, "   1 |     RUN echo one\n   2 | >>> MAINTAINER me\n") {
		t.Errorf("--call=check:\n%s", r.Stdout)
	}
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	// The result names the fragment.
	r = bkharness.Buildx(t, bkharness.Opts{Files: files, Output: bkharness.OutputNone, Call: "check,format=json"})
	var res struct {
		Sources  []struct{ Filename string }
		Warnings []struct {
			RuleName string
			Location struct {
				SourceIndex int
				Ranges      []struct{ Start struct{ Line int } }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("--call=check,format=json: %v\n%s", err, r.Stdout)
	}
	found := false
	for _, w := range res.Warnings {
		if w.RuleName != "MaintainerDeprecated" {
			continue
		}
		found = true
		if l := w.Location; l.SourceIndex >= len(res.Sources) || res.Sources[l.SourceIndex].Filename != "meta.Dockerfile" || len(l.Ranges) == 0 || l.Ranges[0].Start.Line != 2 {
			t.Errorf("MaintainerDeprecated at %+v, sources %+v", l, res.Sources)
		}
	}
	if !found {
		t.Errorf("no MaintainerDeprecated in %s", r.Stdout)
	}
}

// TestIncludeCacheOneFragmentLine: editing one line of one fragment
// re-runs the steps from that line on, and nothing of the other fragment.
func TestIncludeCacheOneFragmentLine(t *testing.T) {
	nonce := nonce(t)
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, map[string]string{
		"Dockerfile": bkharness.SyntaxStagefront + `
INCLUDE a.Dockerfile
INCLUDE b.Dockerfile
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
`,
		"a.Dockerfile": "FROM busybox AS a\nRUN echo a1-" + nonce + " > /a\nRUN echo a2-" + nonce + " >> /a\n",
		"b.Dockerfile": "FROM busybox AS b\nRUN echo b1-" + nonce + " > /b\nRUN echo b2-" + nonce + " >> /b\n",
	})
	bkharness.Buildx(t, bkharness.Opts{Dir: dir, Output: bkharness.OutputNone, Progress: "rawjson"}).Must(t)
	if err := os.WriteFile(filepath.Join(dir, "b.Dockerfile"), []byte("FROM busybox AS b\nRUN echo b1-"+nonce+" > /b\nRUN echo b2-edited-"+nonce+" >> /b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Output: bkharness.OutputNone, Progress: "rawjson"}).Must(t)
	ran := map[string]bool{}
	for _, v := range r.Vertices() {
		for _, step := range []string{"a1-", "a2-", "b1-", "b2-edited-"} {
			if strings.Contains(v.Name, "echo "+step+nonce) {
				ran[step] = !v.Cached
			}
		}
	}
	want := map[string]bool{"a1-": false, "a2-": false, "b1-": false, "b2-edited-": true}
	for step, w := range want {
		if got, ok := ran[step]; !ok || got != w {
			t.Errorf("step %s: ran %v (seen %v), want ran %v\n%s", step, got, ok, w, bkharness.Tail(r.Progress, 30))
		}
	}
}

// TestIncludeNeverOutOfTheDirectory: a fragment through a symlink out of
// the Dockerfile's directory, absolute or relative, is an error at the
// INCLUDE.
func TestIncludeNeverOutOfTheDirectory(t *testing.T) {
	for link, target := range map[string]string{"abs": "/etc/hostname", "rel": "../../../../../../../../etc/hostname"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			bkharness.WriteFiles(t, dir, map[string]string{"Dockerfile": bkharness.SyntaxStagefront + "\nFROM busybox\nINCLUDE " + link + ".Dockerfile\n"})
			if err := os.Symlink(target, filepath.Join(dir, link+".Dockerfile")); err != nil {
				t.Fatal(err)
			}
			r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Output: bkharness.OutputNone, Progress: "plain"})
			if out := r.MustFail(t); !strings.Contains(out, "outside its directory") || !strings.Contains(out, "Dockerfile:3") {
				t.Errorf("%s:\n%s", link, bkharness.Tail(out, 20))
			}
		})
	}
}

// TestIncludeThroughASymlinkInside: a fragment reached through a symlink
// that stays in the Dockerfile's directory is read.
func TestIncludeThroughASymlinkInside(t *testing.T) {
	nonce := nonce(t)
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, map[string]string{
		"Dockerfile":               bkharness.SyntaxStagefront + "\nINCLUDE stages/common.Dockerfile\nFROM scratch\nCOPY --from=common /c /c\n",
		"shared/common.Dockerfile": "FROM busybox AS common\nRUN echo " + nonce + " > /c\n",
	})
	if err := os.Symlink("shared", filepath.Join(dir, "stages")); err != nil {
		t.Fatal(err)
	}
	r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Progress: "rawjson"}).Must(t)
	if got := r.File(t, "c"); got != nonce+"\n" {
		t.Errorf("exported c: %q", got)
	}
}

// TestIncludeFromStandardInput: a Dockerfile read from standard input
// (-f -) reads its path INCLUDEs from the root of its local build context,
// as `docker build -f - .` and Docker's language server mean them, even
// when .dockerignore leaves them out of what the build copies; --from=
// reads a named context; a missing fragment says where it was looked for;
// a build context that is no directory says to use --from=.
func TestIncludeFromStandardInput(t *testing.T) {
	nonce := nonce(t)
	shared := t.TempDir()
	bkharness.WriteFiles(t, shared, map[string]string{"c.Dockerfile": "FROM busybox AS c\nRUN echo shared-" + nonce + " > /c\n"})
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, map[string]string{
		"stages/c.Dockerfile": "FROM busybox AS c\nRUN echo root-" + nonce + " > /c\n",
		".dockerignore":       "stages\n",
	})
	for _, c := range []struct{ name, include, want string }{
		{"a path", "INCLUDE stages/c.Dockerfile", "root-"},
		{"a named context", "INCLUDE --from=shared c.Dockerfile", "shared-"},
	} {
		r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Args: []string{"-f", "-"},
			Stdin:         bkharness.SyntaxStagefront + "\n" + c.include + "\nFROM scratch\nCOPY --from=c /c /c\n",
			BuildContexts: map[string]string{"shared": shared}, Progress: "rawjson"}).Must(t)
		if got := r.File(t, "c"); got != c.want+nonce+"\n" {
			t.Errorf("%s: exported c: %q", c.name, got)
		}
		if errs := errorSteps(r); len(errs) > 0 {
			t.Errorf("%s: error steps: %q", c.name, errs)
		}
	}
	r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Args: []string{"-f", "-"}, Stdin: bkharness.SyntaxStagefront + "\nINCLUDE stages/d.Dockerfile\n", Output: bkharness.OutputNone, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, "no file stages/d.Dockerfile in the build context's root (the Dockerfile came from standard input); did you mean stages/c.Dockerfile?") || !strings.Contains(msg, "Dockerfile:2") {
		t.Errorf("-f - with a missing fragment:\n%s", bkharness.Tail(msg, 20))
	}

	url := bkharness.GitServer(t, map[string]map[string]string{"repo": {"c.Dockerfile": "FROM busybox AS c\n"}})
	r = bkharness.Buildx(t, bkharness.Opts{ContextURL: url + "/repo.git#main", Args: []string{"-f", "-"}, Stdin: bkharness.SyntaxStagefront + "\nINCLUDE c.Dockerfile\n", Output: bkharness.OutputNone, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, "is no local directory to include from") || !strings.Contains(msg, "Dockerfile:2") {
		t.Errorf("-f - with a git context:\n%s", bkharness.Tail(msg, 20))
	}
}

// TestCheckFromStandardInput: Docker's language server checks the buffer
// with `docker buildx build --call=check,format=json -f - <workspace>`; a
// path INCLUDE is read from the workspace, and its problems are reported.
func TestCheckFromStandardInput(t *testing.T) {
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, map[string]string{"stages/build.Dockerfile": "FROM busybox as build\nRUN true\n"})
	// (with warnings, --call=check exits 1: the answer is on stdout)
	r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Args: []string{"-f", "-"}, Call: "check,format=json", Output: bkharness.OutputNone,
		Stdin: bkharness.SyntaxStagefront + "\nINCLUDE stages/build.Dockerfile\nFROM build\n"})
	var out struct {
		Warnings []struct {
			RuleName string `json:"ruleName"`
			Location struct {
				SourceIndex int `json:"sourceIndex"`
				Ranges      []struct {
					Start struct{ Line int } `json:"start"`
				} `json:"ranges"`
			} `json:"location"`
		} `json:"warnings"`
		Sources []struct {
			Filename string `json:"filename"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("--call=check,format=json: %v\n%s", err, r.Stdout)
	}
	var got []string
	for _, w := range out.Warnings {
		file, line := "?", 0
		if i := w.Location.SourceIndex; i >= 0 && i < len(out.Sources) {
			file = out.Sources[i].Filename
		}
		if len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		got = append(got, fmt.Sprintf("%s %s:%d", w.RuleName, file, line))
	}
	if want := "FromAsCasing stages/build.Dockerfile:1"; !slices.Contains(got, want) {
		t.Errorf("warnings %q, want %q among them\n%s", got, want, r.Stdout)
	}
}

// TestIncludeMisspelt: a fragment that does not exist gets a did-you-mean
// over its directory's files, at the INCLUDE's line.
func TestIncludeMisspelt(t *testing.T) {
	files := includeFiles(nonce(t))
	files["Dockerfile"] = bkharness.SyntaxStagefront + "\nFROM busybox\nINCLUDE stages/prd.Dockerfile\n"
	r := bkharness.Buildx(t, bkharness.Opts{Files: files, Output: bkharness.OutputNone, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, "no file stages/prd.Dockerfile beside the Dockerfile; did you mean stages/prod.Dockerfile?") || !strings.Contains(msg, "Dockerfile:3") {
		t.Errorf("misspelt:\n%s", bkharness.Tail(msg, 20))
	}
}

// TestIncludeFromAContextThatFailsToLoad: a named context that cannot be
// loaded is an error with its cause, as upstream's COPY --from reports it,
// never "no file": a git context at a ref the repository lacks, and one on
// a host nobody answers. The same context at a ref that exists works.
func TestIncludeFromAContextThatFailsToLoad(t *testing.T) {
	url := bkharness.GitServer(t, map[string]map[string]string{
		"fragments": {"test.Dockerfile": "FROM busybox AS test\nRUN echo from-git > /t\n"},
	})
	include := bkharness.SyntaxStagefront + "\nINCLUDE --from=fragments test.Dockerfile\nFROM scratch\nCOPY --from=test /t /t\n"
	copyFrom := bkharness.SyntaxUpstream + "\nFROM scratch\nCOPY --from=fragments test.Dockerfile /t\n"

	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: include, BuildContexts: map[string]string{"fragments": url + "/fragments.git#main"}}).Must(t)
	if got := r.File(t, "t"); got != "from-git\n" {
		t.Errorf("INCLUDE from the git context at main: /t = %q", got)
	}
	for _, c := range []struct{ name, context, cause string }{
		{"a ref the repository lacks", url + "/fragments.git#nosuchref", "nosuchref"},
		{"a host nobody answers", "http://127.0.0.1:1/fragments.git#main", "Couldn't connect to server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			contexts := map[string]string{"fragments": c.context}
			upstream := bkharness.Buildx(t, bkharness.Opts{Dockerfile: copyFrom, BuildContexts: contexts, Output: bkharness.OutputNone, Progress: "plain"}).MustFail(t)
			if !strings.Contains(upstream, c.cause) {
				t.Fatalf("upstream's COPY --from does not say %q:\n%s", c.cause, bkharness.Tail(upstream, 20))
			}
			ours := bkharness.Buildx(t, bkharness.Opts{Dockerfile: include, BuildContexts: contexts, Output: bkharness.OutputNone, Progress: "plain"}).MustFail(t)
			if !strings.Contains(ours, c.cause) || strings.Contains(ours, "no file") || !strings.Contains(ours, "Dockerfile:2") {
				t.Errorf("INCLUDE --from=fragments: want %q at Dockerfile:2 and no \"no file\":\n%s", c.cause, bkharness.Tail(ours, 20))
			}
		})
	}
}

// TestIncludeBesideALoneDockerfile: a Dockerfile sent alone in a directory
// of its own, apart from the build context (what the classic docker build
// sends for -f -), reads a fragment that is not beside it from the build
// context's root, and says so with a warning at the INCLUDE; a fragment
// that is in neither place says where it was looked for.
func TestIncludeBesideALoneDockerfile(t *testing.T) {
	nonce := nonce(t)
	ctxDir, dfDir := t.TempDir(), t.TempDir()
	bkharness.WriteFiles(t, ctxDir, map[string]string{"stages/c.Dockerfile": "FROM busybox AS c\nRUN echo " + nonce + " > /c\n"})
	bkharness.WriteFiles(t, dfDir, map[string]string{"Dockerfile": bkharness.SyntaxStagefront + "\nINCLUDE stages/c.Dockerfile\nFROM scratch\nCOPY --from=c /c /c\n"})
	r := bkharness.Buildctl(t, bkharness.Opts{Dir: ctxDir, DockerfileDir: dfDir, Progress: "rawjson"}).Must(t)
	if got := r.File(t, "c"); got != nonce+"\n" {
		t.Errorf("exported c: %q", got)
	}
	var at []int
	for _, ss := range r.Statuses {
		for _, w := range ss.Warnings {
			if strings.Contains(string(w.Short), "stages/c.Dockerfile is not beside the Dockerfile, which is alone in its directory") {
				for _, rg := range w.Range {
					at = append(at, int(rg.Start.Line))
				}
			}
		}
	}
	if !slices.Equal(at, []int{2}) {
		t.Errorf("the warning at the INCLUDE: at lines %v, want [2]", at)
	}

	bkharness.WriteFiles(t, dfDir, map[string]string{"Dockerfile": bkharness.SyntaxStagefront + "\nINCLUDE stages/d.Dockerfile\n"})
	r = bkharness.Buildctl(t, bkharness.Opts{Dir: ctxDir, DockerfileDir: dfDir, Progress: "plain", Output: bkharness.OutputNone})
	if msg := r.MustFail(t); !strings.Contains(msg, "no file stages/d.Dockerfile beside the Dockerfile, nor in the build context's root; did you mean stages/c.Dockerfile?") {
		t.Errorf("a fragment in neither place:\n%s", bkharness.Tail(msg, 20))
	}
}
