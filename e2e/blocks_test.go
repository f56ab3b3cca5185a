//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

// alternativeFinals is the README's pattern of alternative final stages,
// with the lines all branches share written once after END: they
// continue whichever final holds.
const alternativeFinals = `# syntax=org/stagefront
ARG BUILD_ENV=production
IF BUILD_ENV == "development"
FROM alpine:3.18 AS final
RUN echo development > /mode && echo curl vim > /tools
ELSE IF BUILD_ENV in ['staging', 'qa']
FROM alpine:3.18 AS final
RUN echo staging > /mode
ELSE
FROM alpine:3.18 AS final
RUN echo production > /mode && echo dumb-init > /tools
END
COPY app/ /app
CMD ["/app/server"]
`

// TestLinesAfterEndContinueTheLiveStage builds the pattern in each mode
// through docker buildx and reads the image: the branch's own step, and
// the COPY and CMD after END, whichever final holds.
func TestLinesAfterEndContinueTheLiveStage(t *testing.T) {
	for _, tc := range []struct {
		env, mode, tools string
	}{
		{"development", "development", "curl vim"},
		{"staging", "staging", ""},
		{"qa", "staging", ""},
		{"production", "production", "dumb-init"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{
				Dockerfile:    alternativeFinals,
				Files:         map[string]string{"app/server": "#!/bin/sh\necho serving\n"},
				BuildArgs:     map[string]string{"BUILD_ENV": tc.env},
				BuildContexts: map[string]string{"alpine:3.18": "docker-image://" + bkharness.BusyboxImage},
				Output:        bkharness.OutputOCI,
			}).Must(t)
			img := r.OCIImage(t, "")
			if got := img.Files["mode"]; got != tc.mode+"\n" {
				t.Errorf("/mode = %q, want %q: the wrong branch's final", got, tc.mode+"\n")
			}
			if got, ok := img.Files["tools"]; (tc.tools == "") == ok || (ok && got != tc.tools+"\n") {
				t.Errorf("/tools = %q (present: %t), want %q", got, ok, tc.tools)
			}
			if got := img.Files["app/server"]; got != "#!/bin/sh\necho serving\n" {
				t.Errorf("/app/server = %q: the COPY after END did not reach the image", got)
			}
			if got := img.Config.Config.Cmd; !slices.Equal(got, []string{"/app/server"}) {
				t.Errorf("Cmd = %q: the CMD after END did not reach the image", got)
			}
			if !r.Ran("COPY app/ /app") {
				t.Errorf("progress has no COPY step:\n%s", bkharness.Tail(r.Progress, 30))
			}
		})
	}
}

// TestLineWithNoLiveStage: a line after END that no live FROM precedes
// fails the build at its line, instead of becoming a global line of the
// rewrite; with the branch on, the same file builds.
func TestLineWithNoLiveStage(t *testing.T) {
	df := "# syntax=org/stagefront\nARG WITH_BASE=false\nIF WITH_BASE\nFROM busybox AS base\nEND\nRUN echo orphan > /o\n"
	out := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone}).MustFail(t)
	for _, want := range []string{"Dockerfile:6", "RUN has no stage with these build args", `IF WITH_BASE (line 3) with WITH_BASE="false"`} {
		if !strings.Contains(out, want) {
			t.Errorf("error lacks %q:\n%s", want, bkharness.Tail(out, 30))
		}
	}
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, BuildArgs: map[string]string{"WITH_BASE": "true"}}).Must(t)
	if got := r.File(t, "o"); got != "orphan\n" {
		t.Errorf("/o = %q", got)
	}
}

// TestStageDependsOnBranchCheck: --call=check names the stages the lines
// after END may continue.
func TestStageDependsOnBranchCheck(t *testing.T) {
	df := "# syntax=org/stagefront\nARG DEBUG=false\nFROM busybox AS app\nRUN echo app\nIF DEBUG\nFROM busybox AS debug\nEND\nCMD [\"/app\"]\n"
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Call: "check", Output: bkharness.OutputNone})
	out := r.Stdout + r.Progress
	for _, want := range []string{"StageDependsOnBranch", `stage "app" (line 3) or stage "debug" (line 6)`, "Dockerfile:8"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, bkharness.Tail(out, 40))
		}
	}
}
