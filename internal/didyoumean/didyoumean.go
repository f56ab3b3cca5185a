// Package didyoumean is stagefront's one did-you-mean: every error and
// warning that suggests a name (an ARG, a stage, a function, a path)
// asks it, so that an error and a warning about the same typo suggest the
// same name. It is BuildKit's util/suggest, which upstream's own errors
// use, with one more rule for short names.
package didyoumean

import (
	"strings"

	"github.com/agext/levenshtein"
	"github.com/moby/buildkit/util/suggest"
)

// Closest returns the candidate that name most likely misspells, or ""
// when none is close: BuildKit's suggest.Search (fewer than three edits),
// except that a name of three characters or fewer only matches at one
// edit, and keeps a character (with two, any short name would suggest any
// other; "B" is no typo of "A"), and a
// case-sensitive name that differs from a candidate only in case
// suggests it. Names that equal a candidate have no suggestion. When caseSensitive is false the
// candidate is returned in the case the candidates list gives it.
func Closest(name string, candidates []string, caseSensitive bool) string {
	if caseSensitive {
		// A name that differs only in case is the likeliest typo of all
		// (suggest.Search, which compares lower-cased, never offers it).
		for _, c := range candidates {
			if c != name && strings.EqualFold(c, name) {
				return c
			}
		}
	}
	match, ok := suggest.Search(name, candidates, caseSensitive)
	if !ok {
		return ""
	}
	if !caseSensitive {
		// suggest.Search returns the candidate in the case of name; give
		// it as the candidates list spells it.
		for _, c := range candidates {
			if strings.EqualFold(c, match) {
				match = c
				break
			}
		}
	}
	if len(name) <= 3 {
		a, b := name, match
		if !caseSensitive {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		if d := levenshtein.Distance(a, b, nil); d > 1 || d >= len(name) {
			return ""
		}
	}
	return match
}
