package lsp

import (
	"bytes"
	"unicode/utf16"

	"go.lsp.dev/protocol"
)

// text is a document's bytes with the offsets of its lines, to convert
// between byte columns (the pipeline's) and UTF-16 columns (the
// protocol's).
type text struct {
	data  []byte
	start []int // start[i] is the offset of line i (0-based)
}

func newText(data []byte) *text {
	t := &text{data: data, start: make([]int, 1, bytes.Count(data, []byte{'\n'})+1)}
	for i, b := range data {
		if b == '\n' {
			t.start = append(t.start, i+1)
		}
	}
	return t
}

// lines is the number of lines.
func (t *text) lines() int { return len(t.start) }

// line returns line i (0-based) without its line ending; nil past the end.
func (t *text) line(i int) []byte {
	if i < 0 || i >= len(t.start) {
		return nil
	}
	end := len(t.data)
	if i+1 < len(t.start) {
		end = t.start[i+1] - 1
	}
	l := t.data[t.start[i]:end]
	return bytes.TrimSuffix(l, []byte{'\r'})
}

// utf16Col converts byte column col of line i to a UTF-16 column.
func (t *text) utf16Col(i, col int) uint32 {
	l := t.line(i)
	col = min(max(col, 0), len(l))
	n := 0
	for _, r := range string(l[:col]) {
		n += utf16.RuneLen(r) // an invalid byte is one U+FFFD: 1
	}
	return uint32(n)
}

// byteCol converts a position's UTF-16 column to a byte column of its
// line (clamped to the line).
func (t *text) byteCol(p protocol.Position) int {
	l := t.line(int(p.Line))
	units := 0
	for i, r := range string(l) {
		if units >= int(p.Character) {
			return i
		}
		units += utf16.RuneLen(r)
	}
	return len(l)
}

// lineRange is the range of 1-based lines from..to, from the first
// non-blank byte of from to the end of to.
func (t *text) lineRange(from, to int) protocol.Range {
	from, to = max(from, 1), max(to, from)
	first := t.line(from - 1)
	indent := len(first) - len(bytes.TrimLeft(first, " \t"))
	return protocol.Range{
		Start: protocol.Position{Line: uint32(from - 1), Character: t.utf16Col(from-1, indent)},
		End:   protocol.Position{Line: uint32(to - 1), Character: t.utf16Col(to-1, len(t.line(to-1)))},
	}
}

// span is the range of byte columns from..to of 1-based line n.
func (t *text) span(n, from, to int) protocol.Range {
	return protocol.Range{
		Start: protocol.Position{Line: uint32(n - 1), Character: t.utf16Col(n-1, from)},
		End:   protocol.Position{Line: uint32(n - 1), Character: t.utf16Col(n-1, to)},
	}
}

// wordAt returns the word at byte column col of 1-based line n: a run of
// the bytes a stage, ARG or path is written with, and its byte columns.
func (t *text) wordAt(n, col int) (word string, from, to int) {
	l := t.line(n - 1)
	from, to = col, col
	for from > 0 && isWordByte(l[from-1]) {
		from--
	}
	for to < len(l) && isWordByte(l[to]) {
		to++
	}
	return string(l[from:to]), from, to
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b == '.' || b == '/' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}
