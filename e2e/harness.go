//go:build e2e

// Package e2e is stagefront's end-to-end suite, on the real BuildKit that
// hack/buildkit-up starts, through the pushed frontend image (buildctl,
// docker buildx) and in-process. Run it with hack/e2e. The harness is
// internal/bkharness, shared with the gateway's own end-to-end tests and
// the benchmarks; this file names it for the suite.
package e2e

import (
	"testing"

	"github.com/org/stagefront/frontend/builder"
	"github.com/org/stagefront/internal/bkharness"
)

// The environment hack/buildkit-up and hack/push-frontend set up.
const (
	BuildkitAddr     = bkharness.BuildkitAddr
	BuilderName      = bkharness.BuilderName
	Registry         = bkharness.Registry
	BusyboxImage     = bkharness.BusyboxImage
	GolangImage      = bkharness.GolangImage
	FrontendImage    = bkharness.FrontendImage
	UpstreamImage    = bkharness.UpstreamImage
	SyntaxStagefront = bkharness.SyntaxStagefront
	SyntaxUpstream   = bkharness.SyntaxUpstream

	OutputLocal = bkharness.OutputLocal
	OutputOCI   = bkharness.OutputOCI
	OutputNone  = bkharness.OutputNone
)

// Busybox is the named context that substitutes the `busybox` base of a
// test Dockerfile with BusyboxImage.
var Busybox = bkharness.Busybox

type (
	Opts     = bkharness.Opts
	Result   = bkharness.Result
	Vertex   = bkharness.Vertex
	OCIImage = bkharness.OCIImage
)

func Buildctl(t testing.TB, o Opts) *Result { t.Helper(); return bkharness.Buildctl(t, o) }
func Buildx(t testing.TB, o Opts) *Result   { t.Helper(); return bkharness.Buildx(t, o) }

// InProcess runs stagefront's builder.Build in this process (see
// bkharness.InProcessWith).
func InProcess(t testing.TB, o Opts) *Result {
	t.Helper()
	return bkharness.InProcessWith(t, o, builder.Build)
}

func RepoRoot(t testing.TB) string { t.Helper(); return bkharness.RepoRoot(t) }
func WriteFiles(t testing.TB, dir string, f map[string]string) {
	t.Helper()
	bkharness.WriteFiles(t, dir, f)
}
func ReadTar(t testing.TB, path string) map[string][]byte {
	t.Helper()
	return bkharness.ReadTar(t, path)
}

func tail(s string, n int) string { return bkharness.Tail(s, n) }
func firstLine(s string) string   { return bkharness.FirstLine(s) }
