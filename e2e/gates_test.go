//go:build e2e

package e2e

// REQUIRE gates, checked stage selection, exists() and cache stability
// on the real BuildKit, through the pushed frontend image
// (`docker buildx build`, `buildctl`) and in-process.
//
//	hack/e2e -run 'TestGate|TestRequire|TestExists|TestStageSelect|TestCache'

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// gateDockerfile: the image copies the build stage's output; the tester
// stage is reached only through REQUIRE. testCmd is tester's last RUN.
func gateDockerfile(nonce, testCmd string) string {
	return bkharness.SyntaxStagefront + `
FROM busybox AS build
RUN mkdir /out && echo "built ` + nonce + `" > /out/app.txt

FROM busybox AS tester
RUN echo "testing ` + nonce + `"
RUN ` + testCmd + `

FROM scratch
REQUIRE tester
COPY --from=build /out/ /
`
}

// A failing tester gate fails the build, exports nothing, names the gate,
// and buildx shows the user's failing line and the REQUIRE line.
func TestGateFailingTesterBlocksExport(t *testing.T) {
	for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildx": bkharness.Buildx, "buildctl": bkharness.Buildctl, "in-process": inProcess} {
		t.Run(name, func(t *testing.T) {
			r := run(t, bkharness.Opts{Dockerfile: gateDockerfile(nonce(t), "false"), BuildContexts: bkharness.Busybox})
			msg := r.MustFail(t)
			wantNoExport(t, r)
			if !strings.Contains(msg, `REQUIRE gate "tester" failed`) {
				t.Errorf("the error does not name the gate:\n%s", bkharness.Tail(msg, 40))
			}
			if !strings.Contains(msg, `"/bin/sh -c false" did not complete successfully`) {
				t.Errorf("the error does not say what failed:\n%s", bkharness.Tail(msg, 40))
			}
			if name == "buildx" {
				for _, line := range []string{">>> RUN false", ">>> REQUIRE tester"} {
					if !strings.Contains(msg, line) {
						t.Errorf("buildx does not show the user's line %q:\n%s", line, bkharness.Tail(msg, 40))
					}
				}
			}
		})
	}
}

// A passing gate lets the build export; the gate's steps really ran and
// nothing of the gate is in the image.
func TestGatePassingLetsExport(t *testing.T) {
	for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildx": bkharness.Buildx, "in-process": inProcess} {
		t.Run(name, func(t *testing.T) {
			nonce := nonce(t)
			r := run(t, bkharness.Opts{Dockerfile: gateDockerfile(nonce, "true"), BuildContexts: bkharness.Busybox}).Must(t)
			if got, want := r.Files(t), []string{"app.txt"}; !reflect.DeepEqual(got, want) {
				t.Errorf("exported %v, want %v (nothing of the gate)", got, want)
			}
			if got := r.File(t, "app.txt"); got != "built "+nonce+"\n" {
				t.Errorf("app.txt = %q", got)
			}
			if !r.Executed(`RUN echo "testing ` + nonce) {
				t.Errorf("the tester gate's RUN did not execute; steps:\n%v", stageSteps(r))
			}
		})
	}
}

// The gates build in parallel with the target: two gates of 3 s and a
// 3 s target are running at one instant, as the daemon's timestamps of
// the steps show.
func TestGatesRunInParallel(t *testing.T) {
	nonce := nonce(t)
	df := bkharness.SyntaxStagefront + `
FROM busybox AS gate-a
RUN sleep 3 && echo "a ` + nonce + `"

FROM busybox AS gate-b
RUN sleep 3 && echo "b ` + nonce + `"

FROM busybox AS build
RUN sleep 3 && mkdir /out && echo "c ` + nonce + `" > /out/done

FROM scratch
REQUIRE gate-a gate-b
COPY --from=build /out/ /
`
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Progress: "rawjson"}).Must(t)
	if !r.HasFile("done") {
		t.Errorf("no export: %v", r.Files(t))
	}
	lastStart, firstEnd, ok := together(r, `echo "a `+nonce, `echo "b `+nonce, `echo "c `+nonce)
	if !ok {
		t.Fatalf("the three sleep steps are not all in the progress: %v", stageSteps(r))
	}
	// Run one after the other, the last would start after the first
	// ended; run together, all three are running at one instant.
	if !lastStart.Before(firstEnd) {
		t.Errorf("the gates did not run with the target: the last of the three sleep steps started %s after the first ended", lastStart.Sub(firstEnd).Round(10*time.Millisecond))
	}
}

// Multi-platform: each platform has its own gates. The arm64-only gate
// fails (its file is missing) only when arm64 is built.
func TestGatePerPlatform(t *testing.T) {
	df := bkharness.SyntaxStagefront + `
FROM scratch AS check-arm
COPY arm-release-notes.txt /

FROM scratch AS check
COPY common.txt /

FROM scratch
REQUIRE check
REQUIRE --if="TARGETARCH == 'arm64'" check-arm
COPY common.txt /
`
	files := map[string]string{"common.txt": "common\n"}
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Files: files, Platforms: []string{"linux/amd64"}}).Must(t)
	if got := r.File(t, "common.txt"); got != "common\n" {
		t.Errorf("common.txt = %q", got)
	}
	r = bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Files: files, Platforms: []string{"linux/amd64", "linux/arm64"}})
	msg := r.MustFail(t)
	wantNoExport(t, r)
	if !strings.Contains(msg, `REQUIRE gate "check-arm" failed for linux/arm64`) {
		t.Errorf("error does not name the gate and platform:\n%s", bkharness.Tail(msg, 40))
	}
	if !strings.Contains(msg, "arm-release-notes.txt") {
		t.Errorf("error does not say what is missing:\n%s", bkharness.Tail(msg, 40))
	}
}

// --call=outline and --call=targets show the requirements and build
// nothing: no gate runs.
func TestRequireInOutlineAndTargets(t *testing.T) {
	nonce := nonce(t)
	df := gateDockerfile(nonce, "false")
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Call: "outline", Output: bkharness.OutputNone}).Must(t)
	if !strings.Contains(r.Stdout, "requires: tester (line 10)") {
		t.Errorf("outline does not show the gate:\n%s", r.Stdout)
	}
	if r.Ran("[tester") {
		t.Errorf("--call=outline ran the gate")
	}
	r = bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Call: "targets", Output: bkharness.OutputNone}).Must(t)
	if !strings.Contains(r.Stdout, "requires: tester (line 10)") {
		t.Errorf("targets do not show the requirement:\n%s", r.Stdout)
	}
	if r.Ran("[tester") {
		t.Errorf("--call=targets ran the gate")
	}
	t.Logf("outline:\n%s", r.Stdout)
}

// FROM ${BUILD_ENV} AS final: a value that names a stage selects it; a
// typo gets the stages and a did-you-mean at the user's line, not a
// registry error.
func TestStageSelectBuildEnvTypo(t *testing.T) {
	const body = `
ARG BUILD_ENV=production
ARG INCLUDE_DOCS=false

FROM busybox AS development
RUN echo development > /env.txt

FROM busybox AS production
RUN echo production > /env.txt

FROM ${BUILD_ENV} AS final
COPY --if=INCLUDE_DOCS docs /docs
`
	df := bkharness.SyntaxStagefront + body
	t.Run("selects", func(t *testing.T) {
		r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df + "FROM scratch\nCOPY --from=final /env.txt /\n", BuildContexts: bkharness.Busybox, BuildArgs: map[string]string{"BUILD_ENV": "development"}}).Must(t)
		if got := r.File(t, "env.txt"); got != "development\n" {
			t.Errorf("env.txt = %q", got)
		}
	})
	// errLine is buildx's "ERROR: ..." line: the build's error itself, not
	// a lint warning that may mention the same stages.
	errLine := func(msg string) string {
		for _, l := range strings.Split(msg, "\n") {
			if strings.HasPrefix(l, "ERROR: ") {
				return l
			}
		}
		return ""
	}
	check := func(t *testing.T, r *bkharness.Result) {
		t.Helper()
		msg := r.MustFail(t)
		e := errLine(msg)
		for _, want := range []string{`did you mean "production"?`, "The stages are: development, production"} {
			if !strings.Contains(e, want) {
				t.Errorf("the error lacks %q: %s\n%s", want, e, bkharness.Tail(msg, 40))
			}
		}
		if !strings.Contains(msg, ">>> FROM ${BUILD_ENV} AS final") {
			t.Errorf("buildx does not show the user's line:\n%s", bkharness.Tail(msg, 40))
		}
		for _, bad := range []string{"pull access denied", "failed to resolve source metadata", ":latest: not found"} {
			if strings.Contains(e, bad) {
				t.Errorf("a registry error (%q) for a misspelt stage: %s", bad, e)
			}
		}
	}
	t.Run("typo", func(t *testing.T) {
		check(t, bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, BuildArgs: map[string]string{"BUILD_ENV": "prodution"}, Output: bkharness.OutputNone}))
	})
	// The guide's own pattern uses no other extension.
	t.Run("typo in a file without other extensions", func(t *testing.T) {
		plain := bkharness.SyntaxStagefront + strings.Replace(strings.Replace(body, "ARG INCLUDE_DOCS=false\n", "", 1), "COPY --if=INCLUDE_DOCS docs /docs\n", "", 1)
		r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: plain, BuildContexts: bkharness.Busybox, BuildArgs: map[string]string{"BUILD_ENV": "prodution"}, Output: bkharness.OutputNone})
		msg := r.MustFail(t)
		// A standard file whose FROM picks a stage by an ARG is checked
		// for that one error (analysis.File.SelectsByVar).
		if e := errLine(msg); !strings.Contains(e, "did you mean") {
			t.Errorf("a misspelt stage chosen by FROM ${BUILD_ENV} gets no did-you-mean: %s", e)
		}
		check(t, r)
	})
}

// COPY --from=${VARIANT} and RUN --mount=from=${DEPS} choose stages by
// build arg; the stages not chosen do not run.
func TestStageSelectCopyFromAndMountFrom(t *testing.T) {
	nonce := nonce(t)
	df := bkharness.SyntaxStagefront + `
ARG VARIANT=slim
ARG DEPS=deps-a

FROM busybox AS slim
RUN echo "slim ` + nonce + `" > /variant.txt

FROM busybox AS full
RUN echo "full ` + nonce + `" > /variant.txt

FROM busybox AS deps-a
RUN mkdir /deps && echo "a ` + nonce + `" > /deps/name

FROM busybox AS deps-b
RUN mkdir /deps && echo "b ` + nonce + `" > /deps/name

FROM busybox AS final
COPY --from=${VARIANT} /variant.txt /out/variant.txt
RUN --mount=from=${DEPS},source=/deps,target=/deps cp /deps/name /out/deps.txt

FROM scratch
COPY --from=final /out/ /
`
	for _, tc := range []struct {
		args              map[string]string
		variant, deps     string
		notVariant, notDp string
	}{
		{nil, "slim", "a", "full", "b"},
		{map[string]string{"VARIANT": "full", "DEPS": "deps-b"}, "full", "b", "slim", "a"},
	} {
		t.Run(tc.variant+"-"+tc.deps, func(t *testing.T) {
			for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildx": bkharness.Buildx, "in-process": inProcess} {
				t.Run(name, func(t *testing.T) {
					r := run(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, BuildArgs: tc.args}).Must(t)
					if got, want := r.File(t, "variant.txt"), tc.variant+" "+nonce+"\n"; got != want {
						t.Errorf("variant.txt = %q, want %q", got, want)
					}
					if got, want := r.File(t, "deps.txt"), tc.deps+" "+nonce+"\n"; got != want {
						t.Errorf("deps.txt = %q, want %q", got, want)
					}
					if r.Ran(`echo "`+tc.notVariant+" "+nonce) || r.Ran(`echo "`+tc.notDp+" "+nonce) {
						t.Errorf("a stage that was not chosen ran: %v", stageSteps(r))
					}
				})
			}
		})
	}
}

// exists(): the optional COPY users ask for.
func TestExistsOptionalCopy(t *testing.T) {
	df := bkharness.SyntaxStagefront + `
FROM scratch
COPY app.txt /app/
COPY --if='exists("docs/")' docs /app/docs
`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"present", map[string]string{"app.txt": "app\n", "docs/index.html": "docs\n"}, []string{"app/", "app/app.txt", "app/docs/", "app/docs/index.html"}},
		{"absent", map[string]string{"app.txt": "app\n"}, []string{"app/", "app/app.txt"}},
		{"dockerignored", map[string]string{"app.txt": "app\n", "docs/index.html": "docs\n", ".dockerignore": "docs\n"}, []string{"app/", "app/app.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildx": bkharness.Buildx, "buildctl": bkharness.Buildctl} {
				t.Run(name, func(t *testing.T) {
					r := run(t, bkharness.Opts{Dockerfile: df, Files: tc.files}).Must(t)
					if got := r.Files(t); !reflect.DeepEqual(got, tc.want) {
						t.Errorf("exported %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}

// Toggling a flag used only by a condition re-runs only what it guards:
// the guarded COPY, the docs stage it brings in, and the steps built on
// top of the COPY's layer; the steps before it stay CACHED, and flipping
// back is a full cache hit. The flag never enters a RUN's environment.
func TestCacheStabilityIncludeDocs(t *testing.T) {
	nonce := nonce(t)
	df := bkharness.SyntaxStagefront + `
# INCLUDE_DOCS ships the documentation
ARG INCLUDE_DOCS=false

FROM busybox AS docs
RUN mkdir -p /site && echo "docs ` + nonce + `" > /site/index.html

FROM busybox AS final
RUN echo "one ` + nonce + `" > /one.txt
RUN echo two > /two.txt
COPY --if=INCLUDE_DOCS --from=docs /site /app/docs
RUN echo three > /three.txt
RUN env | sort > /env.txt

FROM scratch
COPY --from=final /one.txt /two.txt /three.txt /env.txt /
`
	build := func(flag string) *bkharness.Result {
		t.Helper()
		return bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, BuildArgs: map[string]string{"INCLUDE_DOCS": flag}}).Must(t)
	}
	report := func(label string, r *bkharness.Result) (cached, executed []string) {
		cached, executed = countSteps(r)
		t.Logf("%s: %d CACHED, %d executed\n  cached:   %s\n  executed: %s", label, len(cached), len(executed), strings.Join(cached, " | "), strings.Join(executed, " | "))
		return cached, executed
	}

	r1 := build("false")
	_, ex1 := report("INCLUDE_DOCS=false (first build)", r1)
	if strings.Contains(r1.File(t, "env.txt"), "INCLUDE_DOCS") {
		t.Errorf("INCLUDE_DOCS is in a RUN's environment:\n%s", r1.File(t, "env.txt"))
	}
	if len(ex1) != 5 || r1.Ran("[docs") {
		t.Errorf("first build: want 5 executed steps and no docs stage, got %v", ex1)
	}

	r2 := build("true")
	c2, ex2 := report("INCLUDE_DOCS=true (flag flipped)", r2)
	wantCached := []string{"final: RUN echo \"one " + nonce, "final: RUN echo two"}
	wantExecuted := []string{"docs: RUN mkdir -p /site", "final: COPY --from=docs /site /app/docs", "final: RUN echo three", "final: RUN env | sort", "COPY --from=final"}
	if m := missingSteps(c2, wantCached...); len(m) > 0 || len(c2) != len(wantCached) {
		t.Errorf("flag flipped: cached %v, want exactly %v (missing %v)", c2, wantCached, m)
	}
	if m := missingSteps(ex2, wantExecuted...); len(m) > 0 || len(ex2) != len(wantExecuted) {
		t.Errorf("flag flipped: executed %v, want exactly %v (missing %v)", ex2, wantExecuted, m)
	}
	if strings.Contains(r2.File(t, "env.txt"), "INCLUDE_DOCS") {
		t.Errorf("INCLUDE_DOCS is in a RUN's environment:\n%s", r2.File(t, "env.txt"))
	}

	r3 := build("false")
	c3, ex3 := report("INCLUDE_DOCS=false again", r3)
	if len(ex3) != 0 || len(c3) != 5 {
		t.Errorf("flipping back: want all 5 steps CACHED, got cached %v executed %v", c3, ex3)
	}
}
