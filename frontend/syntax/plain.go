package syntax

import "bytes"

// Plain reports whether a scan of dt proves that the file uses no
// extension: no line starts with IF, ELSE, END, REQUIRE or INCLUDE, no
// --if flag is written anywhere, and neither a FROM nor a from= (COPY
// --from=, RUN --mount=from=) names a variable. Such a file is converted
// as written, exactly as upstream converts it, so a build needs no parse
// of its own. The scan is one pass over the bytes, without allocations,
// and errs on the safe side: lines in heredocs and comments count, both \
// and ` continue a line (whatever # escape= says), and each instruction is
// scanned again with its continuations joined. When it returns false the
// parse decides.
func Plain(dt []byte) bool {
	dt = bytes.TrimPrefix(dt, []byte("\ufeff"))
	start := 0 // of the instruction: its first line
	for i := 0; i <= len(dt); {
		end := bytes.IndexByte(dt[i:], '\n')
		if end < 0 {
			end = len(dt)
		} else {
			end += i
		}
		line := bytes.TrimRight(dt[i:end], " \t\r")
		if extensionStart(line) || containsFold(line, "--if") {
			return false
		}
		i = end + 1
		if n := len(line); n > 0 && (line[n-1] == '\\' || line[n-1] == '`') && i < len(dt) {
			continue // the instruction goes on
		}
		if !plainInstruction(dt[start:min(end, len(dt))]) {
			return false
		}
		start = i
	}
	return true
}

// plainInstruction checks an instruction with its continuation lines,
// joined as the parser joins them.
func plainInstruction(lines []byte) bool {
	if bytes.IndexByte(lines, '\n') < 0 {
		return bytes.IndexByte(lines, '$') < 0 || !fromWithVariable(lines)
	}
	var joined [512]byte
	logical := joined[:0]
	for len(lines) > 0 {
		line := lines
		if j := bytes.IndexByte(lines, '\n'); j >= 0 {
			line, lines = lines[:j], lines[j+1:]
		} else {
			lines = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if n := len(line); n > 0 && (line[n-1] == '\\' || line[n-1] == '`') {
			line = line[:n-1]
		}
		logical = append(logical, line...)
	}
	return !extensionStart(logical) && !containsFold(logical, "--if") &&
		(bytes.IndexByte(logical, '$') < 0 || !fromWithVariable(logical))
}

// fromWithVariable reports whether a variable names a stage in an
// instruction that has a $: in a FROM's words other than its flags (its
// base image or stage, its name), or in a from= value (COPY --from=, RUN
// --mount=from=).
func fromWithVariable(instr []byte) bool {
	if rest, ok := bytes.CutPrefix(bytes.TrimLeft(instr, " \t"), firstWord(instr)); ok && wordIs(firstWord(instr), "FROM") {
		for len(rest) > 0 {
			w := firstWord(rest)
			rest = bytes.TrimLeft(rest, " \t")[len(w):]
			if !bytes.HasPrefix(w, []byte("--")) && bytes.IndexByte(w, '$') >= 0 {
				return true
			}
		}
	}
	for i := 0; i+len("from=") <= len(instr); i++ {
		if !hasFoldAt(instr, i, "from=") {
			continue
		}
		v := instr[i+len("from="):]
		if end := bytes.IndexAny(v, ", \t\"'"); end >= 0 {
			v = v[:end]
		}
		if bytes.IndexByte(v, '$') >= 0 || len(v) == 0 {
			return true // a variable, or a quoted value: the parse decides
		}
	}
	return false
}

var extensionKeywords = []string{"IF", "ELSE", "END", "REQUIRE", "INCLUDE"}

// extensionStart reports whether line's first word is an extension
// keyword (any case).
func extensionStart(line []byte) bool {
	w := firstWord(line)
	for _, k := range extensionKeywords {
		if wordIs(w, k) {
			return true
		}
	}
	return false
}

func firstWord(line []byte) []byte {
	line = bytes.TrimLeft(line, " \t")
	end := 0
	for end < len(line) && line[end] != ' ' && line[end] != '\t' {
		end++
	}
	return line[:end]
}

// wordIs reports whether w is the upper-case ASCII word k, in any case.
func wordIs(w []byte, k string) bool {
	if len(w) != len(k) {
		return false
	}
	for i := range w {
		if upper(w[i]) != k[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII text w,
// in any case.
func containsFold(s []byte, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if hasFoldAt(s, i, w) {
			return true
		}
	}
	return false
}

// hasFoldAt reports whether s has the lower-case ASCII text w at i, in
// any case.
func hasFoldAt(s []byte, i int, w string) bool {
	if i+len(w) > len(s) {
		return false
	}
	for j := range len(w) {
		if lower(s[i+j]) != w[j] {
			return false
		}
	}
	return true
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}
