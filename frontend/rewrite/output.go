package rewrite

import (
	"slices"
	"strings"

	"github.com/org/stagefront/frontend/syntax"
)

// output writes the rewritten file: dead lines become "#" (keeping their
// line ending), --if= flags are cut out, everything else is as written.
func (e *evaluation) output(dt []byte) []byte {
	// The edits, by line then column: the walk makes them in file order,
	// but a line's guard and its resolved --from= may come either way.
	strips := e.strip
	slices.SortStableFunc(strips, func(a, b *syntax.Span) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.From - b.From
	})
	notes := map[int]string{}
	if e.opt.Annotate {
		for _, it := range e.requires {
			notes[it.Line-1] = "# REQUIRE " + strings.Join(it.Args(), " ") + " (stagefront: these stages must pass)"
		}
	}
	out := make([]byte, 0, len(dt))
	for i := range e.p.Syntax.NumLines() {
		line := e.p.Syntax.Line(i)
		n := 0
		for n < len(strips) && strips[n].Line == i {
			n++
		}
		spans := strips[:n]
		strips = strips[n:]
		switch {
		case notes[i] != "":
			out = append(out, notes[i]...)
			out = append(out, line[len(trimEOL(line)):]...)
		case e.dead[i]:
			if i == 0 && len(line) >= 3 && string(line[:3]) == "\xEF\xBB\xBF" {
				out = append(out, line[:3]...)
			}
			out = append(out, '#')
			out = append(out, line[len(trimEOL(line)):]...)
		case len(spans) > 0:
			prev := 0
			for _, s := range spans {
				out = append(out, line[prev:s.From]...)
				out = append(out, s.Text...)
				prev = s.To
			}
			out = append(out, line[prev:]...)
		default:
			out = append(out, line...)
		}
	}
	return out
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
