// Follows BuildKit v0.35.1 frontend/dockerfile/builder/build.go:
// wrapSource, and the deferred wrapping of location errors in Build
// (withLocations).
//
// Follows BuildKit v0.35.1 frontend/dockerfile/dockerfile2llb/convert.go:
// toCommand's errors without a location (see locateConverterError).

package builder

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/pkg/errors"
)

// pbRanges converts parser ranges to the protobuf form source maps use.
func pbRanges(rs []parser.Range) []*pb.Range {
	out := make([]*pb.Range, 0, len(rs))
	for _, r := range rs {
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return out
}

// sourceInfo describes the file sm maps, for errors, warnings and
// subrequest results.
func sourceInfo(sm *llb.SourceMap) *pb.SourceInfo {
	return &pb.SourceInfo{
		Data:       sm.Data,
		Filename:   sm.Filename,
		Language:   sm.Language,
		Definition: sm.Definition.ToPB(),
	}
}

// wrapSource attaches the lines rs of the file sm to err, so that clients
// print those lines under the message. Without a source map, err is
// returned as is.
func wrapSource(err error, sm *llb.SourceMap, rs []parser.Range) error {
	if sm == nil || err == nil {
		return err
	}
	return errdefs.WithSource(err, &errdefs.Source{Info: sourceInfo(sm), Ranges: pbRanges(rs)})
}

// withLocations wraps a converter error that carries locations (a
// parser.LocationError) with one source per location, as upstream does.
func withLocations(err error, sm *llb.SourceMap) error {
	var le *parser.LocationError
	var rel *relocatedError
	if errors.As(err, &le) && !errors.As(err, &rel) { // an expanded file's are attached (fileSources)
		for _, loc := range le.Locations {
			err = wrapSource(err, sm, loc)
		}
	}
	return err
}

// locateConverterError gives the errors dockerfile2llb returns without a
// line the line they are about: a variable in COPY --from, an index past
// the last stage (toCommand in dockerfile2llb/convert.go). Each comes from the first live COPY, in file order, that
// fails upstream's test. Other errors pass through.
func locateConverterError(err error, rw *rewrite.Result) error {
	if err == nil || rw == nil || rw.Analysis == nil || hasLocation(err) {
		return err
	}
	msg := err.Error()
	var match func(it *syntax.Item, from string) bool
	switch {
	case strings.Contains(msg, "variable expansion is not supported for --from"):
		lex := shell.NewLex(rune(rw.Analysis.Syntax.Escape))
		match = func(it *syntax.Item, from string) bool {
			res, perr := lex.ProcessWordWithMatches(from, shell.EnvsFromSlice(nil))
			return perr == nil && res.Result != from
		}
	case strings.Contains(msg, "invalid stage index "):
		_, after, _ := strings.Cut(msg, "invalid stage index ")
		index, _, _ := strings.Cut(after, ":")
		match = func(_ *syntax.Item, from string) bool { return from == index }
	default:
		return err
	}
	for _, it := range rw.Analysis.Linked() {
		if it.Keyword != "copy" || !rw.Live(it) {
			continue
		}
		for _, fl := range rw.InstructionFlags(it) {
			if from, ok := strings.CutPrefix(fl, "--from="); ok && match(it, from) {
				return parser.WithLocation(err, analysis.Location(it))
			}
		}
	}
	return err
}

// LocateLintError gives the build error of lint results that has no
// line (upstream's lint reports the converter's errors in the results)
// the line it is about (locateConverterError), in source at of the
// results: that of the rewrite rw, as the lint saw it.
func LocateLintError(lr *sublint.LintResults, at int, rw *rewrite.Result) {
	if lr.Error == nil || len(lr.Error.Location.Ranges) > 0 {
		return
	}
	var le *parser.LocationError
	if err := locateConverterError(errors.New(lr.Error.Message), rw); errors.As(err, &le) && len(le.Locations) > 0 {
		lr.Error.Location = pb.Location{SourceIndex: int32(at), Ranges: pbRanges(le.Locations[0])}
	}
}

// hasLocation reports whether err carries a location with lines.
func hasLocation(err error) bool {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return false
	}
	for _, loc := range le.Locations {
		if len(loc) > 0 {
			return true
		}
	}
	return false
}

// withRewriteSource attaches the original lines to a rewrite error: one
// source per problem, in line order, so `docker buildx build` shows the
// user's text next to each message. Other errors pass through.
func withRewriteSource(err error, sm *llb.SourceMap, files *fileSources) error {
	smOf := func(file string) *llb.SourceMap {
		if files != nil {
			return files.byName(file)
		}
		return sm
	}
	var list *rewrite.ErrorList
	if errors.As(err, &list) {
		// Each source carries the whole file: past maxErrorSources bytes,
		// the rest of the errors show their line in the message only, so
		// that the error stays far below gRPC's message size limit.
		sent := 0
		for _, e := range list.Errors() {
			sm := smOf(e.File)
			if sent > 0 && sm != nil && sent+len(sm.Data) > maxErrorSources {
				break
			}
			err = wrapSource(err, sm, []parser.Range{e.Range()})
			if sm != nil {
				sent += len(sm.Data)
			}
		}
		return err
	}
	var one *rewrite.Error
	if errors.As(err, &one) {
		return wrapSource(err, smOf(one.File), []parser.Range{one.Range()})
	}
	return err
}

// maxErrorSources bounds the bytes of file an error carries in its
// sources (see withRewriteSource).
const maxErrorSources = 2 << 20

// ErrorLint reports an error of the rewrite, or of the conversion of the
// rewrite rw, as upstream's lint reports a build error: in the results,
// at its lines, in their own file (the Dockerfile's, sm, or a fragment's
// of rw). The converter's errors without a line get the line they are
// about (locateConverterError). Nil for an error with no lines.
func ErrorLint(err error, sm *llb.SourceMap, rw *rewrite.Result) *sublint.LintResults {
	ranges, file := rewriteErrorRanges(err)
	var files *fileSources
	if rw != nil {
		files = newFileSources(sm, rw.Sources)
	}
	switch {
	case ranges != nil:
		if files != nil {
			sm = files.byName(file)
		}
	default:
		err = locateConverterError(err, rw)
		var le *parser.LocationError
		if !errors.As(err, &le) || len(le.Locations) == 0 || len(le.Locations[0]) == 0 {
			return nil
		}
		ranges = le.Locations[0]
		if files != nil {
			var i int
			i, ranges = files.relocate(ranges)
			sm = files.maps[i]
		}
	}
	lr := &sublint.LintResults{}
	idx := lr.AddSource(sm)
	lr.Error = &sublint.BuildError{
		Message:  err.Error(),
		Location: pb.Location{SourceIndex: int32(idx), Ranges: pbRanges(ranges)},
	}
	return lr
}

// rewriteErrorRanges returns the lines of a rewrite's errors, those of
// the first error's file (a Dockerfile's fragments are files of their
// own), and that file's name; nil for another error.
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

// catchPanic turns a panic in the current goroutine into *errp, with the
// stack on stderr (BuildKit shows the frontend's stderr in its log). It
// must be deferred directly.
func catchPanic(errp *error) {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "stagefront: panic: %v\n%s", r, debug.Stack())
		*errp = errors.Errorf("stagefront: internal error: %v (this is a bug in the stagefront frontend; its stack trace is in the build log)", r)
	}
}
