package lint

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// refExpr is the definition wordRefs and refMatcher implement: text
// reads the variable name when it contains name and matches refExpr(name)
// (what the checks asked of each name and text before they indexed the
// names).
func refExpr(name string) *regexp.Regexp {
	return regexp.MustCompile(`\$(\{` + regexp.QuoteMeta(name) + `[}:]|` + regexp.QuoteMeta(name) + `\b)`)
}

// TestRefs compares wordRefs and refMatcher with refExpr on random
// texts and names made of the bytes that matter ($, braces, word and
// other bytes, a multibyte rune).
func TestRefs(t *testing.T) {
	names := []string{"a", "ab", "a1", "_", "b_", "A", "a-b", "a-", "-a", "é", "aé", "$a", "$", "$$", "a$", "{a", "a}", "a:b", "a b", "}", "a-b-"}
	var odd []string
	for _, n := range names {
		if !isWordName(n) {
			odd = append(odd, n)
		}
	}
	m := newRefMatcher(odd)
	exprs := map[string]*regexp.Regexp{}
	for _, n := range names {
		exprs[n] = refExpr(n)
	}
	pieces := []string{"$", "$", "{", "}", ":", "a", "b", "1", "_", "-", "é", " ", "A", "$a", "${a", "${a-b}", "$a-b"}
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		var b strings.Builder
		for range r.Intn(12) {
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		text := b.String()
		found := map[string]bool{}
		wordRefs(text, func(n string) { found[n] = true })
		m.refs(text, func(n string) { found[n] = true })
		for _, n := range names {
			want := strings.Contains(text, n) && exprs[n].MatchString(text)
			if found[n] != want {
				t.Errorf("%q reads %q: %v, want %v", text, n, found[n], want)
			}
		}
	}
}

func TestWordRefs(t *testing.T) {
	var got []string
	wordRefs("echo $A ${B} ${C:-x} ${D-x} $E-x $$F \\$G ${ H} $é $1x ${I", func(n string) { got = append(got, n) })
	if want := "A B C E F G 1x"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
