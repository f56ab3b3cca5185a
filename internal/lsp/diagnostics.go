package lsp

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/solver/pb"
	"github.com/org/stagefront/frontend/syntax"
	"go.lsp.dev/protocol"
)

// source is the Diagnostic.Source of every diagnostic.
const source = "stagefront"

// pathOf is the path on disk of a file of the snapshot, by the name the
// errors and checks give it: the Dockerfile's, a fragment's path beside
// it, or NAME:path for a fragment of the named context NAME.
func (s *snapshot) pathOf(name string) string {
	if name == filepath.Base(s.path) {
		return s.path
	}
	if from, p, ok := strings.Cut(name, ":"); ok {
		if d, ok := s.fragDirs[from]; ok && from != "" {
			return filepath.Join(d, filepath.FromSlash(p))
		}
	}
	return filepath.Join(s.fragDirs[""], filepath.FromSlash(name))
}

// diagnostics are the diagnostics of the snapshot, by the path of the
// file they are in: the Dockerfile's, and those of its fragments that
// textOf has the text of (the open ones).
func (s *snapshot) diagnostics(textOf func(path string) *text) map[string][]protocol.Diagnostic {
	out := map[string][]protocol.Diagnostic{s.path: {}}
	add := func(path string, d protocol.Diagnostic) {
		out[path] = append(out[path], d)
	}
	textIn := func(path string) *text {
		if path == s.path {
			return s.text
		}
		return textOf(path)
	}

	for _, e := range s.errs {
		p := s.pathOf(e.File)
		if t := textIn(p); t != nil {
			add(p, protocol.Diagnostic{Range: errorRange(t, e), Severity: protocol.DiagnosticSeverityError, Source: source, Message: e.Msg})
		}
		if e.Via > 0 && p != s.path {
			// At the INCLUDE that brings the fragment in, with its place.
			add(s.path, protocol.Diagnostic{
				Range:    s.text.lineRange(e.Via, e.Via),
				Severity: protocol.DiagnosticSeverityError, Source: source,
				Message: fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg),
				RelatedInformation: []protocol.DiagnosticRelatedInformation{{
					Location: protocol.Location{URI: uriOf(p), Range: protocol.Range{Start: protocol.Position{Line: uint32(max(e.Line-1, 0))}}},
					Message:  "the error in the fragment",
				}},
			})
		}
	}
	if s.omitted > 0 && len(s.errs) > 0 {
		last := s.errs[len(s.errs)-1]
		line := last.Line
		if last.Via > 0 {
			line = last.Via
		}
		add(s.path, protocol.Diagnostic{Range: s.text.lineRange(line, line), Severity: protocol.DiagnosticSeverityError, Source: source,
			Message: fmt.Sprintf("and %d more errors (the first %d are shown)", s.omitted, syntax.MaxErrors)})
	}
	if s.other != nil {
		add(s.path, protocol.Diagnostic{Range: s.text.lineRange(1, 1), Severity: protocol.DiagnosticSeverityError, Source: source, Message: s.other.Error()})
	}

	if lr := s.lint; lr != nil {
		severity := protocol.DiagnosticSeverityWarning
		if s.fail != nil {
			// # check=error=true: the warnings fail the build.
			severity = protocol.DiagnosticSeverityError
		}
		file := func(loc *pb.Location) string {
			if loc == nil || int(loc.SourceIndex) >= len(lr.Sources) || loc.SourceIndex < 0 {
				return s.path
			}
			return s.pathOf(lr.Sources[loc.SourceIndex].Filename)
		}
		for _, w := range lr.Warnings {
			p := file(w.Location)
			t := textIn(p)
			if t == nil {
				continue
			}
			d := protocol.Diagnostic{Range: pbRange(t, w.Location), Severity: severity, Source: source, Code: w.RuleName, Message: w.Detail}
			if w.URL != "" {
				d.CodeDescription = &protocol.CodeDescription{Href: protocol.URI(w.URL)}
			}
			add(p, d)
		}
		if be := lr.Error; be != nil {
			p := file(&be.Location)
			if t := textIn(p); t != nil {
				add(p, protocol.Diagnostic{Range: pbRange(t, &be.Location), Severity: protocol.DiagnosticSeverityError, Source: source, Message: be.Message})
			}
		}
	}

	for p, lines := range s.deadLines() {
		t := textIn(p)
		if t == nil {
			continue
		}
		for _, d := range lines {
			add(p, protocol.Diagnostic{Range: t.lineRange(d.from, d.to), Severity: protocol.DiagnosticSeverityHint, Source: source,
				Message: d.why, Tags: []protocol.DiagnosticTag{protocol.DiagnosticTagUnnecessary}})
		}
	}
	return out
}

// errorRange is where an error is: from its column to the end of the
// word there, or its whole line.
func errorRange(t *text, e *syntax.Error) protocol.Range {
	if e.Column > 0 {
		if _, from, to := t.wordAt(e.Line, e.Column-1); to > from && from == e.Column-1 {
			return t.span(e.Line, from, to)
		}
	}
	return t.lineRange(e.Line, e.Line)
}

// pbRange is the range of a check's location: its lines.
func pbRange(t *text, loc *pb.Location) protocol.Range {
	if loc == nil || len(loc.Ranges) == 0 || loc.Ranges[0].Start == nil {
		return t.lineRange(1, 1)
	}
	r := loc.Ranges[0]
	from, to := int(r.Start.Line), int(r.Start.Line)
	if r.End != nil && int(r.End.Line) >= from {
		to = int(r.End.Line)
	}
	return t.lineRange(max(from, 1), max(to, 1))
}

// deadRange is a run of lines this build leaves out, and why.
type deadRange struct {
	from, to int
	why      string
}

// deadLines are the instructions the build leaves out, by file: an
// instruction is dead when no inclusion of its line is in the rewrite.
func (s *snapshot) deadLines() map[string][]deadRange {
	if s.rw == nil || !s.rw.Extended {
		return nil
	}
	type place struct {
		path string
		line int
	}
	live := map[place]bool{}
	var order []place
	why := map[place]string{}
	ends := map[place]int{}
	for _, it := range s.rw.Analysis.Syntax.Items {
		if it.Kind != syntax.Instruction {
			continue
		}
		p, line := s.where(it.Line)
		at := place{p, line}
		if _, seen := live[at]; !seen {
			order = append(order, at)
			why[at] = s.offBecause(it)
			ends[at] = line + it.EndLine - it.Line
		}
		live[at] = live[at] || s.rw.Live(it)
	}
	out := map[string][]deadRange{}
	for _, at := range order {
		if !live[at] {
			out[at.path] = append(out[at.path], deadRange{at.line, ends[at], why[at]})
		}
	}
	return out
}

// offBecause says why an instruction of the rewrite is not in it.
func (s *snapshot) offBecause(it *syntax.Item) string {
	const suffix = " for these build args, target and platform"
	switch {
	case it.Cond != nil:
		return fmt.Sprintf("not in this build: --if=%s is false%s", it.Cond.Text, suffix)
	case it.Branch != nil:
		return fmt.Sprintf("not in this build%s (inside the IF at %s)", suffix, s.rw.LineRef(it.Branch.Block.Branches[0].Item.Line))
	default:
		return "not in this build: its stage is off" + suffix
	}
}
