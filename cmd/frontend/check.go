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
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/builder"
	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/frontend/rewrite"
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
		ranges, file := rewriteErrorRanges(err)
		if ranges == nil {
			return nil, nil, err
		}
		lr := &sublint.LintResults{}
		idx := lr.AddSource(sm)
		if rw != nil && rw.Sources != nil {
			// The errors are at their own files: the first one's.
			for i, f := range rw.Sources.Files {
				if f.Name == file && i > 0 {
					idx = lr.AddSource(fragmentSourceMap(sm, f))
				}
			}
		}
		lr.Error = &sublint.BuildError{Message: err.Error(), Location: pb.Location{SourceIndex: int32(idx), Ranges: builder.PBRanges(ranges)}}
		return lr, nil, nil
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
		return nil, nil, err
	}
	idx := lr.AddSource(sm)
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
		relocateWarnings(lr, idx, sm, rw.Sources)
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

// rewriteErrorRanges returns the lines of a rewrite's errors, those of
// the first error's file (a Dockerfile's fragments are files of their
// own), and that file's name.
func rewriteErrorRanges(err error) ([]parser.Range, string) {
	var list *rewrite.ErrorList
	var one *rewrite.Error
	switch {
	case errors.As(err, &list):
		errs := list.Errors()
		if len(errs) == 0 {
			return nil, ""
		}
		var out []parser.Range
		for _, e := range errs {
			if e.File == errs[0].File {
				out = append(out, e.Range())
			}
		}
		return out, errs[0].File
	case errors.As(err, &one):
		return []parser.Range{one.Range()}, one.File
	}
	return nil, ""
}

// fragmentSourceMap is the source map of a fragment, beside the
// Dockerfile's sm.
func fragmentSourceMap(sm *llb.SourceMap, f rewrite.Source) *llb.SourceMap {
	out := llb.NewSourceMap(nil, f.Name, "Dockerfile", f.Data)
	out.Definition = sm.Definition
	return out
}

// relocateWarnings gives the warnings of an expanded file (at source
// main, lines of the expanded file) the files and lines they are about,
// adding a source for each fragment that has one.
func relocateWarnings(lr *sublint.LintResults, main int, sm *llb.SourceMap, srcs *rewrite.Sources) {
	index := map[int]int{0: main}
	for _, w := range lr.Warnings {
		if w.Location == nil || int(w.Location.SourceIndex) != main || len(w.Location.Ranges) == 0 {
			continue
		}
		file := -1
		for _, r := range w.Location.Ranges {
			f, start := srcs.Position(int(r.Start.Line))
			_, end := srcs.Position(int(r.End.Line))
			if file < 0 {
				file = f
			}
			r.Start.Line, r.End.Line = int32(start), int32(end)
		}
		i, ok := index[file]
		if !ok {
			i = lr.AddSource(fragmentSourceMap(sm, srcs.Files[file]))
			index[file] = i
		}
		w.Location.SourceIndex = int32(i)
	}
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
