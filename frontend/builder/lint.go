package builder

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/frontend/rewrite"
)

// stagefront's own rules (package lint) in the gateway: in `--call=check`
// next to upstream's, and in a build of an extended file as warnings,
// failing it when `check=error=true` and one fired. A file that uses no
// extension builds exactly as upstream.

// lintInput is what the rules need from this build, for the rewrite rw.
// finalUser answers lint.Input.FinalImageUser.
func (cv *converter) lintInput(ctx context.Context, rw *rewrite.Result, finalUser func(context.Context) (string, bool)) *lint.Input {
	in := &lint.Input{
		Rewrite:        rw,
		BuildArgs:      cv.opt.BuildArgs,
		Target:         cv.opt.Target,
		FinalImageUser: finalUser,
	}
	in.Dockerignore = dockerignoreState(ctx, cv.opt.Client)
	if cv.opt.Client != nil {
		for k := range cv.opt.Client.BuildOpts().Opts {
			if name, ok := strings.CutPrefix(k, "context:"); ok {
				name, _, _ = strings.Cut(name, "::") // name::platform
				in.NamedContexts = append(in.NamedContexts, name)
			}
		}
	}
	return in
}

// dockerignoreState reports whether the main build context has a
// .dockerignore that excludes something, as dockerui reads it for the
// build (the same, cached, solve); nil when not known: no client, or a
// git or http context, where nothing is uploaded.
func dockerignoreState(ctx context.Context, bc *dockerui.Client) *bool {
	if bc == nil {
		return nil
	}
	if v := bc.BuildOpts().Opts["context"]; v != "" {
		return nil
	}
	patterns, err := bc.DockerIgnorePatterns(ctx)
	if err != nil {
		return nil
	}
	has := len(patterns) > 0
	return &has
}

// checkLint adds our rules to upstream's results of `--call=check`, with
// the original file's source index. The conversion DockerfileLint ran has
// already resolved the base images: the final image's user is read from
// those answers (cv.images), never asked again.
func (cv *converter) checkLint(ctx context.Context, rw *rewrite.Result, lr *sublint.LintResults, sm *llb.SourceMap) error {
	defer lintPanic()
	cfg, err := lint.Config(cv.orig, cv.opt.LinterConfig)
	if err != nil {
		return nil // upstream's results already report a bad check directive
	}
	idx := -1
	if sm != nil {
		idx = lr.AddSource(sm)
	}
	finalUser := func(context.Context) (string, bool) { return cv.resolvedFinalUser(rw, nil) }
	_, err = lint.Run(ctx, cv.lintInput(ctx, rw, finalUser), cfg, func(rule, desc, url, msg string, loc []parser.Range) {
		lr.AddWarning(rule, desc, url, msg, idx, loc)
	})
	return err
}

// buildLint runs our rules during a build of an extended file (for the
// first platform only, as upstream warns): each finding is a build
// warning, and with check=error=true any finding fails the build, as
// upstream's do. converted gives the conversion of this platform when it
// is done, for the final image's user.
func (cv *converter) buildLint(ctx context.Context, rw *rewrite.Result, warn linter.LintWarnFunc, converted *pendingConversion) (err error) {
	defer lintPanic()
	if warn == nil || rw == nil || !rw.Extended {
		return nil
	}
	cfg, err := lint.Config(cv.orig, cv.opt.LinterConfig)
	if err != nil {
		return nil // the conversion reports a bad check directive
	}
	lt, err := lint.Run(ctx, cv.lintInput(ctx, rw, converted.finalUser), cfg, warn)
	if err != nil {
		return err
	}
	return lt.Error()
}

// pendingConversion is a conversion running beside the checks: the
// final image's user is known once it is done.
type pendingConversion struct {
	done chan struct{}
	res  *dockerfile2llb.Result
}

func newPendingConversion() *pendingConversion {
	return &pendingConversion{done: make(chan struct{})}
}

// finish records the conversion's result (nil when it failed).
func (p *pendingConversion) finish(res *dockerfile2llb.Result) {
	p.res = res
	close(p.done)
}

// finalUser waits for the conversion and returns the USER of the image it
// exports: its base image's config as the conversion resolved it (named
// contexts and ONBUILD triggers included), then the USER instructions.
func (p *pendingConversion) finalUser(ctx context.Context) (string, bool) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return "", false
	}
	if p.res == nil || p.res.Image == nil {
		return "", false
	}
	return p.res.Image.Config.User, true
}

// resolvedFinalUser returns the USER of the base image of the rewrite's
// final stage chain, from the image configs the build's resolver has
// already answered for platform p (nil: the builder's); false when the
// resolver did not answer for it (a named context of another kind than
// an image, a failed lookup, or no record of answers).
func (cv *converter) resolvedFinalUser(rw *rewrite.Result, p *ocispecs.Platform) (string, bool) {
	if cv.images == nil {
		return "", false
	}
	base, platform, ok := finalBase(rw)
	if !ok {
		return "", false
	}
	tp := cv.buildPlatform()
	if p != nil {
		tp = *p
	}
	if platform != nil {
		tp = *platform
	}
	var opts map[string]string
	if cv.opt.Client != nil {
		opts = cv.opt.Client.BuildOpts().Opts
	}
	ref, ok := baseImageRef(opts, base, tp)
	if !ok {
		return "", false
	}
	img, ok := cv.images.resolved(ref, tp)
	if !ok {
		return "", false
	}
	return img.Config.User, true
}

// lintPanic keeps a bug in a check from failing a build: the panic goes
// to the build log (stderr) and the checks report nothing more.
func lintPanic() {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "stagefront: a build check panicked (a bug; the build goes on): %v\n%s", r, debug.Stack())
	}
}
