// Follows BuildKit v0.35.1 frontend/dockerfile/builder/caps.go:
// validateCaps, with the caps stagefront serves.

package builder

import (
	"strings"

	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/stack"
	"google.golang.org/grpc/codes"
)

// servedCaps are the frontend caps stagefront serves: the same set as the
// upstream Dockerfile frontend of our BuildKit version, since everything
// behind them (inputs, subrequests, named contexts, git query strings,
// zstd contexts) is handled by the dockerui client we build on.
var servedCaps = map[string]bool{
	"moby.buildkit.frontend.inputs":         true,
	"moby.buildkit.frontend.subrequests":    true,
	"moby.buildkit.frontend.contexts":       true,
	"moby.buildkit.frontend.gitquerystring": true,
	"moby.buildkit.frontend.contexts.zstd":  true,
}

// validateCaps reads the comma-separated "frontend.caps" opt. A cap we do not
// serve is an error, unless it is marked "+forward": then the error only
// applies when we end up building ourselves, and forwarding to the frontend
// named by the syntax directive is still allowed.
func validateCaps(requested string) (mayForward bool, err error) {
	if requested == "" {
		return false, nil
	}
	for _, c := range strings.Split(requested, ",") {
		name, _, _ := strings.Cut(c, "+")
		if servedCaps[name] {
			continue
		}
		err = stack.Enable(grpcerrors.WrapCode(errdefs.NewUnsupportedFrontendCapError(name), codes.Unimplemented))
		if !strings.Contains(c, "+forward") {
			return false, err
		}
		mayForward = true
	}
	return mayForward, err
}
