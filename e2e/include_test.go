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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// includeFiles is a project whose Dockerfile takes its build stage from
// a fragment chosen by ENV, and its test gate from a shared fragment.
func includeFiles(nonce string) map[string]string {
	return map[string]string{
		"Dockerfile": SyntaxStagefront + `
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
	nonce := gtNonce(t)
	for _, tc := range []struct {
		env, want string
	}{{"", "dev"}, {"prod", "prod"}} {
		args := map[string]string{}
		if tc.env != "" {
			args["ENV"] = tc.env
		}
		for name, r := range map[string]*Result{
			"buildx":   Buildx(t, Opts{Files: includeFiles(nonce), BuildArgs: args, Progress: "rawjson"}),
			"buildctl": Buildctl(t, Opts{Files: includeFiles(nonce), BuildArgs: args, Progress: "rawjson"}),
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
	nonce := gtNonce(t)
	r := Buildx(t, Opts{Files: includeFiles(nonce), BuildArgs: map[string]string{"ENV": "fail"}, Progress: "plain"})
	out := r.MustFail(t)
	for _, want := range []string{"stages/fail.Dockerfile:3", ">>> RUN echo " + nonce + " && exit 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output:\n%s", want, tail(out, 40))
		}
	}
	gtNoExport(t, r)
}

func TestIncludeFromNamedContext(t *testing.T) {
	nonce := gtNonce(t)
	shared := t.TempDir()
	WriteFiles(t, shared, map[string]string{
		"go/test.Dockerfile": "FROM busybox AS test\nRUN echo test-" + nonce + " > /t\nINCLUDE lint.Dockerfile\n",
		"go/lint.Dockerfile": "RUN echo lint-" + nonce + " >> /t\n",
	})
	df := SyntaxStagefront + `
INCLUDE --from=fragments go/test.Dockerfile
FROM scratch
COPY --from=test /t /t
`
	r := Buildx(t, Opts{Dockerfile: df, BuildContexts: map[string]string{"fragments": shared}, Progress: "rawjson"}).Must(t)
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	if got := r.File(t, "t"); got != "test-"+nonce+"\nlint-"+nonce+"\n" {
		t.Errorf("exported t: %q", got)
	}
	// Without the context: an error at the INCLUDE, saying what to pass.
	r = Buildx(t, Opts{Dockerfile: df, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, `no build context "fragments"`) || !strings.Contains(msg, "Dockerfile:2") {
		t.Errorf("without the context:\n%s", tail(msg, 20))
	}
}

func TestIncludeCheckNamesTheFragment(t *testing.T) {
	files := map[string]string{
		"Dockerfile":          SyntaxStagefront + "\nFROM busybox\nINCLUDE meta.Dockerfile\nRUN true\n",
		"meta.Dockerfile":     "RUN echo one\nMAINTAINER me\n",
		".dockerignore":       "*.log\n",
		"unrelated/README.md": "x\n",
	}
	// buildx prints every source of --call=check under the Dockerfile's
	// name (it maps them all to the path it sent), with the right lines.
	r := Buildx(t, Opts{Files: files, Output: OutputNone, Call: "check", Progress: "rawjson"})
	if !strings.Contains(r.Stdout, "WARNING: MaintainerDeprecated") || !strings.Contains(r.Stdout, "   1 |     RUN echo one\n   2 | >>> MAINTAINER me\n") {
		t.Errorf("--call=check:\n%s", r.Stdout)
	}
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	// The result names the fragment.
	r = Buildx(t, Opts{Files: files, Output: OutputNone, Call: "check,format=json"})
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
	nonce := gtNonce(t)
	dir := t.TempDir()
	WriteFiles(t, dir, map[string]string{
		"Dockerfile": SyntaxStagefront + `
INCLUDE a.Dockerfile
INCLUDE b.Dockerfile
FROM scratch
COPY --from=a /a /a
COPY --from=b /b /b
`,
		"a.Dockerfile": "FROM busybox AS a\nRUN echo a1-" + nonce + " > /a\nRUN echo a2-" + nonce + " >> /a\n",
		"b.Dockerfile": "FROM busybox AS b\nRUN echo b1-" + nonce + " > /b\nRUN echo b2-" + nonce + " >> /b\n",
	})
	Buildx(t, Opts{Dir: dir, Output: OutputNone, Progress: "rawjson"}).Must(t)
	if err := os.WriteFile(filepath.Join(dir, "b.Dockerfile"), []byte("FROM busybox AS b\nRUN echo b1-"+nonce+" > /b\nRUN echo b2-edited-"+nonce+" >> /b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Buildx(t, Opts{Dir: dir, Output: OutputNone, Progress: "rawjson"}).Must(t)
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
			t.Errorf("step %s: ran %v (seen %v), want ran %v\n%s", step, got, ok, w, tail(r.Progress, 30))
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
			WriteFiles(t, dir, map[string]string{"Dockerfile": SyntaxStagefront + "\nFROM busybox\nINCLUDE " + link + ".Dockerfile\n"})
			if err := os.Symlink(target, filepath.Join(dir, link+".Dockerfile")); err != nil {
				t.Fatal(err)
			}
			r := Buildx(t, Opts{Dir: dir, Output: OutputNone, Progress: "plain"})
			if out := r.MustFail(t); !strings.Contains(out, "outside its directory") || !strings.Contains(out, "Dockerfile:3") {
				t.Errorf("%s:\n%s", link, tail(out, 20))
			}
		})
	}
}

// TestIncludeThroughASymlinkInside: a fragment reached through a symlink
// that stays in the Dockerfile's directory is read.
func TestIncludeThroughASymlinkInside(t *testing.T) {
	nonce := gtNonce(t)
	dir := t.TempDir()
	WriteFiles(t, dir, map[string]string{
		"Dockerfile":               SyntaxStagefront + "\nINCLUDE stages/common.Dockerfile\nFROM scratch\nCOPY --from=common /c /c\n",
		"shared/common.Dockerfile": "FROM busybox AS common\nRUN echo " + nonce + " > /c\n",
	})
	if err := os.Symlink("shared", filepath.Join(dir, "stages")); err != nil {
		t.Fatal(err)
	}
	r := Buildx(t, Opts{Dir: dir, Progress: "rawjson"}).Must(t)
	if got := r.File(t, "c"); got != nonce+"\n" {
		t.Errorf("exported c: %q", got)
	}
}

// TestIncludeFromStandardInput: a Dockerfile read from standard input
// (-f -) has no directory to include from: an INCLUDE of a path says so,
// and one from a named context works.
func TestIncludeFromStandardInput(t *testing.T) {
	nonce := gtNonce(t)
	shared := t.TempDir()
	WriteFiles(t, shared, map[string]string{"c.Dockerfile": "FROM busybox AS c\nRUN echo " + nonce + " > /c\n"})
	dir := t.TempDir()
	WriteFiles(t, dir, map[string]string{"c.Dockerfile": "FROM busybox AS c\n"})
	r := Buildx(t, Opts{Dir: dir, Args: []string{"-f", "-"}, Stdin: SyntaxStagefront + "\nINCLUDE c.Dockerfile\n", Output: OutputNone, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, "standard input (-f -)") || !strings.Contains(msg, "Dockerfile:2") {
		t.Errorf("-f -:\n%s", tail(msg, 20))
	}
	r = Buildx(t, Opts{Dir: dir, Args: []string{"-f", "-"}, Stdin: SyntaxStagefront + "\nINCLUDE --from=shared c.Dockerfile\nFROM scratch\nCOPY --from=c /c /c\n",
		BuildContexts: map[string]string{"shared": shared}, Progress: "rawjson"}).Must(t)
	if got := r.File(t, "c"); got != nonce+"\n" {
		t.Errorf("exported c: %q", got)
	}
}

// TestIncludeMisspelt: a fragment that does not exist gets a did-you-mean
// over its directory's files, at the INCLUDE's line.
func TestIncludeMisspelt(t *testing.T) {
	files := includeFiles(gtNonce(t))
	files["Dockerfile"] = SyntaxStagefront + "\nFROM busybox\nINCLUDE stages/prd.Dockerfile\n"
	r := Buildx(t, Opts{Files: files, Output: OutputNone, Progress: "plain"})
	if msg := r.MustFail(t); !strings.Contains(msg, "no file stages/prd.Dockerfile beside the Dockerfile; did you mean stages/prod.Dockerfile?") || !strings.Contains(msg, "Dockerfile:3") {
		t.Errorf("misspelt:\n%s", tail(msg, 20))
	}
}
