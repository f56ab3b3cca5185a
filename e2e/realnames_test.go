//go:build e2e

package e2e

// Files as users write them: short base image names (FROM busybox, FROM
// org/img:1) resolved through the registry with no named context, a
// trailing stage after the target, stage-local ARGs, symlinks in the
// context. Each test checks the progress stream for error steps as well
// as the outcome: a lookup of an image name as written shows as an ERROR
// step even in a build that succeeds.
//
//	hack/e2e -run TestRealNames

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

// errorSteps lists the steps of r that failed, but for those whose name
// contains one of expected.
func errorSteps(r *bkharness.Result, expected ...string) []string {
	var out []string
	for _, v := range r.Vertices() {
		if v.Error == "" {
			continue
		}
		ok := false
		for _, e := range expected {
			ok = ok || strings.Contains(v.Name, e)
		}
		if !ok {
			out = append(out, v.Name+": "+v.Error)
		}
	}
	return out
}

// warned reports whether the build warned about rule (rawjson progress or
// in-process statuses; else the plain progress text).
func warned(r *bkharness.Result, rule string) bool {
	if len(r.Statuses) == 0 {
		return strings.Contains(r.Progress, rule+":")
	}
	for _, ss := range r.Statuses {
		for _, w := range ss.Warnings {
			if strings.HasPrefix(string(w.Short), rule+":") {
				return true
			}
		}
	}
	return false
}

// stepsNamed counts the steps whose name contains substr.
func stepsNamed(r *bkharness.Result, substr string) int {
	n := 0
	for _, v := range r.Vertices() {
		if strings.Contains(v.Name, substr) {
			n++
		}
	}
	return n
}

// TestRealNamesGateThroughStageArg: the target copies from a stage chosen
// by a stage-local ARG, that stage REQUIREs a failing test, and a stage
// follows the target. The gate must run and fail the build (it was
// skipped: the reference was resolved with the last stage's ARGs).
func TestRealNamesGateThroughStageArg(t *testing.T) {
	nonce := nonce(t)
	df := bkharness.SyntaxStagefront + `
FROM busybox AS unit
RUN echo "` + nonce + `" && false
FROM busybox AS lib
REQUIRE unit
RUN echo lib > /lib.txt
FROM busybox AS app
ARG SRC=lib
COPY --from=${SRC} /lib.txt /x
FROM busybox AS tools
RUN echo tools
`
	for name, r := range map[string]*bkharness.Result{
		"buildx --target":     bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Target: "app", Progress: "rawjson"}),
		"buildctl target=":    bkharness.Buildctl(t, bkharness.Opts{Dockerfile: df, FrontendOpts: map[string]string{"target": "app"}, Progress: "rawjson"}),
		"buildx, app last":    bkharness.Buildx(t, bkharness.Opts{Dockerfile: strings.TrimSuffix(df, "FROM busybox AS tools\nRUN echo tools\n"), Progress: "rawjson"}),
		"in-process --target": inProcess(t, bkharness.Opts{Dockerfile: df, Target: "app"}),
	} {
		t.Run(name, func(t *testing.T) {
			msg := r.MustFail(t)
			if !strings.Contains(msg, `REQUIRE gate "unit" failed`) {
				t.Errorf("the gate did not fail the build:\n%s", bkharness.Tail(msg, 30))
			}
			if errs := errorSteps(r, "false"); len(errs) > 0 {
				t.Errorf("error steps besides the failing test: %q", errs)
			}
			wantNoExport(t, r)
		})
	}
}

// TestRealNamesChecksReadResolvedImages: the final image's user is read
// from what the conversion resolved: FROM busybox (root) is reported,
// FROM org/img:1 (USER 1000 in its config) is not, in a build and in
// --call=check, with one lookup per image and no error step.
func TestRealNamesChecksReadResolvedImages(t *testing.T) {
	for _, tc := range []struct {
		from  string
		fires bool
	}{
		{"busybox", true},
		{"org/img:1", false},
	} {
		df := bkharness.SyntaxStagefront + "\nARG DOCS=false\nFROM " + tc.from + "\nRUN --if=DOCS echo docs\nRUN echo hi\n"
		files := map[string]string{".dockerignore": "*.log\n"}
		t.Run(tc.from+"/build", func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Files: files, Output: bkharness.OutputNone, Progress: "rawjson"}).Must(t)
			if errs := errorSteps(r); len(errs) > 0 {
				t.Errorf("error steps in a build that succeeded: %q", errs)
			}
			if fired := warned(r, "FinalStageRunsAsRoot"); fired != tc.fires {
				t.Errorf("FinalStageRunsAsRoot reported: %v, want %v\n%s", fired, tc.fires, bkharness.Tail(r.Progress, 30))
			}
			if n := stepsNamed(r, "load metadata for "); n != 1 {
				t.Errorf("%d image lookups, want 1:\n%s", n, bkharness.Tail(r.Progress, 30))
			}
		})
		t.Run(tc.from+"/check", func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Files: files, Output: bkharness.OutputNone, Call: "check", Progress: "rawjson"})
			if errs := errorSteps(r); len(errs) > 0 {
				t.Errorf("error steps in --call=check: %q", errs)
			}
			if fired := strings.Contains(r.Stdout, "WARNING: FinalStageRunsAsRoot"); fired != tc.fires {
				t.Errorf("FinalStageRunsAsRoot reported: %v, want %v\n%s", fired, tc.fires, r.Stdout)
			}
			if n := stepsNamed(r, "load metadata for "); n != 1 {
				t.Errorf("%d image lookups, want 1:\n%s", n, bkharness.Tail(r.Progress, 30))
			}
		})
	}
}

// TestRealNamesExists: exists() in a build answers as the CLI does: "**"
// at any depth, directories, symlinks inside the context followed, and
// nothing outside the context through a symlink, absolute or relative.
func TestRealNamesExists(t *testing.T) {
	df := bkharness.SyntaxStagefront + `
FROM busybox
RUN mkdir /out
RUN --if='exists("**/*.md")' touch /out/deep
RUN --if='exists("a/*/doc.md")' touch /out/one-level
RUN --if='exists("*.md")' touch /out/top
RUN --if='exists("abs/passwd")' touch /out/abs
RUN --if='exists("rel/passwd")' touch /out/rel
RUN --if='exists("docs/index.md")' touch /out/inside-link
FROM scratch
COPY --from=0 /out/ /
`
	dir := t.TempDir()
	bkharness.WriteFiles(t, dir, map[string]string{"Dockerfile": df, "a/b/doc.md": "x\n", "site/docs/index.md": "x\n"})
	for link, target := range map[string]string{"abs": "/etc", "rel": "../../../../../../../../etc", "docs": "site/docs"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	r := bkharness.Buildx(t, bkharness.Opts{Dir: dir, Progress: "rawjson"}).Must(t)
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	if got := strings.Join(r.Files(t), " "); got != "deep inside-link one-level" {
		t.Errorf("exported %q, want deep inside-link one-level (no top, and nothing through a link out of the context)", got)
	}
}

// TestRealNamesCheckCommentAboveInstruction: a `# check=` comment directly
// above an instruction: the build and its subrequests work as with
// upstream.
func TestRealNamesCheckCommentAboveInstruction(t *testing.T) {
	df := bkharness.SyntaxStagefront + "\nARG base=busybox\nFROM ${base}\n# check=skip=all\nARG password\nRUN echo ok\n"
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Output: bkharness.OutputNone, Progress: "rawjson"}).Must(t)
	if errs := errorSteps(r); len(errs) > 0 {
		t.Errorf("error steps: %q", errs)
	}
	for _, call := range []string{"outline", "targets", "check"} {
		r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Output: bkharness.OutputNone, Call: call, Files: map[string]string{".dockerignore": "x\n"}})
		if strings.Contains(r.Stdout+r.Progress, "internal error") || strings.Contains(r.Stdout+r.Progress, "nil pointer") {
			t.Errorf("--call=%s: %v\n%s", call, r.Err, bkharness.Tail(r.Stdout+r.Progress, 20))
		}
	}
}
