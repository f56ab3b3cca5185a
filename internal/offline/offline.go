// Package offline is stagefront's pipeline without BuildKit, as the CLI
// and the language server run it: the rewrite of an extended Dockerfile,
// with its fragments read from directories, and the build checks,
// upstream's and stagefront's, as a build's --call=check gives them. No
// base image is looked up: every base is an empty linux image.
package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/platforms"
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
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
)

// Input is a Dockerfile and the values of its build.
type Input struct {
	// Filename names the Dockerfile in messages.
	Filename string
	Data     []byte
	// Options are the build's values; Options.Context answers exists().
	Options rewrite.Options
	// ContextDir is the build context's directory, for the checks that
	// read it (MissingDockerignore); "" skips them.
	ContextDir string
	// Fragments reads what INCLUDE names (NewFragments).
	Fragments rewrite.Fragments
}

// Rewrite analyses the file, with the fragments it INCLUDEs, and
// evaluates it for opt.
func (in *Input) Rewrite(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error) {
	return rewrite.Expand(ctx, in.Filename, in.Data, opt, in.Fragments)
}

// NewFragments reads fragments from directories: the Dockerfile's own
// from dir, those of INCLUDE --from=NAME from named[NAME]. For a
// Dockerfile from standard input, dir is the build context's root and
// messages say so.
func NewFragments(dir string, named map[string]string, stdin bool) rewrite.Fragments {
	frags := &contextfs.DirFragments{Dirs: map[string]string{"": dir}, MaxSize: rewrite.MaxExpandedSize}
	for name, d := range named {
		frags.Dirs[name] = d
	}
	if stdin {
		return stdinFragments{frags}
	}
	return frags
}

// stdinFragments are the fragments of a Dockerfile read from standard
// input: its own are in the build context's root.
type stdinFragments struct{ *contextfs.DirFragments }

// Place implements rewrite.FragmentPlacer.
func (s stdinFragments) Place(from string) string {
	if from == "" {
		return rewrite.PlaceStdin
	}
	return "in context " + from
}

// Checked is what Check found.
type Checked struct {
	// Lint holds the warnings, each at its own file and line, and the
	// error that stopped the checks, if any (as --call=check has it).
	Lint *sublint.LintResults
	// Fail is non-nil when the file's configuration (# check=error=true,
	// BUILDKIT_DOCKERFILE_CHECK) makes the warnings an error and some
	// rule fired.
	Fail error
	// Rewrite is the rewrite the checks ran on; nil when it failed.
	Rewrite *rewrite.Result
}

// Check rewrites the file and runs upstream's build checks and
// stagefront's on the rewrite. An error of the file is in Lint.Error, at
// its line, as a build's --call=check reports it; the error returned is
// one of the checks themselves.
func Check(ctx context.Context, in *Input) (*Checked, error) {
	rw, err := in.Rewrite(ctx, in.Options)
	return CheckRewrite(ctx, in, rw, err)
}

// CheckRewrite is Check for a rewrite already made: rw and rwErr are what
// in.Rewrite(ctx, in.Options) returned.
func CheckRewrite(ctx context.Context, in *Input, rw *rewrite.Result, rwErr error) (*Checked, error) {
	sm, err := sourceMap(ctx, in.Filename, in.Data)
	if err != nil {
		return nil, err
	}
	var argCfg *linter.Config
	if v, ok := in.Options.BuildArgs["BUILDKIT_DOCKERFILE_CHECK"]; ok {
		if argCfg, err = linter.ParseLintOptions(v); err != nil {
			return nil, fmt.Errorf("failed to parse BUILDKIT_DOCKERFILE_CHECK: %w", err)
		}
	}
	cfg, err := lint.Config(in.Data, argCfg)
	if err != nil {
		return nil, err
	}
	if rwErr != nil {
		if lr := builder.ErrorLint(rwErr, sm, rw); lr != nil {
			return &Checked{Lint: lr}, nil
		}
		return nil, rwErr
	}

	li := &lint.Input{
		Rewrite:   rw,
		BuildArgs: in.Options.BuildArgs,
		Target:    in.Options.Target,
	}
	if in.ContextDir != "" {
		has, err := hasDockerignore(in.ContextDir)
		if err != nil {
			return nil, err
		}
		li.Dockerignore = &has
	}
	// stagefront's rules and upstream's are independent: they run side
	// by side, ours held to come after upstream's, as a build sends them.
	type warning struct {
		rule, desc, url, msg string
		loc                  []parser.Range
	}
	var ours []warning
	var lt *linter.Linter
	var ltErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		lt, ltErr = lint.Run(ctx, li, cfg, func(rule, desc, url, msg string, loc []parser.Range) {
			ours = append(ours, warning{rule, desc, url, msg, loc})
		})
	}()

	tp := in.Options.TargetPlatform
	lr, err := dockerfile2llb.DockerfileLint(ctx, rw.Dockerfile, dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:      in.Options.BuildArgs,
			Target:         in.Options.Target,
			LinterConfig:   argCfg,
			BuildPlatforms: []ocispecs.Platform{in.Options.BuildPlatform},
		},
		SourceMap:      sm,
		TargetPlatform: &tp,
		MetaResolver:   &offlineResolver{},
	})
	<-done
	if err != nil {
		// A converter error at its line, as a build shows it.
		if lr := builder.ErrorLint(err, sm, rw); lr != nil {
			return &Checked{Lint: lr}, nil
		}
		return nil, err
	}
	if ltErr != nil {
		return nil, ltErr
	}
	idx := lr.AddSource(sm)
	builder.LocateLintError(lr, idx, rw)
	upstreamFired := len(lr.Warnings) > 0
	for _, w := range ours {
		lr.AddWarning(w.rule, w.desc, w.url, w.msg, idx, w.loc)
	}
	if rw.Sources != nil {
		builder.RelocateLint(lr, idx, sm, rw.Sources)
	}
	checked := &Checked{Lint: lr, Rewrite: rw}
	if err := lt.Error(); err != nil {
		checked.Fail = err
	} else if cfg.ReturnAsError && upstreamFired {
		checked.Fail = fmt.Errorf("lint violation found for rules: %s", ruleNames(lr))
	}
	return checked, nil
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

// sourceMap maps the original file, with the Definition that the lint
// results need.
func sourceMap(ctx context.Context, name string, dt []byte) (*llb.SourceMap, error) {
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
// see only that. It answers each image and platform once per check (the
// converter asks from several goroutines).
type offlineResolver struct {
	mu     sync.Mutex
	images map[string]resolvedImage
}

type resolvedImage struct {
	dgst digest.Digest
	dt   []byte
}

func (r *offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	img := ocispecs.Image{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		img.Platform = *opt.ImageOpt.Platform
	}
	key := ref + " " + platforms.FormatAll(img.Platform)
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, ok := r.images[key]; ok {
		return ref, got.dgst, got.dt, nil
	}
	img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img.RootFS = ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	if r.images == nil {
		r.images = map[string]resolvedImage{}
	}
	r.images[key] = resolvedImage{digest.FromBytes(dt), dt}
	return ref, digest.FromBytes(dt), dt, nil
}
