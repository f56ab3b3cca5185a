// Follows BuildKit v0.35.1 frontend/dockerfile/builder/build.go: the
// forwarding part of Build (the BUILDKIT_SYNTAX build arg, then the
// file's `# syntax=` directive, never when "cmdline" is set) as
// planForward, and forwardGateway. Unlike upstream, it never forwards to
// itself.

package builder

import (
	"context"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
)

const (
	keySyntaxArg = "build-arg:BUILDKIT_SYNTAX"
	keyCmdline   = "cmdline"
	keySource    = "source"
)

// publishedRef is the image name stagefront is published under; it counts
// as "ourselves" when BuildKit did not tell us which image we were started
// from.
const publishedRef = "org/stagefront"

// forwardPlan says whether to hand the build to another frontend.
type forwardPlan struct {
	Ref      string         // image of the frontend to run
	Cmdline  string         // the full syntax value, passed on as "cmdline"
	FromArg  bool           // the ref came from BUILDKIT_SYNTAX, not the file
	Location []parser.Range // the `# syntax=` line, when from the file
}

// planForward decides, as the upstream frontend does, whether the build
// belongs to another frontend: never when "cmdline" is set (we were
// forwarded to), else the BUILDKIT_SYNTAX build-arg, else the file's
// `# syntax=` directive. Unlike upstream it never forwards to itself.
func planForward(opts map[string]string, dt []byte) (forwardPlan, bool) {
	if _, ok := opts[keyCmdline]; ok {
		return forwardPlan{}, false
	}
	if cmdline, ok := opts[keySyntaxArg]; ok {
		ref, _, _ := strings.Cut(strings.TrimSpace(cmdline), " ")
		if isOwnRef(ref, opts[keySource]) {
			return forwardPlan{}, false
		}
		return forwardPlan{Ref: ref, Cmdline: cmdline, FromArg: true}, true
	}
	if ref, cmdline, loc, ok := parser.DetectSyntax(dt); ok {
		if isOwnRef(ref, opts[keySource]) {
			return forwardPlan{}, false
		}
		return forwardPlan{Ref: ref, Cmdline: cmdline, Location: loc}, true
	}
	return forwardPlan{}, false
}

// isOwnRef reports whether ref names the image we run from: the "source"
// opt when BuildKit gave one, else publishedRef. Tags and digests are
// ignored, and short names are compared in their docker.io form.
func isOwnRef(ref, source string) bool {
	name := imageName(ref)
	if name == "" {
		return false
	}
	if source != "" {
		return name == imageName(source)
	}
	return name == imageName(publishedRef)
}

// imageName is the repository of ref in canonical form
// ("docker.io/org/stagefront"), without tag or digest; "" when ref is not
// an image reference.
func imageName(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		return reference.TrimNamed(named).String()
	}
	// Not a valid reference (upper case, odd characters): compare the text
	// itself, without a digest or tag.
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// forwardGateway runs the frontend image ref through the gateway with our opts,
// plus cmdline and source, and the frontend inputs we were given.
func forwardGateway(ctx context.Context, c client.Client, ref, cmdline string) (*client.Result, error) {
	bopts := c.BuildOpts()
	opts := make(map[string]string, len(bopts.Opts)+2)
	for k, v := range bopts.Opts {
		opts[k] = v
	}
	opts[keyCmdline] = cmdline
	opts[keySource] = ref

	var inputs map[string]*pb.Definition
	if bopts.Caps.Supports(gwpb.CapFrontendInputs) == nil {
		states, err := c.Inputs(ctx)
		if err != nil {
			return nil, errors.Wrapf(err, "failed to get frontend inputs")
		}
		inputs = make(map[string]*pb.Definition, len(states))
		for name, st := range states {
			def, err := st.Marshal(ctx)
			if err != nil {
				return nil, err
			}
			inputs[name] = def.ToPB()
		}
	}
	return c.Solve(ctx, client.SolveRequest{
		Frontend:       "gateway.v0",
		FrontendOpt:    opts,
		FrontendInputs: inputs,
	})
}
