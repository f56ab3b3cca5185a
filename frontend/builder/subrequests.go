package builder

// Follows BuildKit v0.35.1 frontend/dockerfile/dockerfile2llb/convert.go:
// ListTargets (as listTargets).

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/convertllb"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
)

// subrequestHandler answers `--call` requests, each on the rewrite for
// platform p (the first target platform; nil for the builder's).
func subrequestHandler(cv *converter, p *ocispecs.Platform) dockerui.RequestHandler {
	return dockerui.RequestHandler{
		Outline: func(ctx context.Context) (_ *outline.Outline, err error) {
			defer catchPanic(&err)
			return cv.outline(ctx, p)
		},
		ListTargets: func(ctx context.Context) (_ *targets.List, err error) {
			defer catchPanic(&err)
			return cv.targets(ctx, p)
		},
		Lint: func(ctx context.Context) (_ *lint.LintResults, err error) {
			defer catchPanic(&err)
			return cv.lint(ctx, p)
		},
		ConvertLLB: func(ctx context.Context) (_ *convertllb.Result, err error) {
			defer catchPanic(&err)
			return cv.convertLLB(ctx, p)
		},
	}
}

// requestOpt is the ConvertOpt subrequests use: upstream's, unchanged
// (no target platform, warnings on), with build args of its own.
func (cv *converter) requestOpt() dockerfile2llb.ConvertOpt {
	return cv.platformOpt(nil, true)
}

// requestOptFor is requestOpt for converting rw: a rewrite with fragments
// is converted with the expanded file's source map (see convertOpt).
func (cv *converter) requestOptFor(rw *rewrite.Result) (dockerfile2llb.ConvertOpt, *fileSources) {
	return cv.convertOpt(nil, true, rw)
}

// outline is upstream's outline of the rewrite, plus every flag that a
// condition on the target's path reads, even when its condition is off.
func (cv *converter) outline(ctx context.Context, p *ocispecs.Platform) (*outline.Outline, error) {
	rw, err := cv.rewriteListingFlags(ctx, p)
	if err != nil {
		return nil, err
	}
	opt, files := cv.requestOptFor(rw)
	o, err := dockerfile2llb.Dockerfile2Outline(ctx, rw.Dockerfile, opt)
	if err != nil {
		return nil, files.locate(err)
	}
	addFlags(o, rw, cv.orig)
	o.Description = withNote(o.Description, gatesNote(rw))
	if files != nil {
		// The locations are the expanded file's: each to its own file.
		ds := files.dataSources()
		for i := range o.Args {
			ds.move(o.Args[i].Location)
		}
		for i := range o.Secrets {
			ds.move(o.Secrets[i].Location)
		}
		for i := range o.SSH {
			ds.move(o.SSH[i].Location)
		}
		for i := range o.Cache {
			ds.move(o.Cache[i].Location)
		}
		if len(o.Sources) > 0 {
			o.Sources = ds.data
		}
	}
	return o, nil
}

// gatesNote says, inside the outline's description, which stages the
// target REQUIREs (transitively) and where; "" when none.
func gatesNote(rw *rewrite.Result) string {
	if len(rw.Gates) == 0 {
		return ""
	}
	gs := make([]string, len(rw.Gates))
	for i, g := range rw.Gates {
		gs[i] = g
		if line := requireLine(rw, g); line > 0 {
			gs[i] = fmt.Sprintf("%s (%s)", g, rw.LineRef(line))
		}
	}
	return "requires: " + strings.Join(gs, ", ") + " (stagefront REQUIRE: built with the target, and must pass)"
}

// addFlags completes an outline with the condition flags. Args keep
// upstream's order; flags it already lists get a note in their
// description, the others are appended in order of first use. Sources
// become the original file, which the locations refer to.
func addFlags(o *outline.Outline, rw *rewrite.Result, orig []byte) {
	flags := rw.Flags
	if len(o.Sources) > 0 {
		o.Sources = [][]byte{orig}
	}
	listed := make(map[string]int, len(o.Args))
	for i, a := range o.Args {
		listed[a.Name] = i
	}
	for _, f := range flags {
		note := flagNote(f, rw)
		if i, ok := listed[f.Name]; ok {
			o.Args[i].Description = withNote(o.Args[i].Description, note)
			continue
		}
		a := outline.Arg{
			Name:        f.Name,
			Description: withNote(f.Doc, note),
			Value:       f.Value,
		}
		if f.Line > 0 {
			a.Location = lineLocation(f.Line)
		}
		listed[f.Name] = len(o.Args)
		o.Args = append(o.Args, a)
	}
	if len(o.Args) > 0 && o.Sources == nil {
		o.Sources = [][]byte{orig}
	}
}

// flagNote says, inside an outline description, that a name is read by
// stagefront conditions and where.
func flagNote(f rewrite.Flag, rw *rewrite.Result) string {
	var b strings.Builder
	b.WriteString("stagefront condition flag")
	if f.Automatic {
		b.WriteString(" (automatic platform ARG)")
	}
	switch {
	case len(f.UsedAt) == 0:
	case len(f.UsedAt) == 1:
		b.WriteString(", read by the condition on " + rw.LineRef(f.UsedAt[0]))
	case rw.Sources == nil:
		b.WriteString(", read by the conditions on lines " + joinInts(f.UsedAt))
	default:
		refs := make([]string, len(f.UsedAt))
		for i, l := range f.UsedAt {
			refs[i] = rw.LineRef(l)
		}
		b.WriteString(", read by the conditions on " + strings.Join(refs, ", "))
	}
	if !f.Defined {
		b.WriteString("; no value given")
	}
	return b.String()
}

func withNote(desc, note string) string {
	if note == "" {
		return desc
	}
	if desc == "" {
		return note
	}
	return desc + " (" + note + ")"
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func lineLocation(line int) *pb.Location {
	return &pb.Location{Ranges: []*pb.Range{{
		Start: &pb.Position{Line: int32(line)},
		End:   &pb.Position{Line: int32(line)},
	}}}
}

// targets lists every stage of the file, live or not: the live ones as
// upstream lists them in the rewrite, the ones a condition turned off
// from the original file (they are targets under other values), each
// conditional one with its conditions in the description.
func (cv *converter) targets(ctx context.Context, p *ocispecs.Platform) (*targets.List, error) {
	rw, err := cv.rewrite(ctx, p)
	if err != nil {
		return nil, err
	}
	l, err := listTargets(rw)
	if err != nil {
		return nil, err
	}
	out := mergeTargets(l, rw, cv.orig)
	if files := newFileSources(cv.opt.SourceMap, rw.Sources); files != nil {
		// The locations are the expanded file's: each to its own file.
		ds := files.dataSources()
		for i := range out.Targets {
			ds.move(out.Targets[i].Location)
		}
		out.Sources = ds.data
	}
	return out, nil
}

// listTargets is upstream's target list of the rewrite: the live stages,
// the last one the default. It is dockerfile2llb.ListTargets on the
// rewrite's instructions as the analysis parsed them, instead of parsing
// the rewrite again, and with a linter for `# check=` comments (upstream
// calls instructions.Parse without one there, which panics on a `# check=`
// comment above an instruction).
func listTargets(rw *rewrite.Result) (*targets.List, error) {
	stages, _, err := rw.Instructions()
	if err != nil {
		return nil, err
	}
	l := &targets.List{Sources: [][]byte{rw.Dockerfile}}
	for i, s := range stages {
		l.Targets = append(l.Targets, targets.Target{
			Name:        s.Name,
			Description: s.DocComment,
			Default:     i == len(stages)-1,
			Base:        s.BaseName,
			Platform:    s.Platform,
			Location:    sourceLocation(s.Location),
		})
	}
	return l, nil
}

// sourceLocation is dockerfile2llb's toSourceLocation (outline.go).
func sourceLocation(r []parser.Range) *pb.Location {
	if len(r) == 0 {
		return nil
	}
	return &pb.Location{Ranges: pbRanges(r)}
}

// mergeTargets builds the target list from the rewrite's stages. l is
// upstream's list for the rewrite (live stages only).
func mergeTargets(l *targets.List, rw *rewrite.Result, orig []byte) *targets.List {
	out := &targets.List{Sources: [][]byte{orig}}
	if len(rw.Stages) == 0 {
		out.Targets = l.Targets
		return out
	}
	live := map[int]targets.Target{}
	for _, t := range l.Targets {
		live[locationLine(t.Location)] = t
	}
	used := map[int]bool{}
	for _, st := range rw.Stages {
		t, ok := live[st.Line]
		if ok {
			used[st.Line] = true
		} else {
			t = offTarget(st, rw.Analysis)
		}
		t.Description = withStageNote(t.Description, st, rw)
		out.Targets = append(out.Targets, t)
	}
	// Never drop what upstream listed, even if the stages disagree.
	for _, t := range l.Targets {
		if !used[locationLine(t.Location)] {
			out.Targets = append(out.Targets, t)
		}
	}
	return out
}

func locationLine(loc *pb.Location) int {
	if loc == nil || len(loc.Ranges) == 0 || loc.Ranges[0].Start == nil {
		return 0
	}
	return int(loc.Ranges[0].Start.Line)
}

// offTarget describes a stage that is not in the rewrite, from the
// analysis' parse of its FROM (without stagefront's --if flag).
func offTarget(st rewrite.Stage, f *analysis.File) targets.Target {
	t := targets.Target{Name: st.Name, Location: lineLocation(st.Line)}
	if f == nil || st.Index >= len(f.Stages) || f.Stages[st.Index].Parsed == nil {
		return t
	}
	s := f.Stages[st.Index].Parsed
	t.Name = s.Name
	t.Description = s.DocComment
	t.Base = s.BaseName
	t.Platform = s.Platform
	t.Location = &pb.Location{Ranges: pbRanges(s.Location)}
	return t
}

// withStageNote appends what stagefront knows about a stage to its
// description: the conditions it depends on, whether this build turned
// it off and why, and the stages it REQUIREs.
func withStageNote(desc string, st rewrite.Stage, rw *rewrite.Result) string {
	var parts []string
	if len(st.Conditions) > 0 {
		parts = append(parts, "conditional: "+strings.Join(st.Conditions, ", "))
	}
	if !st.Live {
		if st.OffBy != "" {
			parts = append(parts, "off in this build: "+st.OffBy)
		} else {
			parts = append(parts, "off in this build")
		}
	}
	if len(st.Requires) > 0 {
		rs := make([]string, len(st.Requires))
		for i, r := range st.Requires {
			rs[i] = fmt.Sprintf("%s (%s)", r.Stage, rw.LineRef(r.Line))
		}
		parts = append(parts, "requires: "+strings.Join(rs, ", "))
	}
	if len(parts) == 0 {
		return desc
	}
	note := strings.Join(parts, "; ")
	if desc == "" {
		return note
	}
	return desc + " [" + note + "]"
}

// lint runs upstream's rules on the rewrite, with the original source
// map, then ours (checkLint). A rewrite error is reported as upstream
// reports a build error: in the results, not as a failed request.
func (cv *converter) lint(ctx context.Context, p *ocispecs.Platform) (*lint.LintResults, error) {
	rw, err := cv.rewriteOrFailed(ctx, p)
	if err != nil {
		if lr := ErrorLint(err, cv.opt.SourceMap, rw); lr != nil {
			return lr, nil
		}
		return nil, err
	}
	opt, files := cv.requestOptFor(rw)
	lr, err := dockerfile2llb.DockerfileLint(ctx, rw.Dockerfile, opt)
	if err != nil {
		return nil, files.locate(locateConverterError(err, rw))
	}
	if err := cv.checkLint(ctx, rw, lr, opt.SourceMap); err != nil {
		return nil, err
	}
	if opt.SourceMap != nil {
		LocateLintError(lr, lr.AddSource(opt.SourceMap), rw)
	}
	if files != nil && opt.SourceMap != nil {
		// The findings are at lines of the expanded file: each to its own.
		RelocateLint(lr, lr.AddSource(opt.SourceMap), cv.opt.SourceMap, rw.Sources)
	}
	return lr, nil
}

// convertLLB is upstream's convertllb subrequest on the rewrite.
func (cv *converter) convertLLB(ctx context.Context, p *ocispecs.Platform) (*convertllb.Result, error) {
	rw, err := cv.rewrite(ctx, p)
	if err != nil {
		return nil, err
	}
	opt, files := cv.requestOptFor(rw)
	res, err := dockerfile2llb.DockerfileConvertLLB(ctx, rw.Dockerfile, opt)
	return res, files.locate(err)
}
