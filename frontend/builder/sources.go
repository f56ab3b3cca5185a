package builder

import (
	"bytes"
	"context"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/pkg/errors"
)

// The files of a Dockerfile that INCLUDEs fragments, in a build. The
// converter converts the expanded file (the rewrite of the Dockerfile and
// its fragments as one) with a source map of the expanded original text;
// everything that comes out with a location (the LLB's per-op source
// locations, converter errors, warnings) is then moved to the file and
// line it is about, each file with its own source info: BuildKit's LLB
// carries several source files, and buildx shows each location with its
// own file's lines.

// fileSources are the source maps of an expanded Dockerfile's files.
type fileSources struct {
	srcs *rewrite.Sources
	// maps are the files' source maps, by index into srcs.Files: the
	// Dockerfile's is the build's own; a fragment's has its text and the
	// Dockerfile's definition.
	maps []*llb.SourceMap
	// expanded maps the expanded file, for the converter.
	expanded *llb.SourceMap
}

// newFileSources returns the files of srcs; main is the Dockerfile's
// source map. Nil when srcs is (a file without fragments).
func newFileSources(main *llb.SourceMap, srcs *rewrite.Sources) *fileSources {
	if srcs == nil || main == nil {
		return nil
	}
	fs := &fileSources{srcs: srcs, maps: make([]*llb.SourceMap, len(srcs.Files))}
	fs.maps[0] = main
	for i, f := range srcs.Files[1:] {
		sm := llb.NewSourceMap(main.State, f.Name, main.Language, f.Data)
		sm.Definition = main.Definition
		fs.maps[i+1] = sm
	}
	fs.expanded = llb.NewSourceMap(main.State, main.Filename, main.Language, srcs.Data)
	fs.expanded.Definition = main.Definition
	return fs
}

// relocateRanges moves ranges at lines of the expanded file to the file
// of the first one, which it returns, and to its lines; ranges in other
// files are left out (an instruction is in one file). lines reads a
// range's lines (false: it has none, and is left as it is), set writes
// them. relocate and moveRanges are its two kinds of ranges.
func relocateRanges[R any](srcs *rewrite.Sources, rs []R, lines func(R) (start, end int, ok bool), set func(*R, int, int)) (int, []R) {
	file := -1
	out := make([]R, 0, len(rs))
	for _, r := range rs {
		s, e, ok := lines(r)
		if ok {
			f, start := srcs.Position(s)
			_, end := srcs.Position(e)
			if file < 0 {
				file = f
			}
			if f != file {
				continue
			}
			set(&r, start, end)
		}
		out = append(out, r)
	}
	return max(file, 0), out
}

// relocate is relocateRanges for parser ranges.
func (fs *fileSources) relocate(rs []parser.Range) (int, []parser.Range) {
	return relocateRanges(fs.srcs, rs,
		func(r parser.Range) (int, int, bool) { return r.Start.Line, r.End.Line, true },
		func(r *parser.Range, start, end int) { r.Start.Line, r.End.Line = start, end })
}

// byName is the source map of the file an error names; the Dockerfile's
// when none does.
func (fs *fileSources) byName(name string) *llb.SourceMap {
	for i, f := range fs.srcs.Files {
		if f.Name == name {
			return fs.maps[i]
		}
	}
	return fs.maps[0]
}

// info is the source info of file i.
func (fs *fileSources) info(i int) *pb.SourceInfo { return sourceInfo(fs.maps[i]) }

// relocateDefinition moves the source locations of a converted
// definition from the expanded file to the files: the expanded file's
// info becomes the Dockerfile's, each fragment gets one of its own.
func (fs *fileSources) relocateDefinition(def *llb.Definition) {
	if def == nil || def.Source == nil {
		return
	}
	src := def.Source
	expanded := -1
	for i, info := range src.Infos {
		if info.Filename == fs.expanded.Filename && bytes.Equal(info.Data, fs.expanded.Data) {
			expanded = i
			break
		}
	}
	if expanded < 0 {
		return
	}
	// The info of each file: the expanded file's slot for the Dockerfile,
	// new ones after the others for the fragments it has locations in.
	index := map[int]int32{0: int32(expanded)}
	src.Infos[expanded] = fs.info(0)
	for _, locs := range src.Locations {
		var out []*pb.Location
		for _, loc := range locs.Locations {
			if int(loc.SourceIndex) != expanded {
				out = append(out, loc)
				continue
			}
			// One location per file its ranges are in.
			byFile := map[int]*pb.Location{}
			var order []int
			for _, r := range loc.Ranges {
				f, start := fs.srcs.Position(int(r.Start.Line))
				_, end := fs.srcs.Position(int(r.End.Line))
				idx, ok := index[f]
				if !ok {
					idx = int32(len(src.Infos))
					src.Infos = append(src.Infos, fs.info(f))
					index[f] = idx
				}
				l := byFile[f]
				if l == nil {
					l = &pb.Location{SourceIndex: idx}
					byFile[f] = l
					order = append(order, f)
				}
				l.Ranges = append(l.Ranges, &pb.Range{
					Start: &pb.Position{Line: int32(start), Character: r.Start.Character},
					End:   &pb.Position{Line: int32(end), Character: r.End.Character},
				})
			}
			for _, f := range order {
				out = append(out, byFile[f])
			}
		}
		locs.Locations = out
	}
}

// locate is wrapLocations, for a file with or without fragments (fs nil:
// err as it is, for withLocations).
func (fs *fileSources) locate(err error) error {
	if fs == nil || err == nil {
		return err
	}
	return fs.wrapLocations(err)
}

// warnFor returns the warning function of a conversion: cv.opt.Warn, or
// for a file with fragments one that sends each warning with the lines
// of its own file.
func (cv *converter) warnFor(fs *fileSources) func(rule, description, url, msg string, loc []parser.Range) {
	if fs == nil || cv.opt.Warn == nil {
		return cv.opt.Warn
	}
	return func(rule, description, url, msg string, loc []parser.Range) {
		file, rs := fs.relocate(loc)
		if file == 0 || cv.warnIn == nil {
			cv.opt.Warn(rule, description, url, msg, rs)
			return
		}
		cv.warnIn(fs.info(file), rule, description, url, msg, rs)
	}
}

// marshal marshals a conversion of rw, its source locations in their own
// files.
func (cv *converter) marshal(ctx context.Context, st llb.State, rw *rewrite.Result) (*llb.Definition, error) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to marshal LLB definition")
	}
	if fs := newFileSources(cv.opt.SourceMap, rw.Sources); fs != nil {
		fs.relocateDefinition(def)
	}
	return def, nil
}

// wrapLocations attaches to a converter error the lines of each location
// it carries, each in its own file (withLocations for an expanded file).
func (fs *fileSources) wrapLocations(err error) error {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return err
	}
	for _, loc := range le.Locations {
		if len(loc) == 0 {
			continue
		}
		file, rs := fs.relocate(loc)
		err = wrapSource(err, fs.maps[file], rs)
	}
	return &relocatedError{err}
}

// relocatedError is a converter error whose locations are attached in
// their own files: withLocations leaves it as it is.
type relocatedError struct{ error }

func (e *relocatedError) Unwrap() error { return e.error }

// dataSources are the sources of a subrequest's result (outline,
// targets: a list of file contents, which locations index): the
// Dockerfile's first, then the fragments the locations are in.
type dataSources struct {
	fs    *fileSources
	index map[int]int32
	data  [][]byte
}

func (fs *fileSources) dataSources() *dataSources {
	return &dataSources{fs: fs, index: map[int]int32{0: 0}, data: [][]byte{fs.maps[0].Data}}
}

// move moves loc, at lines of the expanded file, to its own file.
func (d *dataSources) move(loc *pb.Location) {
	if loc == nil || len(loc.Ranges) == 0 || loc.Ranges[0].Start == nil {
		return
	}
	file := moveRanges(d.fs.srcs, loc)
	i, ok := d.index[file]
	if !ok {
		i = int32(len(d.data))
		d.data = append(d.data, d.fs.srcs.Files[file].Data)
		d.index[file] = i
	}
	loc.SourceIndex = i
}

// RelocateLint moves the findings (and the error) of lint results about
// an expanded file, at source index at, to the files they are about: the
// source at becomes main (the Dockerfile's source map), and each fragment
// a finding is in gets one of its own.
func RelocateLint(lr *sublint.LintResults, at int, main *llb.SourceMap, srcs *rewrite.Sources) {
	fs := newFileSources(main, srcs)
	if fs == nil || at < 0 || at >= len(lr.Sources) {
		return
	}
	lr.Sources[at] = fs.info(0)
	index := map[int]int{0: at}
	move := func(loc *pb.Location) {
		if loc == nil || int(loc.SourceIndex) != at || len(loc.Ranges) == 0 {
			return
		}
		file := moveRanges(srcs, loc)
		i, ok := index[file]
		if !ok {
			i = len(lr.Sources)
			lr.Sources = append(lr.Sources, fs.info(file))
			index[file] = i
		}
		loc.SourceIndex = int32(i)
	}
	for i := range lr.Warnings {
		move(lr.Warnings[i].Location)
	}
	if lr.Error != nil {
		move(&lr.Error.Location)
	}
}

// moveRanges is relocateRanges for the ranges of a location, which it
// moves in place.
func moveRanges(srcs *rewrite.Sources, loc *pb.Location) int {
	file, rs := relocateRanges(srcs, loc.Ranges,
		func(r *pb.Range) (int, int, bool) {
			if r.Start == nil || r.End == nil {
				return 0, 0, false
			}
			return int(r.Start.Line), int(r.End.Line), true
		},
		func(r **pb.Range, start, end int) { (*r).Start.Line, (*r).End.Line = int32(start), int32(end) })
	loc.Ranges = rs
	return file
}
