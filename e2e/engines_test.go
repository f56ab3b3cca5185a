//go:build e2e && engines

package e2e

// stagefront through Docker Engine's embedded BuildKit, the way most users
// build: Engine 20.10 (Debian's docker.io, BuildKit ~0.8) with the classic
// `DOCKER_BUILDKIT=1 docker build`, and Engine 29 (moby/v2 v2.0.0-beta.24)
// with `docker buildx build` on its docker driver. hack/docker-engine
// starts both beside the project's buildkitd and runs these tests:
//
//	hack/docker-engine e2e [-run 'TestEngine.*/engine29']
//
// The cases that need buildx (--call, --build-context) run on Engine 20.10
// too, with buildx's docker driver (engine20buildx): the classic client
// has no such flags, the old engine's BuildKit serves them.
//
// Every build runs with --no-cache and a nonce in its RUN lines, and each
// case checks the exported files and the progress (a dead branch's RUN
// never shows). A test of an engine whose STAGEFRONT_ENGINE*_HOST is
// missing fails.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

type engineGetter struct {
	name string
	get  func(bkharness.TB) bkharness.Engine
}

var (
	engine20       = engineGetter{"engine20", bkharness.Engine20}
	engine20buildx = engineGetter{"engine20buildx", bkharness.Engine20Buildx}
	engine29       = engineGetter{"engine29", bkharness.Engine29}
)

// onEngines runs f as a subtest on each engine and client of which
// (default: Engine 20.10 with the classic client, Engine 29 with buildx).
func onEngines(t *testing.T, f func(t *testing.T, e bkharness.Engine), which ...engineGetter) {
	if len(which) == 0 {
		which = []engineGetter{engine20, engine29}
	}
	for _, g := range which {
		t.Run(g.name, func(t *testing.T) { f(t, g.get(t)) })
	}
}

// progressHas fails the test unless the build's progress (and error)
// has each of wants.
func progressHas(t *testing.T, r *bkharness.Result, wants ...string) {
	t.Helper()
	out := r.Progress
	if r.Err != nil {
		out = r.Err.Error() + "\n" + out
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("the progress lacks %q:\n%s", w, bkharness.Tail(out, 40))
		}
	}
}

// progressLacks fails the test when the build's progress has any of nots.
func progressLacks(t *testing.T, r *bkharness.Result, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(r.Progress, n) {
			t.Errorf("the progress has %q:\n%s", n, bkharness.Tail(r.Progress, 40))
		}
	}
}

// TestEngineVersion logs each engine's `docker version` and checks that
// the socket is that engine, and, through buildx, its BuildKit.
func TestEngineVersion(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		v := e.Version(t)
		t.Logf("%s (%s, %s):\n%s", e.Name, e.Host, e.Client, v)
		want := map[string][2]string{"engine20": {"20.10.", ""}, "engine20buildx": {"20.10.", "v0.8"}, "engine29": {"29.", "v0.33."}}[e.Name]
		if got := e.ServerVersion(t); !strings.HasPrefix(got, want[0]) {
			t.Errorf("%s is Engine %s, want %s*", e.Host, got, want[0])
		}
		if want[1] != "" {
			bk := e.BuildKitVersion(t)
			t.Logf("%s: BuildKit %s", e.Name, bk)
			if !strings.HasPrefix(bk, want[1]) {
				t.Errorf("%s embeds BuildKit %s, want %s*", e.Host, bk, want[1])
			}
		}
	}, engine20, engine20buildx, engine29)
}

// TestEngineUpstreamBaseline: upstream's own frontend (the same BuildKit
// as stagefront's, pushed as docker/dockerfile:upstream) builds a plain
// file, so a failure of the engine is told apart from one of stagefront.
func TestEngineUpstreamBaseline(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		n := nonce(t)
		r := e.Build(t, bkharness.Opts{Dockerfile: bkharness.SyntaxUpstream + `
FROM busybox AS build
RUN echo baseline-` + n + ` > /baseline
FROM scratch
COPY --from=build /baseline /baseline
`}).Must(t)
		if got := r.File(t, "baseline"); got != "baseline-"+n+"\n" {
			t.Errorf("/baseline = %q", got)
		}
		progressHas(t, r, "RUN echo baseline-"+n, "docker.io/docker/dockerfile:upstream")
	})
}

// engineFlagDockerfile: DOCS on appends a line to /app, off leaves it out.
const engineFlagDockerfile = bkharness.SyntaxStagefront + `
# DOCS puts the manual into the image.
ARG DOCS=false
FROM busybox AS build
RUN mkdir /out && echo app-NONCE > /out/app
RUN --if=DOCS echo docs-NONCE >> /out/app
FROM scratch
COPY --from=build /out/ /
`

// TestEngineFlag: `RUN --if=DOCS` on and off.
func TestEngineFlag(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		for _, tc := range []struct {
			docs string
			on   bool
		}{{"", false}, {"false", false}, {"true", true}, {"on", true}} {
			n := nonce(t)
			args := map[string]string{}
			if tc.docs != "" {
				args["DOCS"] = tc.docs
			}
			r := e.Build(t, bkharness.Opts{Dockerfile: strings.ReplaceAll(engineFlagDockerfile, "NONCE", n), BuildArgs: args}).Must(t)
			want := "app-" + n + "\n"
			if tc.on {
				want += "docs-" + n + "\n"
				progressHas(t, r, "RUN echo docs-"+n)
			} else {
				progressLacks(t, r, "docs-"+n)
			}
			if got := r.File(t, "app"); got != want {
				t.Errorf("DOCS=%q: /app = %q, want %q", tc.docs, got, want)
			}
			progressHas(t, r, "RUN mkdir /out && echo app-"+n)
		}
	})
}

// TestEngineIfElse: IF / ELSE IF / ELSE / END chooses one branch by a
// build arg; the others never run.
func TestEngineIfElse(t *testing.T) {
	const df = bkharness.SyntaxStagefront + `
ARG BUILD_ENV=production
FROM busybox AS base
IF BUILD_ENV == "development"
RUN echo development-NONCE > /mode
ELSE IF BUILD_ENV in ['staging', 'qa']
RUN echo staging-NONCE > /mode
ELSE
RUN echo production-NONCE > /mode
END
RUN echo shared-NONCE >> /mode
FROM scratch
COPY --from=base /mode /mode
`
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		for _, tc := range []struct{ env, branch string }{
			{"development", "development"}, {"qa", "staging"}, {"", "production"},
		} {
			n := nonce(t)
			args := map[string]string{}
			if tc.env != "" {
				args["BUILD_ENV"] = tc.env
			}
			r := e.Build(t, bkharness.Opts{Dockerfile: strings.ReplaceAll(df, "NONCE", n), BuildArgs: args}).Must(t)
			if got, want := r.File(t, "mode"), tc.branch+"-"+n+"\nshared-"+n+"\n"; got != want {
				t.Errorf("BUILD_ENV=%q: /mode = %q, want %q", tc.env, got, want)
			}
			progressHas(t, r, "RUN echo "+tc.branch+"-"+n, "RUN echo shared-"+n)
			for _, other := range []string{"development", "staging", "production"} {
				if other != tc.branch {
					progressLacks(t, r, other+"-"+n)
				}
			}
		}
	})
}

// TestEngineRequireGate: a REQUIREd tester stage the target never copies
// from runs; when it fails the build fails, naming the gate, and nothing
// is exported; when it passes the image is exported.
func TestEngineRequireGate(t *testing.T) {
	const df = bkharness.SyntaxStagefront + `
FROM busybox AS build
RUN mkdir /out && echo app-NONCE > /out/app
FROM busybox AS tester
ARG PASS=false
RUN echo testing-NONCE && [ "$PASS" = true ]
FROM scratch
REQUIRE tester
COPY --from=build /out/ /
`
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		n := nonce(t)
		r := e.Build(t, bkharness.Opts{Dockerfile: strings.ReplaceAll(df, "NONCE", n)})
		msg := r.MustFail(t)
		if !strings.Contains(msg, `REQUIRE gate "tester" failed`) {
			t.Errorf("the error does not name the gate:\n%s", bkharness.Tail(msg, 40))
		}
		progressHas(t, r, "RUN echo testing-"+n)
		wantNoExport(t, r)

		n = nonce(t)
		r = e.Build(t, bkharness.Opts{Dockerfile: strings.ReplaceAll(df, "NONCE", n), BuildArgs: map[string]string{"PASS": "true"}}).Must(t)
		if got := r.File(t, "app"); got != "app-"+n+"\n" {
			t.Errorf("with the gate passing: /app = %q", got)
		}
		progressHas(t, r, "RUN echo testing-"+n, "RUN mkdir /out && echo app-"+n)
	})
}

// TestEngineIncludeAndExists: a path INCLUDE of a fragment beside the
// Dockerfile, and `IF exists("docs/")` with and without docs/ in the
// build context.
func TestEngineIncludeAndExists(t *testing.T) {
	const df = bkharness.SyntaxStagefront + `
INCLUDE stages/build.Dockerfile
FROM scratch
COPY --from=build /out/ /
IF exists("docs/")
COPY docs/ /docs/
END
`
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		for _, withDocs := range []bool{true, false} {
			n := nonce(t)
			files := map[string]string{"stages/build.Dockerfile": "FROM busybox AS build\nRUN mkdir /out && echo built-" + n + " > /out/app\n"}
			if withDocs {
				files["docs/index.md"] = "# manual " + n + "\n"
			}
			r := e.Build(t, bkharness.Opts{Dockerfile: df, Files: files}).Must(t)
			if got := r.File(t, "app"); got != "built-"+n+"\n" {
				t.Errorf("/app = %q: not the fragment's RUN", got)
			}
			progressHas(t, r, "RUN mkdir /out && echo built-"+n)
			if withDocs {
				if got := r.File(t, "docs/index.md"); got != "# manual "+n+"\n" {
					t.Errorf("/docs/index.md = %q", got)
				}
				progressHas(t, r, "COPY docs/ /docs/")
			} else {
				if r.HasFile("docs") {
					t.Errorf("without docs/ the export has /docs: %v", r.Files(t))
				}
				progressLacks(t, r, "COPY docs/")
			}
		}
	})
}

// TestEngineErrorNamesTheLine: an error of the extended syntax names the
// Dockerfile's line.
func TestEngineErrorNamesTheLine(t *testing.T) {
	cases := []struct{ df, want, line string }{
		{"ARG DOCS=false\nFROM busybox\nIF DOCS\nRUN echo x\n", "IF without END", "IF DOCS"},
		{"ARG DOCS=false\nFROM busybox\nRUN --if=DOSC echo x\n", "undeclared name DOSC; did you mean DOCS?", "RUN --if=DOSC echo x"},
	}
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		for _, tc := range cases {
			r := e.Build(t, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\n" + tc.df, Output: bkharness.OutputNone})
			msg := r.MustFail(t)
			wants := []string{tc.want, "Dockerfile:4"}
			if !e.Classic {
				wants = append(wants, "   4 | >>> "+tc.line) // buildx shows the line
			}
			for _, w := range wants {
				if !strings.Contains(msg, w) {
					t.Errorf("the error lacks %q:\n%s", w, bkharness.Tail(msg, 30))
				}
			}
			if r.Ran("RUN echo x") {
				t.Errorf("a step ran:\n%s", bkharness.Tail(r.Progress, 30))
			}
		}
	})
}

// TestEngineDockerfileFromStdin: `docker build -f - .` with a path INCLUDE
// of a file of the build context: the classic client sends the Dockerfile
// alone in a directory of its own, and the fragment is read from the build
// context's root; buildx (-f -) too, on both engines.
func TestEngineDockerfileFromStdin(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		n := nonce(t)
		r := e.Build(t, bkharness.Opts{
			Files: map[string]string{"stages/x.Dockerfile": "FROM busybox AS x\nRUN echo root-" + n + " > /x\n"},
			Stdin: bkharness.SyntaxStagefront + "\nINCLUDE stages/x.Dockerfile\nFROM scratch\nCOPY --from=x /x /x\n",
		}).Must(t)
		if got := r.File(t, "x"); got != "root-"+n+"\n" {
			t.Errorf("/x = %q", got)
		}
		progressHas(t, r, "RUN echo root-"+n)
	}, engine20, engine20buildx, engine29)
}

// TestEngineCallOutline (buildx only, on both engines): --call=outline lists the flag with
// its doc comment and value, on the engine's BuildKit.
func TestEngineCallOutline(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		for _, v := range []string{"false", "true"} {
			r := e.Build(t, bkharness.Opts{Dockerfile: strings.ReplaceAll(engineFlagDockerfile, "NONCE", nonce(t)),
				BuildArgs: map[string]string{"DOCS": v}, Call: "outline", Output: bkharness.OutputNone}).Must(t)
			// BUILD ARG  VALUE  DESCRIPTION, the doc comment less the name.
			if want := regexp.MustCompile(`(?m)^DOCS\s+` + v + `\s+puts the manual into the image\.`); !want.MatchString(r.Stdout) {
				t.Errorf("DOCS=%s: the outline has no line matching %s:\n%s", v, want, r.Stdout)
			}
			if r.Ran("RUN ") {
				t.Errorf("DOCS=%s: --call=outline ran a step:\n%s", v, bkharness.Tail(r.Progress, 30))
			}
		}
	}, engine20buildx, engine29)
}

// TestEngineCallCheck (buildx only, on both engines): --call=check reports stagefront's
// rules and upstream's.
func TestEngineCallCheck(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		r := e.Build(t, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\nFROM busybox as build\nIF true\nRUN echo x\nEND\n",
			Call: "check", Output: bkharness.OutputNone})
		out := r.Stdout + "\n" + r.Progress
		// Each warning names its rule, says what is wrong and shows its line.
		for _, w := range []string{
			`WARNING: ConstantCondition - \S+\nThe condition "true" is always true[^\n]*\n(\S*/)?Dockerfile:3\n`,
			`WARNING: FromAsCasing - \S+\n'as' and 'FROM' keywords' casing do not match\n(\S*/)?Dockerfile:2\n`,
		} {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("--call=check has nothing matching %s:\n%s", w, bkharness.Tail(out, 60))
			}
		}
		if r.Ran("RUN echo x") {
			t.Errorf("--call=check ran a step:\n%s", bkharness.Tail(r.Progress, 30))
		}
	}, engine20buildx, engine29)
}

// TestEngineIncludeFromNamedContext (buildx only, on both engines): INCLUDE --from=NAME
// with --build-context NAME=dir.
func TestEngineIncludeFromNamedContext(t *testing.T) {
	onEngines(t, func(t *testing.T, e bkharness.Engine) {
		n := nonce(t)
		shared := t.TempDir()
		bkharness.WriteFiles(t, shared, map[string]string{
			"go/test.Dockerfile": "FROM busybox AS test\nRUN echo test-" + n + " > /t\nINCLUDE lint.Dockerfile\n",
			"go/lint.Dockerfile": "RUN echo lint-" + n + " >> /t\n",
		})
		r := e.Build(t, bkharness.Opts{
			Dockerfile:    bkharness.SyntaxStagefront + "\nINCLUDE --from=fragments go/test.Dockerfile\nFROM scratch\nCOPY --from=test /t /t\n",
			BuildContexts: map[string]string{"fragments": shared},
		}).Must(t)
		if got := r.File(t, "t"); got != "test-"+n+"\nlint-"+n+"\n" {
			t.Errorf("/t = %q", got)
		}
		progressHas(t, r, "RUN echo test-"+n, "RUN echo lint-"+n)
	}, engine20buildx, engine29)
}
