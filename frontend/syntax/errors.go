package syntax

import (
	"fmt"
	"slices"
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
	// Via is, for an error in a fragment, the line of the INCLUDE in the
	// Dockerfile that brings the fragment in (through other fragments
	// when it is nested); 0 for an error of the Dockerfile itself.
	Via int
	// at orders the error among others when it is not Line: its line in
	// an expanded file that INCLUDEs others (see ErrorList.Relocate).
	at int
}

// order is the line the error sorts by.
func (e *Error) order() int {
	if e.at > 0 {
		return e.at
	}
	return e.Line
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

// MaxErrors is how many errors an ErrorList keeps: the first ones by line.
// The others are only counted ("and N more errors"), so that a file with a
// million broken lines costs no more memory than one with ten.
const MaxErrors = 10

// ErrorList collects the problems of a file, as go/scanner's ErrorList
// does: the first MaxErrors by line are kept, sorted, and the rest
// counted. The zero value is an empty list; use it by pointer.
type ErrorList struct {
	list []*Error
	// sorted says list is in line order and at most MaxErrors long.
	sorted bool
	// omitted counts the errors dropped beyond the first MaxErrors.
	omitted int
}

// newErrorList returns a list holding errs.
func newErrorList(errs ...*Error) *ErrorList {
	l := &ErrorList{}
	for _, e := range errs {
		l.add(e)
	}
	return l
}

// Add records an error at line (and column, 0 when unknown) of file.
func (l *ErrorList) Add(file string, line, col int, format string, args ...any) {
	l.add(&Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

func (l *ErrorList) add(e *Error) {
	l.list = append(l.list, e)
	l.sorted = false
	if len(l.list) >= 4*MaxErrors {
		l.trim()
	}
}

// trim sorts the list by line (stable: errors of one line keep the order
// they were found in) and keeps the first MaxErrors.
func (l *ErrorList) trim() {
	if l.sorted {
		return
	}
	slices.SortStableFunc(l.list, func(a, b *Error) int { return a.order() - b.order() })
	if len(l.list) > MaxErrors {
		l.omitted += len(l.list) - MaxErrors
		clear(l.list[MaxErrors:])
		l.list = l.list[:MaxErrors]
	}
	l.sorted = true
}

// Merge adds the errors of o to l.
func (l *ErrorList) Merge(o *ErrorList) {
	if o == nil {
		return
	}
	for _, e := range o.list {
		l.add(e)
	}
	l.omitted += o.omitted
}

// Len is the number of errors, the omitted ones included.
// Relocate returns the list with each error's file, line and Via given
// by where: the errors of an expanded file (a Dockerfile and the
// fragments it INCLUDEs) at their own files and lines, still in the
// order of the expanded file. The count of the errors left out stays.
func (l *ErrorList) Relocate(where func(expanded int) (file string, line, via int)) *ErrorList {
	if l == nil {
		return nil
	}
	out := &ErrorList{omitted: l.Omitted()}
	for _, e := range l.Errors() {
		r := *e
		r.at = e.order()
		r.File, r.Line, r.Via = where(e.Line)
		out.list = append(out.list, &r)
	}
	out.sorted = true
	return out
}

func (l *ErrorList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.list) + l.omitted
}

// Errors returns the errors kept, sorted by line: the first MaxErrors.
func (l *ErrorList) Errors() []*Error {
	if l == nil {
		return nil
	}
	l.trim()
	return l.list
}

// Omitted is the number of errors beyond those Errors returns.
func (l *ErrorList) Omitted() int {
	if l == nil {
		return 0
	}
	l.trim()
	return l.omitted
}

// Error renders the kept errors one per line, then "and N more errors".
func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l.Errors() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	if n := l.Omitted(); n > 0 {
		fmt.Fprintf(&b, "\n(and %d more %s)", n, plural(n, "error", "errors"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Ranges returns the location of every error kept, for source-mapped
// reporting.
func (l *ErrorList) Ranges() []parser.Range {
	errs := l.Errors()
	out := make([]parser.Range, len(errs))
	for i, e := range errs {
		out[i] = e.Range()
	}
	return out
}

// Err returns nil for an empty list, else the list, sorted by line.
func (l *ErrorList) Err() error {
	if l.Len() == 0 {
		return nil
	}
	l.trim()
	return l
}
