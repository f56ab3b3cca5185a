package builder

import (
	"bytes"
	"context"
	"maps"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

// converter turns the user's (extended) Dockerfile into LLB for one
// platform at a time: rewrite for that platform, then the upstream
// converter on the rewrite, with the ORIGINAL file's source map so that
// every location shows what the user wrote. Line numbers are the same in
// both files, which is what makes that valid.
type converter struct {
	// orig is the file as the user wrote it.
	orig []byte
	// opt is the upstream conversion's options shared by all platforms;
	// opt.SourceMap maps the original file.
	opt dockerfile2llb.ConvertOpt
	// ctxt answers exists(); nil when there is no build context.
	ctxt rewrite.Context
	// images are the image configs the build's resolver answered, for
	// the checks; nil when not known (see imagePeeker).
	images imagePeeker

	// engine rewrites the file for opt; nil is the real one (evaluate
	// the analysis). Tests give a fake.
	engine func(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error)
	// frags reads the fragments INCLUDE names; nil reads none.
	frags rewrite.Fragments
	// warnIn sends a warning about a fragment's lines, with its source
	// info (cv.opt.Warn sends those of the Dockerfile); nil sends them
	// through cv.opt.Warn.
	warnIn func(info *pb.SourceInfo, rule, description, url, msg string, loc []parser.Range)
	// analysis is the model of orig, made once per build: every
	// platform, gate and subrequest of the build reads it.
	analysisOnce sync.Once
	analysis     *analysis.File
	analysisErr  error
	// plain is whether a scan proves the file uses no extension (see
	// syntax.Plain): it is then converted as written, without a parse of
	// its own.
	plainOnce sync.Once
	plain     bool
}

// isPlain reports whether the file is converted as written (the real
// engine, and a scan that proves it plain), once per build.
func (cv *converter) isPlain() bool {
	cv.plainOnce.Do(func() { cv.plain = cv.engine == nil && syntax.Plain(cv.orig) })
	return cv.plain
}

// analyze returns the analysis of the file, made on first use.
func (cv *converter) analyze(ctx context.Context) (*analysis.File, error) {
	cv.analysisOnce.Do(func() {
		cv.analysis, cv.analysisErr = analysis.Analyze(ctx, cv.filename(), cv.orig, analysis.Options{})
		if cv.analysis != nil {
			cv.analysisErr = nil // value-independent errors come with each rewrite
		}
	})
	return cv.analysis, cv.analysisErr
}

// filename is the Dockerfile's name, as its source map gives it.
func (cv *converter) filename() string {
	if cv.opt.SourceMap != nil && cv.opt.SourceMap.Filename != "" {
		return cv.opt.SourceMap.Filename
	}
	return "Dockerfile"
}

// buildPlatform is the platform of the builder, as the upstream converter
// picks it.
func (cv *converter) buildPlatform() ocispecs.Platform {
	if len(cv.opt.BuildPlatforms) > 0 {
		return cv.opt.BuildPlatforms[0]
	}
	return platforms.Normalize(platforms.DefaultSpec())
}

// rewriteOptions are the rewrite's inputs for target platform p. A nil p
// is the build without --platform: the converter then builds for the
// builder's platform, so conditions see that platform too, and TARGETARCH
// in a condition always equals TARGETARCH in a RUN of the same build.
func (cv *converter) rewriteOptions(p *ocispecs.Platform) rewrite.Options {
	bp := cv.buildPlatform()
	tp := bp
	if p != nil {
		tp = *p
	}
	return rewrite.Options{
		Filename:       cv.filename(),
		BuildArgs:      maps.Clone(cv.opt.BuildArgs),
		TargetPlatform: tp,
		BuildPlatform:  bp,
		Target:         cv.opt.Target,
		Context:        cv.ctxt,
	}
}

// rewrite runs the engine for platform p. Its errors come back with the
// user's lines attached.
func (cv *converter) rewrite(ctx context.Context, p *ocispecs.Platform) (*rewrite.Result, error) {
	return cv.rewriteWith(ctx, cv.rewriteOptions(p))
}

// rewriteListingFlags is rewrite with Result.Flags, for outlines.
func (cv *converter) rewriteListingFlags(ctx context.Context, p *ocispecs.Platform) (*rewrite.Result, error) {
	opt := cv.rewriteOptions(p)
	opt.ListFlags = true
	return cv.rewriteWith(ctx, opt)
}

func (cv *converter) rewriteWith(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error) {
	res, err := cv.checkedRewrite(ctx, opt)
	if err != nil {
		var files *fileSources
		if res != nil {
			files = newFileSources(cv.opt.SourceMap, res.Sources)
		}
		return nil, withRewriteSource(err, cv.opt.SourceMap, files)
	}
	return res, nil
}

// rewriteOrFailed is rewrite, but on an error of the rewrite it returns
// the error as it is (without sources) and, when there is one, the
// result, whose files the error's lines are in.
func (cv *converter) rewriteOrFailed(ctx context.Context, p *ocispecs.Platform) (*rewrite.Result, error) {
	return cv.checkedRewrite(ctx, cv.rewriteOptions(p))
}

// checkedRewrite is the engine's rewrite, checked: the result comes back
// with the rewrite's error too, when there is one.
func (cv *converter) checkedRewrite(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error) {
	res, err := cv.evaluate(ctx, opt)
	if err != nil {
		return res, err
	}
	if res == nil {
		return nil, errors.New("stagefront: internal error: the rewrite returned no result")
	}
	orig := cv.orig
	if res.Sources != nil {
		orig = res.Sources.Data
	}
	if a, b := bytes.Count(orig, []byte("\n")), bytes.Count(res.Dockerfile, []byte("\n")); a != b {
		return nil, errors.Errorf("stagefront: internal error: the rewrite has %d lines, the Dockerfile %d", b+1, a+1)
	}
	return res, nil
}

// maxRewriteTime is the time budget of stagefront's own work on a file
// for one platform: the analysis and the rewrite (image lookups and the
// conversion are BuildKit's, and wait on the network). Every step is
// linear in the file's size, so a file BuildKit accepts (16 MiB at most)
// takes a few seconds; past the budget the build fails with
// errRewriteTime rather than hold a shared builder.
const maxRewriteTime = 30 * time.Second

// errRewriteTime is the cause of a rewrite stopped by maxRewriteTime.
var errRewriteTime = errors.Errorf("stagefront: the rewrite of this Dockerfile took longer than its budget of %s and was stopped: make the file smaller, or report it as a bug if it is not large", maxRewriteTime)

// evaluate is the engine: the rewrite of the analysed file for opt,
// within maxRewriteTime.
func (cv *converter) evaluate(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, maxRewriteTime, errRewriteTime)
	defer cancel()
	if cv.engine != nil {
		return cv.engine(ctx, opt)
	}
	f, err := cv.analyze(ctx)
	if err != nil {
		return nil, err
	}
	if f.Syntax.Includes {
		// The fragments a platform's values make live: the expanded
		// file is analysed per rewrite.
		return rewrite.ExpandFile(ctx, f, opt, cv.frags)
	}
	return rewrite.Evaluate(ctx, f, opt)
}

// plainToLLB is toLLB for a file a scan proved plain: upstream's
// conversion of the file as written, and nothing else, as upstream's
// frontend does it. Its result is a rewrite without analysis (the file as
// written); a failed conversion gives the error toLLB gives, with the
// analysis made then.
func (cv *converter) plainToLLB(ctx context.Context, p *ocispecs.Platform, warn bool) (*dockerfile2llb.Result, *rewrite.Result, error) {
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, cv.orig, cv.platformOpt(p, warn))
	if err != nil {
		// The error toLLB gives: the rewrite's first (the analysis
		// locates a parse error on its line), else the converter's.
		rw, rwErr := cv.rewrite(ctx, p)
		if rwErr != nil {
			return nil, nil, rwErr
		}
		return nil, rw, locateConverterError(err, rw)
	}
	return res, &rewrite.Result{Dockerfile: cv.orig}, nil
}

// platformOpt is the upstream ConvertOpt for platform p, as upstream sets
// it per platform: its own copy of the build args (the converter writes
// to them) and warnings only when warn is set.
func (cv *converter) platformOpt(p *ocispecs.Platform, warn bool) dockerfile2llb.ConvertOpt {
	opt := cv.opt
	opt.BuildArgs = maps.Clone(opt.BuildArgs)
	opt.TargetPlatform = p
	if !warn {
		opt.Warn = nil
	}
	return opt
}

// convertOpt is platformOpt for converting rw: a rewrite that INCLUDEs
// fragments is converted with the source map of the expanded file, whose
// locations files then moves to their own files (nil: no fragments).
func (cv *converter) convertOpt(p *ocispecs.Platform, warn bool, rw *rewrite.Result) (dockerfile2llb.ConvertOpt, *fileSources) {
	opt := cv.platformOpt(p, warn)
	files := newFileSources(cv.opt.SourceMap, rw.Sources)
	if files != nil {
		opt.SourceMap = files.expanded
	}
	return opt, files
}

// toLLB converts the file for platform p (nil: the default platform).
func (cv *converter) toLLB(ctx context.Context, p *ocispecs.Platform, warn bool) (*dockerfile2llb.Result, *rewrite.Result, error) {
	if cv.isPlain() {
		return cv.plainToLLB(ctx, p, warn)
	}
	rw, err := cv.rewrite(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	opt, files := cv.convertOpt(p, warn, rw)
	if opt.Warn == nil {
		res, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
		return res, rw, files.locate(locateConverterError(err, rw))
	}
	// stagefront's rules (lint.go) and the conversion are independent, so
	// they run side by side; their warnings are held and sent in the order
	// of a run one after the other: ours, then upstream's. The one rule
	// that needs the conversion's result (the final image's user) waits
	// for it.
	ours, theirs := &heldWarnings{}, &heldWarnings{}
	linted := make(chan error, 1)
	converted := newPendingConversion()
	go func() { linted <- cv.buildLint(ctx, rw, ours.add, converted) }()
	opt.Warn = theirs.add
	res, err := func() (res *dockerfile2llb.Result, err error) {
		defer func() { converted.finish(res) }() // also when the conversion panics
		return dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
	}()
	lintErr := <-linted
	for _, n := range rw.Notes {
		ours.add("stagefront", "Where stagefront read a fragment from", "", n.Message, analysis.Location(n.Item))
	}
	ours.send(cv.warnFor(files))
	theirs.send(cv.warnFor(files))
	if err != nil {
		return nil, rw, files.locate(locateConverterError(err, rw))
	}
	if lintErr != nil {
		return nil, rw, lintErr
	}
	return res, rw, nil
}

// heldWarnings keeps warnings, from any goroutine, to send them later in
// the order they came.
type heldWarnings struct {
	mu   sync.Mutex
	held []heldWarning
}

type heldWarning struct {
	rule, description, url, msg string
	location                    []parser.Range
}

func (h *heldWarnings) add(rule, description, url, msg string, location []parser.Range) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, heldWarning{rule, description, url, msg, location})
}

func (h *heldWarnings) send(warn linter.LintWarnFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.held {
		warn(w.rule, w.description, w.url, w.msg, w.location)
	}
	h.held = nil
}
