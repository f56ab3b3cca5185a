// Package builder is stagefront's gateway frontend: BuildKit's Dockerfile
// orchestration, converting the rewrite of the extended file per platform.
//
// It does what the upstream frontend's builder.Build does, in the same
// order (BuildKit has no exported seam for changing the bytes it
// converts): dedupe image config lookups, read the entrypoint through
// dockerui, check caps, forward to another frontend when the file or
// BUILDKIT_SYNTAX asks for one (never to ourselves), answer subrequests,
// then convert and solve each target platform, attach SBOMs, and return
// the multi-platform result. The one change is that each platform
// converts the rewrite for that platform, with the original file's
// source map, and builds the stages the target REQUIREs (its gates) in
// parallel with it, failing the build when one of them fails.
//
// What it borrows from upstream keeps upstream's names, in files whose
// header says which upstream file they follow ("Follows BuildKit <version>
// <path>"), so that a BuildKit bump is a diff to read: hack/bump-buildkit
// prints it.
package builder

// Follows BuildKit v0.35.1 frontend/dockerfile/builder/build.go: Build (as
// Builder.build and buildPlatforms) and warnOpts.

import (
	"context"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend"
	"github.com/moby/buildkit/frontend/attestations/sbom"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/pkg/errors"
)

// Build is the gateway BuildFunc served by the frontend image: a zero
// Builder's.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	return (&Builder{}).Build(ctx, c)
}

// Builder is stagefront's gateway frontend. Its zero value is the one the
// image serves; tests set the fields that vary.
type Builder struct {
	// engine rewrites the file for a platform's values; nil is the real
	// engine (the analysis, evaluated).
	engine func(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error)
}

// Build is a gateway BuildFunc.
func (b *Builder) Build(ctx context.Context, c client.Client) (_ *client.Result, err error) {
	defer catchPanic(&err)
	return b.build(ctx, c)
}

func (b *Builder) build(ctx context.Context, c client.Client) (*client.Result, error) {
	resolver := newWithResolveCache(c)
	c = resolver
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	opts := bc.BuildOpts().Opts
	mayForward, capsErr := validateCaps(opts["frontend.caps"])
	if capsErr != nil && !mayForward {
		return nil, capsErr
	}

	src, err := bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, err
	}

	if plan, ok := planForward(opts, src.Data); ok {
		res, err := forwardGateway(ctx, c, plan.Ref, plan.Cmdline)
		if err != nil && len(errdefs.Sources(err)) == 0 {
			if plan.FromArg {
				return nil, errors.Wrapf(err, "failed with %s = %s", keySyntaxArg, plan.Cmdline)
			}
			return nil, wrapSource(err, src.SourceMap, plan.Location)
		}
		return res, err
	}
	if capsErr != nil {
		return nil, capsErr
	}

	cv := &converter{
		orig: src.Data,
		opt: dockerfile2llb.ConvertOpt{
			Config:       bc.Config,
			Client:       bc,
			SourceMap:    src.SourceMap,
			MetaResolver: c,
			Warn: func(rule, description, url, msg string, loc []parser.Range) {
				warnIn(ctx, src, nil, rule, description, url, msg, loc)
			},
		},
		warnIn: func(info *pb.SourceInfo, rule, description, url, msg string, loc []parser.Range) {
			warnIn(ctx, src, info, rule, description, url, msg, loc)
		},
		frags:  newBuildFragments(c, bc, src),
		ctxt:   newExistsContext(&buildContextFS{bc: bc, c: c}),
		images: resolver,
		engine: b.engine,
	}

	if res, ok, err := bc.HandleSubrequest(ctx, subrequestHandler(cv, firstPlatform(bc))); err != nil {
		return nil, err
	} else if ok {
		return res, nil
	}

	return buildPlatforms(ctx, c, bc, cv)
}

// firstPlatform is the platform subrequests are answered for: the first
// --platform, or nil (the builder's) when none was given.
func firstPlatform(bc *dockerui.Client) *ocispecs.Platform {
	if len(bc.TargetPlatforms) > 0 {
		p := bc.TargetPlatforms[0]
		return &p
	}
	return nil
}

// buildPlatforms converts and solves every target platform and returns
// the (multi-platform) result with its attestations.
func buildPlatforms(ctx context.Context, c client.Client, bc *dockerui.Client, cv *converter) (_ *client.Result, err error) {
	// Converter errors that carry locations show the user's lines.
	defer func() { err = withLocations(err, cv.opt.SourceMap) }()

	var scanner sbom.Scanner
	if bc.SBOM != nil {
		sp := bc.BuildPlatforms[0]
		scanner, err = sbom.CreateSBOMScanner(ctx, c, bc.SBOM.Generator, sp, sourceresolver.Opt{
			ImageOpt: &sourceresolver.ResolveImageOpt{
				ResolveMode: bc.BuildOpts().Opts["image-resolve-mode"],
				Platform:    &sp,
			},
		}, bc.SBOM.Parameters)
		if err != nil {
			return nil, err
		}
	}

	var converted sync.Map // platform id -> *dockerfile2llb.Result, for the SBOM scan

	rb, err := bc.Build(ctx, func(ctx context.Context, p *ocispecs.Platform, idx int) (_ *dockerui.BuildResult, err error) {
		defer catchPanic(&err) // each platform runs in its own goroutine
		pr, err := cv.solvePlatform(ctx, c, p, idx == 0, bc.CacheImports)
		if err != nil {
			return nil, err
		}
		res, ref := pr.conv, pr.ref
		pp := platforms.DefaultSpec()
		if p != nil {
			pp = *p
		}
		converted.Store(platforms.FormatAll(platforms.Normalize(pp)), res)
		return &dockerui.BuildResult{
			Reference: ref,
			Image:     res.Image,
			BaseImage: res.BaseImage,
			Epoch:     res.Epoch,
		}, nil
	})
	if err != nil {
		return nil, err
	}

	if scanner != nil {
		err := rb.EachPlatform(ctx, func(ctx context.Context, id string, _ ocispecs.Platform) (err error) {
			defer catchPanic(&err)
			v, ok := converted.Load(id)
			if !ok {
				return errors.Errorf("no scan targets for %s", id)
			}
			target := v.(*dockerfile2llb.Result)
			var copts []llb.ConstraintsOpt
			if target.IsIgnoreCache {
				copts = append(copts, llb.IgnoreCache)
			}
			att, err := scanner(ctx, id, target.SBOM.Core, target.SBOM.Extras, copts...)
			if err != nil {
				return err
			}
			solved, err := result.ConvertAttestation(&att, func(st *llb.State) (client.Reference, error) {
				def, err := st.Marshal(ctx)
				if err != nil {
					return nil, err
				}
				r, err := c.Solve(ctx, frontend.SolveRequest{Definition: def.ToPB()})
				if err != nil {
					return nil, err
				}
				return r.Ref, nil
			})
			if err != nil {
				return err
			}
			rb.AddAttestation(id, *solved)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	return rb.Finalize()
}

// warnIn sends a warning at loc, in the file info (nil: the
// Dockerfile), as upstream's Build sends the converter's warnings.
func warnIn(ctx context.Context, src *dockerui.Source, info *pb.SourceInfo, rule, description, url, msg string, loc []parser.Range) {
	line := 0
	if len(loc) > 0 {
		line = loc[0].Start.Line
	}
	opts := warnOpts(loc, [][]byte{[]byte(description)}, url)
	opts.SourceInfo = info
	src.Warn(ctx, linter.LintFormatShort(rule, msg, line), opts)
}

// warnOpts are the options of a converter warning, as upstream sends them.
func warnOpts(r []parser.Range, detail [][]byte, url string) client.WarnOpts {
	opts := client.WarnOpts{Level: 1, Detail: detail, URL: url}
	if r != nil {
		opts.Range = pbRanges(r)
	}
	return opts
}
