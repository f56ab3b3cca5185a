package syntax

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Error is one problem in an extended Dockerfile, at a line of the
// original file.
type Error struct {
	File string
	// Line is 1-based; Column is 1-based within the line, 0 when not known.
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Range is the error's location in the form BuildKit's source maps use.
func (e *Error) Range() parser.Range {
	return parser.Range{Start: parser.Position{Line: e.Line}, End: parser.Position{Line: e.Line}}
}

// ErrorList is every problem found in one pass, sorted by line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Ranges returns the location of every error, for source-mapped reporting.
func (l ErrorList) Ranges() []parser.Range {
	out := make([]parser.Range, len(l))
	for i, e := range l {
		out[i] = e.Range()
	}
	return out
}

// Add appends an error at line (and column, 0 when unknown) of file.
func (l *ErrorList) Add(file string, line, col int, format string, args ...any) {
	*l = append(*l, &Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// Err returns nil for an empty list, else the list sorted by line.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	return l
}
