// Package suite runs BuildKit's own integration suite of the Dockerfile
// frontend (TestIntegration of frontend/dockerfile, from the BuildKit
// module go.mod requires) in gateway mode against two frontend images,
// upstream's and stagefront's, and compares them test by test: a test that
// passes with upstream and not with stagefront is a difference, unless
// the deviations file accepts it.
//
// It compiles the suite (Compile, with a small patch for the subrequests
// mode), lists its test functions by reading the source (TestFuncs), copies
// the images out of the local registry as OCI layouts (OCILayoutTar), runs
// the test binary until every test has a result (Runner), and compares
// and reports (Compare, Report). hack/upstream-suite starts what the suite
// needs (the daemons, the registry mirror with its stand-in images) and
// runs this through internal/upstream/cmd/upstream-suite.
package suite

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// The patch of the suite's source. Without STAGEFRONT_SUBREQUESTS=1 the
// patched binary behaves exactly as BuildKit's.
//
//  1. dockerfile_test.go: once the gateway frontend has its image name,
//     hand it to stagefrontSetGateway.
//  2. dockerfile_{outline,targets,check}_test.go: each BuildFunc these
//     tests run in the test process starts with c = stagefrontClient(t, c):
//     with STAGEFRONT_SUBREQUESTS=1 its Solve sends every subrequest
//     (outline, targets, lint, subrequests.describe) to gateway.v0 with
//     source=<the image under test> instead of the daemon's built-in
//     dockerfile.v0.
//  3. dockerfile_{outline,targets}_test.go: the outline and targets tests,
//     which run with the client frontend only, run in the gateway instance
//     too with STAGEFRONT_SUBREQUESTS=1, their subrequests now going to
//     the image.
//  4. zz_stagefront_test.go: stagefrontSetGateway and stagefrontClient;
//     warnings of the rules named in STAGEFRONT_OWN_RULES are taken out of
//     a lint result, each logged as "stagefront-subrequests: dropped
//     <Rule> ...".
//
// Each edit must apply exactly as often as the source had it when this
// was written: a BuildKit whose test source changed fails the patch,
// which says what to update.

//go:embed zz_stagefront_test.go.in
var patchFile []byte

// An edit inserts a line after, or replaces, each line that matches.
type edit struct {
	files []string
	match *regexp.Regexp
	// after is inserted after the line; replace replaces it (both use
	// the match's submatches).
	after, replace string
	want           int
}

var edits = []edit{
	{
		files: []string{"dockerfile_test.go"},
		match: regexp.MustCompile(`(?m)^(\t*)frontends\["gateway"\] = &gatewayFrontend\{gw: name\}$`),
		after: "${1}stagefrontSetGateway(name)",
		want:  1,
	},
	{
		files: []string{"dockerfile_outline_test.go", "dockerfile_targets_test.go", "dockerfile_check_test.go"},
		match: regexp.MustCompile(`(?m)^(\t*)frontend := func\(ctx context\.Context, c gateway\.Client\) \(\*gateway\.Result, error\) \{$`),
		after: "${1}\tc = stagefrontClient(t, c)",
		want:  7,
	},
	{
		files:   []string{"dockerfile_outline_test.go", "dockerfile_targets_test.go", "dockerfile_check_test.go"},
		match:   regexp.MustCompile(`(?m)^(\t*)if _, ok := f\.\(\*clientFrontend\); !ok \{$`),
		replace: `${1}if _, ok := f.(*clientFrontend); !ok && stagefrontGateway == "" {`,
		want:    6,
	},
}

// Patch applies the patch to pkgDir, a writable copy of BuildKit's
// frontend/dockerfile.
func Patch(pkgDir string) error {
	for _, e := range edits {
		n := 0
		for _, name := range e.files {
			p := filepath.Join(pkgDir, name)
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dt = e.match.ReplaceAllFunc(dt, func(line []byte) []byte {
				n++
				sub := e.match.FindSubmatchIndex(line)
				if e.replace != "" {
					return e.match.Expand(nil, []byte(e.replace), line, sub)
				}
				return append(append(append([]byte{}, line...), '\n'), e.match.Expand(nil, []byte(e.after), line, sub)...)
			})
			if err := os.WriteFile(p, dt, 0o644); err != nil {
				return err
			}
		}
		if n != e.want {
			return fmt.Errorf("patch: %d lines of %v match %s, want %d: BuildKit's test source changed; update internal/upstream/suite/patch.go", n, e.files, e.match, e.want)
		}
	}
	return os.WriteFile(filepath.Join(pkgDir, "zz_stagefront_test.go"), patchFile, 0o644)
}

// patchKey identifies the patch, for the compiled binary's name.
func patchKey() []byte {
	var b bytes.Buffer
	for _, e := range edits {
		fmt.Fprintf(&b, "%v|%s|%s|%s|%d\n", e.files, e.match, e.after, e.replace, e.want)
	}
	b.Write(patchFile)
	return b.Bytes()
}
