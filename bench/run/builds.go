package main

// Builds through buildctl, with the shared harness (internal/bkharness).

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// buildOpts is one build: the context, the Dockerfile's directory and
// name, and --opt values (key=value).
type buildOpts struct {
	context, dockerfileDir, filename string
	opts                             []string
}

// buildResult is what a build left: its time, progress and error.
type buildResult struct {
	took     time.Duration
	output   string
	err      error
	vertices []bkharness.Vertex
}

// benchTB is the harness's TB for this program: Fatal ends the build at
// hand with an error (see buildctl), not the program.
type benchTB struct{}

type harnessFailure struct{ msg string }

func (benchTB) Helper()                        {}
func (benchTB) Logf(string, ...any)            {}
func (benchTB) Fatal(args ...any)              { panic(harnessFailure{fmt.Sprint(args...)}) }
func (benchTB) Fatalf(format string, a ...any) { panic(harnessFailure{fmt.Sprintf(format, a...)}) }
func (benchTB) TempDir() string {
	d, err := os.MkdirTemp(tmp, "build-")
	if err != nil {
		panic(harnessFailure{err.Error()})
	}
	return d
}

// buildctl runs one `buildctl build` (progress "plain" or "rawjson").
func buildctl(o buildOpts, progress string) (r buildResult) {
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(harnessFailure)
			if !ok {
				panic(p)
			}
			r.err = fmt.Errorf("buildctl (%s): %s", o.dockerfileDir, f.msg)
		}
	}()
	ho := bkharness.Opts{Dir: o.context, DockerfileDir: o.dockerfileDir, Filename: o.filename,
		FrontendOpts: map[string]string{}, Output: bkharness.OutputNone, Progress: progress}
	for _, kv := range o.opts {
		k, v, _ := strings.Cut(kv, "=")
		ho.FrontendOpts[k] = v
	}
	res := bkharness.Buildctl(benchTB{}, ho)
	r = buildResult{took: res.Took, output: res.Progress, vertices: res.Vertices()}
	if res.Err != nil {
		r.err = fmt.Errorf("%s: %s", lastErrorLine(res.Progress), bkharness.FirstLine(res.Err.Error()))
	}
	return r
}

// stepName is a Dockerfile step's name without its "n/m" position, so that
// a step keeps its name when an instruction before it is turned off; "" for
// vertices that are no Dockerfile step (internal loads, resolves, FROM).
var stepRe = regexp.MustCompile(`^\[([^\]]*?)\s*\d+/\d+\] (.*)$`)

func stepName(v bkharness.Vertex) string {
	m := stepRe.FindStringSubmatch(v.Name)
	if m == nil || strings.HasPrefix(m[2], "FROM ") {
		return ""
	}
	return "[" + m[1] + "] " + m[2]
}

// lastErrorLine is the last line of a build's output that says ERROR or
// error, else its last line.
func lastErrorLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "ERROR") || strings.Contains(lines[i], "error:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
