package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/builder"
	"github.com/org/stagefront/frontend/lint"
)

// errCheckFailed is returned when check=error=true and a rule fired; the
// warnings are already printed.
type errCheckFailed struct{ msg string }

func (e *errCheckFailed) Error() string { return e.msg }

func runCheck(ctx context.Context, in *input, stdout io.Writer) error {
	lr, fail, err := check(ctx, in)
	if err != nil {
		return err
	}
	// As buildx prints it: the count, then the warnings.
	n := len(lr.Warnings)
	switch {
	case n == 1:
		fmt.Fprintln(stdout, "Check complete, 1 warning has been found!")
	case n > 1:
		fmt.Fprintf(stdout, "Check complete, %d warnings have been found!\n", n)
	}
	if err := lr.PrintTo(stdout, nil); err != nil {
		return err
	}
	if lr.Error != nil {
		var b strings.Builder
		lr.PrintErrorTo(&b, nil)
		return &errCheckFailed{strings.TrimRight(b.String(), "\n")}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "Check complete, no warnings found.")
	}
	if fail != nil {
		return &errCheckFailed{fail.Error()}
	}
	return nil
}

// check runs upstream's rules and ours. fail is non-nil when the
// configuration says warnings are errors and some rule fired.
func check(ctx context.Context, in *input) (*sublint.LintResults, error, error) {
	sm, err := cliSourceMap(ctx, in.filename, in.data)
	if err != nil {
		return nil, nil, err
	}
	var argCfg *linter.Config
	if v, ok := in.opt.BuildArgs["BUILDKIT_DOCKERFILE_CHECK"]; ok {
		if argCfg, err = linter.ParseLintOptions(v); err != nil {
			return nil, nil, fmt.Errorf("failed to parse BUILDKIT_DOCKERFILE_CHECK: %w", err)
		}
	}
	cfg, err := lint.Config(in.data, argCfg)
	if err != nil {
		return nil, nil, err
	}

	rw, err := in.rewrite(ctx, in.opt)
	if err != nil {
		if lr := builder.ErrorLint(err, sm, rw); lr != nil {
			return lr, nil, nil
		}
		return nil, nil, err
	}

	tp := in.opt.TargetPlatform
	lr, err := dockerfile2llb.DockerfileLint(ctx, rw.Dockerfile, dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:      in.opt.BuildArgs,
			Target:         in.opt.Target,
			LinterConfig:   argCfg,
			BuildPlatforms: []ocispecs.Platform{in.opt.BuildPlatform},
		},
		SourceMap:      sm,
		TargetPlatform: &tp,
		MetaResolver:   offlineResolver{},
	})
	if err != nil {
		// A converter error at its line, as a build shows it.
		if lr := builder.ErrorLint(err, sm, rw); lr != nil {
			return lr, nil, nil
		}
		return nil, nil, err
	}
	idx := lr.AddSource(sm)
	builder.LocateLintError(lr, idx, rw)
	upstreamFired := len(lr.Warnings) > 0

	li := &lint.Input{
		Rewrite:   rw,
		BuildArgs: in.opt.BuildArgs,
		Target:    in.opt.Target,
	}
	if in.contextDir != "" {
		has, err := hasDockerignore(in.contextDir)
		if err != nil {
			return nil, nil, err
		}
		li.Dockerignore = &has
	}
	lt, err := lint.Run(ctx, li, cfg, func(rule, desc, url, msg string, loc []parser.Range) {
		lr.AddWarning(rule, desc, url, msg, idx, loc)
	})
	if err != nil {
		return nil, nil, err
	}
	if rw.Sources != nil {
		builder.RelocateLint(lr, idx, sm, rw.Sources)
	}
	var fail error
	if err := lt.Error(); err != nil {
		fail = err
	} else if cfg.ReturnAsError && upstreamFired {
		fail = fmt.Errorf("lint violation found for rules: %s", ruleNames(lr))
	}
	return lr, fail, nil
}

// hasDockerignore reports whether dir has a .dockerignore that excludes
// something, as the gateway sees it (dockerui's ignore patterns).
func hasDockerignore(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return len(patterns) > 0, nil
}

func ruleNames(lr *sublint.LintResults) string {
	var names []string
	seen := map[string]bool{}
	for _, w := range lr.Warnings {
		if !seen[w.RuleName] {
			seen[w.RuleName] = true
			names = append(names, w.RuleName)
		}
	}
	return strings.Join(names, ", ")
}

// cliSourceMap maps the original file, with the Definition that the
// lint results need.
func cliSourceMap(ctx context.Context, name string, dt []byte) (*llb.SourceMap, error) {
	st := llb.Local(dockerui.DefaultLocalNameDockerfile, llb.FollowPaths([]string{filepath.Base(name)}))
	sm := llb.NewSourceMap(&st, name, "Dockerfile", dt)
	def, err := st.Marshal(ctx, llb.LocalUniqueID("stagefront-check"))
	if err != nil {
		return nil, err
	}
	sm.Definition = def
	return sm, nil
}

// offlineResolver answers base image lookups without a registry: every
// image is an empty linux image with the default PATH, so the upstream
// rules that read a base image's config (UndefinedVar, platform checks)
// see only that.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	img := ocispecs.Image{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		img.Platform = *opt.ImageOpt.Platform
	}
	img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img.RootFS = ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(dt), dt, nil
}
