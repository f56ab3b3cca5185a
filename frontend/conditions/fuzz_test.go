package conditions

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/org/stagefront/frontend/syntax"
)

// fuzzNames are the names every fuzzed condition may read, besides the
// names its values give.
var fuzzNames = []string{"A", "B", "V", "E", "INCLUDE_DOCS", "TARGETARCH", "BUILD_ENV"}

var errFuzzExists = errors.New("exists: the context cannot be read")

// fuzzValues are the values of one fuzzed evaluation: exists() is true
// for "docs" and "a" (when on), and fails for a path holding "ERR".
type fuzzValues struct {
	vals map[string]string
	on   bool
}

func (v fuzzValues) Lookup(n string) (string, bool) { x, ok := v.vals[n]; return x, ok }
func (v fuzzValues) Exists(p string) (bool, error) {
	if strings.Contains(p, "ERR") {
		return false, errFuzzExists
	}
	return v.on && (p == "docs" || p == "a"), nil
}

type fuzzScope map[string]bool

func (s fuzzScope) Declared(n string) bool     { return s[n] }
func (s fuzzScope) Undeclared(n string) string { return "undeclared " + n }

// FuzzConditions compiles and evaluates any text with any values: no
// panic; every Compile error is a *Error whose Column, when set, is within
// the text; a condition that compiles evaluates to a boolean or a *Error
// (which unwraps to the error of exists() when that is the failure), and
// always to a boolean when every value is a valid flag; no message speaks
// of expr's internals (see testLeakMarkers); compiling the same text again with
// the same compiler gives the same answer, and the compiler's memo never
// lets a condition through a scope that does not declare its names.
//
// values holds NAME=VALUE lines; each name is declared. Seeds: every
// condition of the cases of ../rewrite/testdata/rewrite, and a few
// hostile shapes.
func FuzzConditions(f *testing.F) {
	vals := "A=true\nB=0\nV=1.22.3\nBUILD_ENV=production\nTARGETARCH=arm64\nINCLUDE_DOCS=maybe"
	for _, text := range goldenConditions(f) {
		f.Add(text, vals, true)
	}
	for _, text := range []string{
		"A", "!A && B", "A ? B : V", "V matches '^1\\\\.22'", "V matches A", "V matches '('",
		"BUILD_ENV in ['staging', 'qa']", "BUILD_ENV not in []", "defined(E) || defined('V')",
		`exists("docs/") && exists("ERR")`, "exists(V)", "exists()", "defined(1)", "A == 1",
		strings.Repeat("(", 1000) + "A" + strings.Repeat(")", 1000), strings.Repeat("!", 4000) + "A",
		strings.Repeat("A || ", 819) + "A", strings.Repeat("A || ", 820) + "A",
		"'é' == A &&", "'\xff' == A", "A == '\\u{110000}'", "A == '\\x'", "A == \"\\", "`A`",
		"A.B", "A[0]", "A |> B", "len(A) > 0", "let x = A; x", "#A", "$env", "nil == A", "1..3",
		"A in 'abc'", "A contains B ? 1 : 2", "A == '' ?? B",
		"nil", "exists", "A | B", "A = 'x'", "{}", "A in [[A]]", "if A { B } else { V }",
		"'éé' == A && C", "(A == B) == true", "A == true", "A != 'x' && V matches A",
	} {
		f.Add(text, vals, false)
	}
	f.Add("A", "A=maybe", true)
	f.Add("defined(exists) && exists('docs') && exists", "exists=1", true)
	f.Add("V matches A || A", "A=\xff\nV=x", true)
	f.Fuzz(func(t *testing.T, text, values string, on bool) {
		v := fuzzValues{vals: map[string]string{}, on: on}
		scope := fuzzScope{}
		names := append([]string(nil), fuzzNames...)
		for _, n := range fuzzNames {
			scope[n] = true
		}
		for _, line := range strings.Split(values, "\n") {
			if k, val, ok := strings.Cut(line, "="); ok {
				v.vals[k] = val
				scope[k] = true
				names = append(names, k)
			}
		}
		if !mayHoldForeignTokens(text) {
			if tokens, err := lexer.Lex(file.NewSource(text)); err == nil {
				for _, tok := range tokens {
					if _, ok := foreignToken(tok); ok {
						t.Fatalf("%q holds %v, which mayHoldForeignTokens misses", text, tok)
					}
				}
			}
		}
		cc := NewCompiler(names)
		c, err := cc.Compile(text, scope)
		checkCondError(t, text, err)
		c2, err2 := cc.Compile(text, scope)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("compiled twice: %v, then %v", err, err2)
		}
		// The public API with no names: the compiler learns them, and the
		// condition reads and evaluates as one compiled knowing them.
		cb, errb := NewCompiler(nil).Compile(text, scope)
		if (err == nil) != (errb == nil) || (err != nil && err.Error() != errb.Error()) {
			t.Fatalf("with the names %v, then none: %v, then %v", names, err, errb)
		}
		if err != nil {
			return
		}
		if !slices.Equal(c.Names, cb.Names) || !slices.Equal(c.Paths(), cb.Paths()) {
			t.Fatalf("compiled with no names, %q reads %v and %v; with them, %v and %v", text, cb.Names, cb.Paths(), c.Names, c.Paths())
		}
		if g, e := cb.Eval(v); g != func() bool { r, _ := c.Eval(v); return r }() || (e == nil) != func() bool { _, e2 := c.Eval(v); return e2 == nil }() {
			t.Fatalf("compiled with no names, %q evaluates to %v, %v", text, g, e)
		}
		if len(c.Names) > 0 {
			if _, err := cc.Compile(text, fuzzScope{}); err == nil {
				t.Fatalf("%q reads %v, and compiles where nothing is declared", text, c.Names)
			}
		}
		got, err := c.Eval(v)
		if err != nil && flagValues(v.vals) && !errors.Is(err, errFuzzExists) {
			t.Fatalf("%q compiled, and fails where every value is a valid flag: %v", text, err)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Eval error is a %T, not a *conditions.Error: %v", err, err)
			}
			if ce.Column < 0 || ce.Column > len(text)+1 {
				t.Fatalf("Eval error at column %d of a condition of %d bytes: %v", ce.Column, len(text), err)
			}
			checkNoInternals(t, text, v.vals, err)
		}
		got2, err2 := NewEvaluator(v).Eval(c2)
		if got != got2 || (err == nil) != (err2 == nil) {
			t.Fatalf("evaluated twice: %v, %v then %v, %v", got, err, got2, err2)
		}
		// Over the program budget, a condition keeps no program, and the
		// Evaluator compiles it again: the same answer, the same error.
		lean := NewCompiler(names)
		lean.SetProgramBudget(0)
		c3, err3 := lean.Compile(text, scope)
		if err3 != nil {
			t.Fatalf("%q compiled with a program, and not without: %v", text, err3)
		}
		if c3.more != nil && c3.more.program != nil {
			t.Fatalf("%q: a program kept over the budget", text)
		}
		if !slices.Equal(c3.Names, c.Names) || !slices.Equal(c3.Paths(), c.Paths()) || c3.ReadsContext() != c.ReadsContext() {
			t.Fatalf("%q without its program reads %v %v %v, with it %v %v %v", text, c3.Names, c3.Paths(), c3.ReadsContext(), c.Names, c.Paths(), c.ReadsContext())
		}
		ev := NewEvaluator(v, names...)
		for range 2 { // compiled again, then from the Evaluator's own
			got3, err3 := ev.Eval(c3)
			if got != got3 || (err == nil) != (err3 == nil) || (err != nil && err.Error() != err3.Error()) {
				t.Fatalf("%q without its program: %v, %v; with it %v, %v", text, got3, err3, got, err)
			}
		}
	})
}

// flagValues reports whether every value is a valid flag (see truth),
// with which a condition that compiled must evaluate: each is also a
// valid regexp, and the only other failure is exists()'s own.
func flagValues(vals map[string]string) bool {
	for k, v := range vals {
		if _, err := truth(k, v); err != nil {
			return false
		}
	}
	return true
}

// checkCondError asserts that a Compile error is a *Error with its column,
// when it has one, within text.
func checkCondError(t *testing.T, text string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("Compile error is a %T, not a *conditions.Error: %v", err, err)
	}
	if ce.Column < 0 || ce.Column > len(text)+1 {
		t.Fatalf("error at column %d of a condition of %d bytes: %v", ce.Column, len(text), err)
	}
	if ce.Msg == "" {
		t.Fatalf("error without a message")
	}
	checkNoInternals(t, text, nil, ce)
	// What expr's checker and compiler would reject is rejected before,
	// in the words of conditions.
	if strings.HasPrefix(ce.Msg, "type error in condition") || strings.HasPrefix(ce.Msg, "cannot compile condition") || strings.HasPrefix(ce.Msg, "the condition does not give") {
		t.Fatalf("%q: rejected by expr, not by conditions: %v", text, err)
	}
}

// checkNoInternals asserts that a message speaks of none of expr's
// internals, unless the text or a value says it.
func checkNoInternals(t *testing.T, text string, vals map[string]string, err error) {
	t.Helper()
	for _, m := range testLeakMarkers {
		if !strings.Contains(err.Error(), m) || strings.Contains(text, m) {
			continue
		}
		if slices.ContainsFunc(slices.Collect(maps.Keys(vals)), func(k string) bool {
			return strings.Contains(k, m) || strings.Contains(vals[k], m)
		}) {
			continue
		}
		t.Fatalf("%q: message speaks of %q: %v", text, m, err)
	}
}

// goldenConditions lists every condition written in the cases of
// ../rewrite/testdata/rewrite.
func goldenConditions(f *testing.F) []string {
	paths, err := filepath.Glob(filepath.Join("..", "rewrite", "testdata", "rewrite", "*", "Dockerfile"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden cases: %v", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		sf, _ := syntax.ParseExpanded("Dockerfile", dt, nil)
		if sf == nil {
			continue
		}
		for _, it := range sf.Items {
			if it.Cond != nil && !seen[it.Cond.Text] {
				seen[it.Cond.Text] = true
				out = append(out, it.Cond.Text)
			}
		}
	}
	return out
}
