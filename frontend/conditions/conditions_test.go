package conditions

import (
	"strings"
	"testing"
)

type testScope map[string]bool

func (s testScope) Declared(n string) bool     { return s[n] }
func (s testScope) Undeclared(n string) string { return "undeclared " + n }

type testValues map[string]string

func (v testValues) Lookup(n string) (string, bool) { x, ok := v[n]; return x, ok }
func (v testValues) Exists(p string) (bool, error)  { return p == "docs", nil }

func TestTruth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
		err  bool
	}{
		{"true", true, false}, {"TRUE", true, false}, {"1", true, false}, {"yes", true, false}, {"On", true, false},
		{"false", false, false}, {"0", false, false}, {"no", false, false}, {"OFF", false, false}, {"", false, false},
		{"maybe", false, true}, {"2", false, true}, {"truee", false, true},
	} {
		got, err := Truth("F", tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Truth(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), `F="`+tc.in+`"`) {
			t.Errorf("error does not quote the value: %v", err)
		}
	}
}

func TestEval(t *testing.T) {
	scope := testScope{"A": true, "B": true, "V": true, "E": true}
	vals := testValues{"A": "yes", "B": "0", "V": "1.22.3"}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"A", true}, {"!A", false}, {"A && B", false}, {"A || B", true}, {"not B", true}, {"A and not B", true},
		{"V == '1.22.3'", true}, {"V != '1.22.3'", false}, {"V startsWith '1.2'", true}, {"V endsWith '.3'", true},
		{"V contains '22'", true}, {"V matches '^1\\\\.22'", true}, {"V in ['1', '1.22.3']", true}, {"V not in ['1']", true},
		{"(A || B) && V == '1.22.3'", true}, {"defined(E)", false}, {"defined(A)", true}, {"defined('A')", true},
		{`exists("docs")`, true}, {`exists("nope")`, false}, {"true", true}, {"false || A", true},
		{"A ? B : A", false},
	} {
		c, err := Compile(tc.expr, scope, "A", "B", "V", "E")
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		got, err := c.Eval(vals)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	scope := testScope{"A": true}
	for _, tc := range []struct{ expr, want string }{
		{"", "empty condition"},
		{"A ==", "syntax error in condition"},
		{"B", "undeclared B"},
		{"A == 1", "type error in condition: invalid operation: == (mismatched types string and int)"},
		{"upper(A) == 'X'", "unknown function upper()"},
		{"exist('x')", "did you mean exists()?"},
		{"A.b", "unsupported expression"},
		{"A + 'x' == 'y'", "unsupported operator \"+\""},
		{"-A", "unsupported operator"},
		{strings.Repeat("A || ", 1000) + "A", "the limit is 4096"},
	} {
		_, err := Compile(tc.expr, scope, "A")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.expr, err, tc.want)
		}
	}
}
