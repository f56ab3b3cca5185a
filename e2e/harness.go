//go:build e2e

// Package e2e is stagefront's end-to-end suite, on the real BuildKit that
// hack/buildkit-up starts, through the pushed frontend image (buildctl,
// docker buildx) and in-process. Run it with hack/e2e. The harness is
// internal/bkharness, shared with the gateway's own end-to-end tests and
// the benchmarks.
package e2e

import (
	"github.com/org/stagefront/frontend/builder"
	"github.com/org/stagefront/internal/bkharness"
)

// inProcess runs stagefront's builder.Build in this process (see
// bkharness.InProcessWith).
func inProcess(t bkharness.TB, o bkharness.Opts) *bkharness.Result {
	t.Helper()
	return bkharness.InProcessWith(t, o, builder.Build)
}
