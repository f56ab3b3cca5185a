package syntax

import (
	"bytes"
	"unicode"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// logical is one instruction as BuildKit's parser sees it: its physical
// lines joined, with a map from each byte back to where it was written.
type logical struct {
	text []byte
	// segs maps text offsets to file positions, in order.
	segs []segment
	// first holds segs for the usual one-line instruction.
	first [1]segment
	// buf is where the text of an instruction of several lines is put
	// together, kept from one join to the next.
	buf []byte
}

type segment struct {
	at   int // offset in text where the segment starts
	line int // 0-based line index in the file
	col  int // byte column in that line where the segment starts
}

// position maps an offset of the joined text to a 0-based line and byte
// column of the file.
func (l *logical) position(off int) (line, col int) {
	s := l.segs[0]
	for _, t := range l.segs[1:] {
		if t.at > off {
			break
		}
		s = t
	}
	return s.line, s.col + off - s.at
}

// join rebuilds in l the logical line of the instruction that starts at
// line index first, the way BuildKit's parser does: continuation
// characters removed, comment and blank lines inside the continuation
// skipped. l.text is valid until the next join.
func (l *logical) join(f *File, first, last int) {
	l.text = nil
	l.segs = l.first[:0]
	for i := first; i <= last && i < f.NumLines(); i++ {
		raw := trimEOL(f.Line(i))
		col := 0
		if i == 0 && bytes.HasPrefix(raw, bom) {
			col = len(bom)
		}
		if i == first {
			rest := bytes.TrimLeftFunc(raw[col:], unicode.IsSpace)
			col = len(raw) - len(rest)
		} else if isComment(raw) || len(bytes.TrimLeftFunc(raw, unicode.IsSpace)) == 0 {
			continue
		}
		content, cont := cutContinuation(raw[col:], f.Escape)
		l.segs = append(l.segs, segment{at: len(l.text), line: i, col: col})
		switch len(l.segs) {
		case 1:
			l.text = content // the file's own bytes: one line needs no copy
		case 2:
			l.buf = append(l.buf[:0], l.text...)
			fallthrough
		default:
			l.buf = append(l.buf, content...)
			l.text = l.buf
		}
		if !cont {
			break
		}
	}
	if len(l.segs) == 0 {
		l.segs = append(l.segs, segment{line: first})
	}
}

func trimEOL(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

func isComment(b []byte) bool {
	b = bytes.TrimLeftFunc(b, unicode.IsSpace)
	return len(b) > 0 && b[0] == '#'
}

// cutContinuation removes a trailing continuation character (the escape
// token followed only by blanks, and not itself escaped).
func cutContinuation(b []byte, escape byte) ([]byte, bool) {
	t := bytes.TrimRight(b, " \t")
	if len(t) == 0 || t[len(t)-1] != escape {
		return b, false
	}
	if len(t) >= 2 && t[len(t)-2] == escape {
		return b, false
	}
	return t[:len(t)-1], true
}

// word is one flag word of an instruction, as offsets of the joined text.
type word struct {
	from, to int
	value    string // with quotes and escapes resolved, as the parser gives it
}

// isBlank mirrors the parser's test of a single byte as a space
// (unicode.IsSpace of the byte as a rune).
func isBlank(b byte) bool {
	switch b {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// flagWords splits the joined instruction into its keyword, its leading
// --flag words (appended to flags) and the offset where its arguments
// start.
func flagWords(flags []word, text []byte, escape byte) ([]word, int) {
	flags, at, _ := flagWordsIn(flags, text, escape, nil)
	return flags, at
}

// flagWordsIn is flagWords, with buf the room to put a word together
// that has quotes or escapes (returned, maybe grown, for the next call).
func flagWordsIn(flags []word, text []byte, escape byte, buf []byte) ([]word, int, []byte) {
	i := 0
	for i < len(text) && isBlank(text[i]) {
		i++
	}
	for i < len(text) && !isSeparator(text[i]) {
		i++
	}
	for i < len(text) && isSeparator(text[i]) {
		i++
	}
	for {
		for i < len(text) && isBlank(text[i]) {
			i++
		}
		if i+1 >= len(text) || text[i] != '-' || text[i+1] != '-' {
			return flags, i, buf
		}
		w := word{from: i}
		val := buf[:0]
		var quote byte
		// plain is the word as written while it has no quote or escape.
		plain := true
		for ; i < len(text); i++ {
			c := text[i]
			if quote == 0 && isBlank(c) {
				break
			}
			if plain {
				if c != '\'' && c != '"' && c != escape {
					continue
				}
				plain = false
				val = append(val, text[w.from:i]...)
			}
			switch {
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			case c == escape:
				if i+1 == len(text) {
					continue
				}
				i++
				c = text[i]
			}
			val = append(val, c)
		}
		w.to = i
		if plain {
			w.value = string(text[w.from:i])
		} else {
			w.value = string(val)
			buf = val
		}
		if w.value == "--" && w.to-w.from == 2 {
			return flags, i, buf
		}
		flags = append(flags, w)
	}
}

// isSeparator is the set of bytes the parser splits the keyword off with.
func isSeparator(b byte) bool {
	switch b {
	case ' ', '\t', '\v', '\f', '\r':
		return true
	}
	return false
}
