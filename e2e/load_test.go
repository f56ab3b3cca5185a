//go:build e2e

package e2e

// Load: 16 builds at once through one buildkitd (the shared one: this is
// load, not a fault), mixing clients (buildctl, docker buildx), build-arg
// flags, targets, one or two platforms and INCLUDEs (a path chosen by an
// ARG, and --from= a named context). Every export holds exactly what its
// arguments say, and no build shows an error step. Each build has a nonce
// of its own, so nothing passes from the cache of an earlier run, nor
// from a sibling build.
//
//	hack/e2e -run TestLoad

import (
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// loadBuilds is how many builds run at once.
const loadBuilds = 16

const loadDockerfile = bkharness.SyntaxStagefront + `
ARG NONCE
ARG FLAVOR=dev
ARG DOCS=false
INCLUDE stages/${FLAVOR}.Dockerfile
INCLUDE --from=shared common.Dockerfile

FROM --platform=$BUILDPLATFORM busybox AS build
ARG NONCE
ARG FLAVOR
ARG TARGETPLATFORM
RUN mkdir -p /out && echo "build $NONCE $FLAVOR $TARGETPLATFORM" > /out/build
RUN --if="FLAVOR == 'prod'" echo "prod $NONCE" > /out/prod-only

IF DOCS
FROM --platform=$BUILDPLATFORM busybox AS docs
ARG NONCE
RUN mkdir /docs && echo "docs $NONCE" > /docs/index.html
END

FROM scratch AS minimal
COPY --from=build /out/build /build

FROM scratch AS image
ARG TARGETARCH
COPY --from=build /out/ /
COPY --from=flavor /f /flavor
COPY --from=common /c /common
COPY --if=DOCS --from=docs /docs /docs
COPY arch-${TARGETARCH}.txt /arch
`

func loadFiles() map[string]string {
	files := map[string]string{
		"arch-amd64.txt": "amd64\n",
		"arch-arm64.txt": "arm64\n",
	}
	for _, fl := range []string{"dev", "prod"} {
		files["stages/"+fl+".Dockerfile"] = "FROM --platform=$BUILDPLATFORM busybox AS flavor\nARG NONCE\nARG TARGETARCH\nRUN echo \"" + fl + " $NONCE $TARGETARCH\" > /f\n"
	}
	return files
}

const loadShared = "FROM --platform=$BUILDPLATFORM busybox AS common\nARG NONCE\nRUN echo \"common $NONCE\" > /c\n"

// loadCase is one of the builds.
type loadCase struct {
	i         int
	client    string // buildctl or buildx
	platforms []string
	flavor    string
	docs      bool
	target    string
	nonce     string
}

func loadCases(runNonce string) []loadCase {
	plats := [][]string{{"linux/amd64"}, {"linux/arm64"}, {"linux/amd64", "linux/arm64"}}
	var cs []loadCase
	for i := range loadBuilds {
		c := loadCase{i: i, client: "buildctl", platforms: plats[i%3], flavor: "dev", target: "image", nonce: fmt.Sprintf("%s-%d", runNonce, i)}
		if i%2 == 1 {
			c.client = "buildx"
		}
		if i&2 != 0 {
			c.flavor = "prod"
		}
		c.docs = i&4 != 0
		if i%5 == 4 {
			c.target = "minimal"
		}
		cs = append(cs, c)
	}
	return cs
}

func (c loadCase) name() string {
	return fmt.Sprintf("%02d-%s-%s-%s-docs=%t-%s", c.i, c.client, strings.ReplaceAll(strings.Join(c.platforms, "+"), "linux/", ""), c.flavor, c.docs, c.target)
}

// want is the export this build must leave: path -> content.
func (c loadCase) want() map[string]string {
	out := map[string]string{}
	for _, p := range c.platforms {
		arch := strings.TrimPrefix(p, "linux/")
		dir := ""
		if len(c.platforms) > 1 {
			dir = "linux_" + arch + "/"
		}
		build := fmt.Sprintf("build %s %s %s\n", c.nonce, c.flavor, p)
		if c.target == "minimal" {
			out[dir+"build"] = build
			continue
		}
		out[dir+"build"] = build
		if c.flavor == "prod" {
			out[dir+"prod-only"] = "prod " + c.nonce + "\n"
		}
		out[dir+"flavor"] = fmt.Sprintf("%s %s %s\n", c.flavor, c.nonce, arch)
		out[dir+"common"] = "common " + c.nonce + "\n"
		if c.docs {
			out[dir+"docs/index.html"] = "docs " + c.nonce + "\n"
		}
		out[dir+"arch"] = arch + "\n"
	}
	return out
}

// goTB is the harness's TB for a build in a goroutine of its own: a
// Fatal ends that build (recovered in run), not the test.
type goTB struct {
	t   *testing.T
	pfx string
}

type goFatal struct{ msg string }

func (g goTB) Helper()                        {}
func (g goTB) Logf(format string, a ...any)   { g.t.Logf(g.pfx+format, a...) }
func (g goTB) Fatal(args ...any)              { panic(goFatal{fmt.Sprint(args...)}) }
func (g goTB) Fatalf(format string, a ...any) { panic(goFatal{fmt.Sprintf(format, a...)}) }
func (g goTB) TempDir() string                { return g.t.TempDir() }

func TestLoad(t *testing.T) {
	runNonce := nonce(t)
	shared := t.TempDir()
	bkharness.WriteFiles(t, shared, map[string]string{"common.Dockerfile": loadShared})
	cases := loadCases(runNonce)

	type outcome struct {
		r          *bkharness.Result
		start, end time.Time
		fatal      string
	}
	outs := make([]outcome, len(cases))
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					f, ok := p.(goFatal)
					if !ok {
						f = goFatal{fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
					}
					outs[i].fatal = f.msg
				}
			}()
			o := bkharness.Opts{
				Dockerfile: loadDockerfile, Files: loadFiles(), Platforms: c.platforms, Target: c.target,
				BuildArgs: map[string]string{"NONCE": c.nonce, "FLAVOR": c.flavor, "DOCS": fmt.Sprint(c.docs)},
				Progress:  "rawjson", Timeout: 10 * time.Minute,
			}
			tb := goTB{t: t, pfx: c.name() + ": "}
			<-gate
			outs[i].start = time.Now()
			if c.client == "buildx" {
				o.BuildContexts = map[string]string{"busybox": bkharness.Busybox["busybox"], "shared": shared}
				outs[i].r = bkharness.Buildx(tb, o)
			} else {
				o.BuildContexts = map[string]string{"busybox": bkharness.Busybox["busybox"], "shared": "local:shared"}
				o.Locals = map[string]string{"shared": shared}
				outs[i].r = bkharness.Buildctl(tb, o)
			}
			outs[i].end = time.Now()
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	t.Logf("%d builds at once in %s", len(cases), time.Since(t0).Round(time.Millisecond))

	var lastStart, firstEnd time.Time
	for i, c := range cases {
		o := outs[i]
		t.Run(c.name(), func(t *testing.T) {
			if o.fatal != "" {
				t.Fatalf("harness: %s", o.fatal)
			}
			o.r.Must(t)
			if len(o.r.Vertices()) == 0 {
				t.Fatalf("no steps in the progress stream:\n%s", bkharness.Tail(o.r.Progress, 20))
			}
			if errs := errorSteps(o.r); len(errs) > 0 {
				t.Errorf("error steps: %q", errs)
			}
			// The nonce made the build's own step run: nothing came from
			// the cache.
			if !o.r.Executed("RUN mkdir -p /out") {
				t.Errorf("the build stage's RUN did not execute (cached?): %+v", o.r.Vertices())
			}
			want := c.want()
			got := map[string]string{}
			for _, f := range o.r.Files(t) {
				if !strings.HasSuffix(f, "/") {
					got[f] = o.r.File(t, f)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("export:\n got  %v\n want %v", sortedTree(got), sortedTree(want))
			}
		})
		if o.start.After(lastStart) {
			lastStart = o.start
		}
		if !o.end.IsZero() && (firstEnd.IsZero() || o.end.Before(firstEnd)) {
			firstEnd = o.end
		}
	}
	// They ran at once: every build had started before the first ended.
	if !lastStart.Before(firstEnd) {
		t.Errorf("the builds did not overlap: the last started %s after the first ended", lastStart.Sub(firstEnd))
	}
}

func sortedTree(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "\n    %s: %q", k, m[k])
	}
	return b.String()
}
