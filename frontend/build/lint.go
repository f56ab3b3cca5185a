package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/frontend/rewrite"
)

// stagefront's own rules (package lint) in the gateway: in `--call=check`
// next to upstream's, and in a build as warnings, failing it when
// `check=error=true` and one fired.

func init() {
	extraLint = checkLint
}

// lintInput is what the rules need from this build, for platform p.
func (cv *converter) lintInput(ctx context.Context, p *ocispecs.Platform, rw *rewrite.Result) *lint.Input {
	in := &lint.Input{
		Filename:  "Dockerfile",
		Original:  cv.orig,
		Rewrite:   rw,
		BuildArgs: cv.opt.BuildArgs,
		Target:    cv.opt.Target,
	}
	if cv.opt.SourceMap != nil && cv.opt.SourceMap.Filename != "" {
		in.Filename = cv.opt.SourceMap.Filename
	}
	in.Dockerignore = dockerignoreState(ctx, cv.opt.Client)
	in.ImageUser = cv.imageUser(p)
	if cv.opt.Client != nil {
		for k := range cv.opt.Client.BuildOpts().Opts {
			if name, ok := strings.CutPrefix(k, "context:"); ok {
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

// checkLint is the extraLint hook: our rules, added to upstream's results
// with the original file's source index.
func checkLint(ctx context.Context, cv *converter, rw *rewrite.Result, lr *sublint.LintResults) error {
	return cv.checkLint(ctx, nil, rw, lr)
}

func (cv *converter) checkLint(ctx context.Context, p *ocispecs.Platform, rw *rewrite.Result, lr *sublint.LintResults) error {
	defer lintPanic()
	cfg, err := lint.Config(cv.orig, cv.opt.LinterConfig)
	if err != nil {
		return nil // upstream's results already report a bad check directive
	}
	idx := -1
	if cv.opt.SourceMap != nil {
		idx = lr.AddSource(cv.opt.SourceMap)
	}
	_, err = lint.Run(ctx, cv.lintInput(ctx, p, rw), cfg, func(rule, desc, url, msg string, loc []parser.Range) {
		lr.AddWarning(rule, desc, url, msg, idx, loc)
	})
	return err
}

// buildLint runs our rules during a build (for the first platform only,
// as upstream warns): each finding is a build warning, and with
// check=error=true any finding fails the build, as upstream's do. A file
// that uses no extension builds exactly as upstream unless the user asked
// for strict checks (error=true); --call=check always gives it ours too.
func (cv *converter) buildLint(ctx context.Context, p *ocispecs.Platform, rw *rewrite.Result, warn linter.LintWarnFunc) (err error) {
	defer lintPanic()
	if warn == nil || rw == nil {
		return nil
	}
	cfg, err := lint.Config(cv.orig, cv.opt.LinterConfig)
	if err != nil {
		return nil // the conversion reports a bad check directive
	}
	if !rw.Extended && (cfg == nil || !cfg.ReturnAsError) {
		return nil
	}
	lt, err := lint.Run(ctx, cv.lintInput(ctx, p, rw), cfg, warn)
	if err != nil {
		return err
	}
	return lt.Error()
}

// imageUser reads the USER of an image's config through the build's
// resolver (as the conversion does, for platform p); ok is false when the
// image cannot be resolved.
func (cv *converter) imageUser(p *ocispecs.Platform) func(ctx context.Context, image string) (string, bool) {
	if cv.opt.MetaResolver == nil {
		return nil
	}
	return func(ctx context.Context, image string) (string, bool) {
		pl := cv.buildPlatform()
		if p != nil {
			pl = *p
		}
		_, _, dt, err := cv.opt.MetaResolver.ResolveImageConfig(ctx, image, sourceresolver.Opt{
			LogName: "[internal] load metadata for " + image,
			ImageOpt: &sourceresolver.ResolveImageOpt{
				Platform:    &pl,
				ResolveMode: cv.opt.ImageResolveMode.String(),
			},
		})
		if err != nil {
			return "", false
		}
		var img ocispecs.Image
		if err := json.Unmarshal(dt, &img); err != nil {
			return "", false
		}
		return img.Config.User, true
	}
}

// lintPanic keeps a bug in a check from failing a build: the panic goes
// to the build log (stderr) and the checks report nothing more.
func lintPanic() {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "stagefront: a build check panicked (a bug; the build goes on): %v\n%s", r, debug.Stack())
	}
}
