package lint

import "strings"

// Which variables a text reads: name is read where the text matches
//
//	\$(\{name[}:]|name\b)
//
// ($name, ${name} or ${name:...}; \b is an ASCII word boundary). The
// rules ask it of many names about many texts, so instead of matching
// each name against each text they list the names each text reads, in
// one pass over the text, and look names up in what they listed.
//
// For a name made of word bytes only ([0-9A-Za-z_], as a variable of a
// shell word is), a match is the whole run of word bytes after a `$`
// (or after a `${`, then followed by } or :): wordRefs lists those. Any
// other name (an ARG may be called a-b, or café, and a condition reads
// it with defined("a-b")) is found by a refMatcher, which knows the
// names to look for. Texts and names are compared as bytes, where the
// expression compared runes: it read a byte of a text that is not UTF-8
// as U+FFFD, which a name could hold (BuildKit's ARG parser puts it for
// such bytes in names and values, not in the instruction's text).

func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// isWordName reports whether name is made of word bytes only (the names
// wordRefs finds).
func isWordName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isWordByte(name[i]) {
			return false
		}
	}
	return true
}

// wordRefs calls yield with each word-byte name text reads, in order,
// repeats included. It reads each byte of text at most twice.
func wordRefs(text string, yield func(name string)) {
	for i := strings.IndexByte(text, '$'); i >= 0; {
		j := i + 1
		braced := j < len(text) && text[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(text) && isWordByte(text[k]) {
			k++
		}
		if k > j && (!braced || k < len(text) && (text[k] == '}' || text[k] == ':')) {
			yield(text[j:k])
		}
		// The run holds no $: the next one is at k or after.
		next := strings.IndexByte(text[k:], '$')
		if next < 0 {
			return
		}
		i = k + next
	}
}

// refMatcher finds given names that are not word-byte names in texts: a
// trie of the names, walked from each `$` (and `${`) of a text. A walk
// stops where the text leaves the trie, so walks from different `$`
// overlap only along names that themselves hold a `$`; each is at most
// as long as the longest name (a name read by a condition is shorter
// than conditions.MaxLength).
type refMatcher struct {
	next map[trieEdge]int32
	// name is the name that ends at each node, "" for none.
	name []string
}

type trieEdge struct {
	node int32
	b    byte
}

// newRefMatcher returns a matcher of names (word-byte names and ""
// are left out, wordRefs finds them), or nil when that leaves none.
func newRefMatcher(names []string) *refMatcher {
	var m *refMatcher
	for _, n := range names {
		if n == "" || isWordName(n) {
			continue
		}
		if m == nil {
			m = &refMatcher{next: map[trieEdge]int32{}, name: []string{""}}
		}
		node := int32(0)
		for i := 0; i < len(n); i++ {
			e := trieEdge{node, n[i]}
			to, ok := m.next[e]
			if !ok {
				to = int32(len(m.name))
				m.name = append(m.name, "")
				m.next[e] = to
			}
			node = to
		}
		m.name[node] = n
	}
	return m
}

// refs calls yield with each of the matcher's names that text reads, in
// no particular order, repeats included.
func (m *refMatcher) refs(text string, yield func(name string)) {
	if m == nil {
		return
	}
	for i := strings.IndexByte(text, '$'); i >= 0; {
		m.walk(text, i+1, false, yield)
		if i+1 < len(text) && text[i+1] == '{' {
			m.walk(text, i+2, true, yield)
		}
		next := strings.IndexByte(text[i+1:], '$')
		if next < 0 {
			return
		}
		i += 1 + next
	}
}

// walk follows the trie along text from byte from, yielding the names
// that end where the expression's end condition holds: a } or : after a
// braced name; a word boundary after a bare one.
func (m *refMatcher) walk(text string, from int, braced bool, yield func(name string)) {
	node := int32(0)
	for q := from; q < len(text); q++ {
		to, ok := m.next[trieEdge{node, text[q]}]
		if !ok {
			return
		}
		node = to
		name := m.name[node]
		if name == "" {
			continue
		}
		end := q + 1
		if braced {
			if end < len(text) && (text[end] == '}' || text[end] == ':') {
				yield(name)
			}
		} else if isWordByte(text[q]) != (end < len(text) && isWordByte(text[end])) {
			yield(name)
		}
	}
}
