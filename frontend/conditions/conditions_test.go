package conditions

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
)

// compile compiles text in scope with a compiler of names.
func compile(text string, scope Scope, names ...string) (*Condition, error) {
	return NewCompiler(names).Compile(text, scope)
}

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
		got, err := truth("F", tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("truth(%q) = %v, %v", tc.in, got, err)
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
		{"(A == B) == false", true}, {"defined(A) != exists('docs')", false}, {"V in []", false},
		{"A not matches '^n'", true}, {"V not in ['1']", true}, {"'é' == V || A", true},
	} {
		c, err := compile(tc.expr, scope, "A", "B", "V", "E")
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

// TestCompilerLearnsNames: a compiler told of no names learns those a
// condition reads, keeping what it found of the condition and what it
// compiled.
func TestCompilerLearnsNames(t *testing.T) {
	cc := NewCompiler(nil)
	c, err := cc.Compile(`FOO == 'x' && exists("docs/")`, testScope{"FOO": true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Names, []string{"FOO"}) || !slices.Equal(c.Paths(), []string{"docs/"}) {
		t.Errorf("Names %v, Paths %v", c.Names, c.Paths())
	}
	if cc.Compiled() == 0 {
		t.Errorf("Compiled() = 0 after a compilation")
	}
	for vals, want := range map[string]bool{"x": false, "y": false} {
		got, err := c.Eval(testValues{"FOO": vals})
		if err != nil || got != want {
			t.Errorf("FOO=%s: %v, %v", vals, got, err)
		}
	}
	if got, err := c.Eval(testValues{"FOO": "x"}); err != nil || got {
		t.Errorf("exists(docs/) is true only for docs: %v, %v", got, err)
	}
	c2, err := cc.Compile("BAR || FOO == 'y'", testScope{"FOO": true, "BAR": true})
	if err != nil || !slices.Equal(c2.Names, []string{"BAR", "FOO"}) {
		t.Errorf("a second condition: %v, %v", c2, err)
	}
}

func TestCompileErrors(t *testing.T) {
	scope := testScope{"A": true}
	for _, tc := range []struct{ expr, want string }{
		{"", "empty condition"},
		{"A ==", "syntax error in condition: unexpected end of condition"},
		{"A == 'x' && && A", `syntax error in condition: unexpected "&&"`},
		{"A A", "syntax error in condition: unexpected name A"},
		{"B", "undeclared B"},
		{"A == 1", "numbers are not supported: an ARG's value is a string, so quote the number, as in '1'"},
		{"upper(A) == 'X'", "unknown function upper()"},
		{"len(A) > 1", "unknown function len()"},
		{"exist('x')", "did you mean exists()?"},
		{"A.b", "member access (.) is not supported"},
		{"A + 'x' == 'y'", "unsupported operator \"+\""},
		{"-A", "unsupported operator"},
		{"A matches '('", `the pattern "(" of matches is not a valid regular expression (missing closing ))`},
		{strings.Repeat("A || ", 1000) + "A", "the limit is 4096"},
	} {
		_, err := compile(tc.expr, scope, "A")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.expr, err, tc.want)
		}
		if _, ok := err.(*Error); err != nil && !ok {
			t.Errorf("%q: error is a %T, not a *Error", tc.expr, err)
		}
	}
}

// A condition that does not give a boolean fails at Compile, never at
// Eval: ?: and ?? are not part of conditions (the README does not list
// them; a ? b : c is (a && b) || (!a && c)), and nothing else can give
// anything but a boolean.
func TestNotBooleanFailsAtCompile(t *testing.T) {
	scope := testScope{"A": true, "B": true, "V": true}
	for _, tc := range []struct {
		expr, want string
		col        int
	}{
		{"A ?: 0", "the conditional operator (a ? b : c, a ?: b) is not supported", 3},
		{"A ? 9 : V", "the conditional operator", 3},
		{"A contains B ?: 2", "the conditional operator", 14},
		{"A ? B : V", "the conditional operator", 3},
		{"if A { B } else { V }", "if/else expressions are not supported", 1},
		{"A ?? B", "the nil-coalescing operator ?? is not supported", 3},
		{"'x'", `"x" is a string, not a condition: compare it, as in NAME == "x"`, 1},
		{"'x' && A", `"x" is a string, not a condition`, 1},
		{"!'x'", `"x" is a string, not a condition`, 2},
		{"['a']", "a list ([...]) is not a condition", 1},
		{"1", "numbers are not supported", 1},
		{"nil", "nil is not supported", 1},
		{"true == A", "== compares two strings or two conditions, not true (a boolean) with A (a string): write A to read A as a flag, or A == 'true' to compare its text", 6},
		{"A != false", "write A to read A as a flag, or A != 'false'", 3},
		{"A == false", "write !A to read A as a flag", 3},
		{"A == A == A", `not the condition "A == A" with A (a string)`, 8},
		{"(A == B) contains 'x'", `contains takes strings (ARG names and 'quoted' text), not a condition (true or false) such as "A == B"`, 4},
		{"exists(A == B)", "exists() takes strings", 10},
		{"[A] == [B]", "a list ([...]) can only follow in", 1},
		{"A in B", "in needs a list after it, as in NAME in ['a', 'b']; to find text inside a value, use contains", 3},
		{"A not in 'abc'", "in needs a list after it", 7},
	} {
		_, err := compile(tc.expr, scope, "A", "B", "V")
		ce, ok := err.(*Error)
		if !ok || !strings.Contains(ce.Msg, tc.want) || ce.Column != tc.col {
			t.Errorf("%q: got %#v, want %q at column %d", tc.expr, err, tc.want, tc.col)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	scope := testScope{"A": true, "V": true, "P": true}
	for _, tc := range []struct {
		expr string
		vals testValues
		want string
		col  int
	}{
		{"V matches P", testValues{"V": "x", "P": "("}, `P="(" is not a valid regular expression (missing closing )), and this condition reads it as the pattern of matches: give P a valid pattern`, 11},
		{"P matches P", testValues{"P": "a[b"}, `P="a[b" is not a valid regular expression (missing closing ]: "[b")`, 11},
		{"V matches P", testValues{"V": "x", "P": "\xff"}, `P="\xff" is not a valid regular expression (invalid UTF-8)`, 11},
		{"V matches P", testValues{"V": "x", "P": "x**"}, `P="x**" is not a valid regular expression (invalid nested repetition operator: "**")`, 11},
		{"A", testValues{"A": "maybe"}, `A="maybe" is not a boolean flag`, 1},
		{"'é' == V || A", testValues{"A": "\xff"}, `A="\xff" is not a boolean flag`, 14},
		{"exists('ERR')", nil, "the context cannot be read", 1},
	} {
		c, err := compile(tc.expr, scope, "A", "V", "P")
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		_, err = c.Eval(errValues{tc.vals})
		ce, ok := err.(*Error)
		if !ok || !strings.Contains(ce.Msg, tc.want) || ce.Column != tc.col {
			t.Errorf("%q: got %#v, want a *Error %q at column %d", tc.expr, err, tc.want, tc.col)
		}
	}
	c, _ := compile("exists('ERR')", scope)
	if _, err := c.Eval(errValues{}); !errors.Is(err, errExists) {
		t.Errorf("an error of Exists does not unwrap to it: %v", err)
	}
	// An unevaluated pattern is not checked.
	c, _ = compile("A && V matches P", scope, "A", "V", "P")
	if got, err := c.Eval(errValues{testValues{"A": "0", "P": "("}}); got || err != nil {
		t.Errorf("A && V matches P with A=0: %v, %v", got, err)
	}
}

var errExists = errors.New("the context cannot be read")

type errValues struct{ testValues }

func (v errValues) Lookup(n string) (string, bool) { x, ok := v.testValues[n]; return x, ok }
func (v errValues) Exists(p string) (bool, error) {
	if p == "ERR" {
		return false, errExists
	}
	return false, nil
}

// Error.Column is a byte offset within the text, 1-based, though expr
// counts characters.
func TestErrorColumnsAreBytes(t *testing.T) {
	scope := testScope{"A": true}
	for _, tc := range []struct {
		expr string
		at   string // the text at the column
	}{
		{"'éé' == A && B", "B"},
		{"'日本' == A && B", "B"},
		{"'éé' == A && 1", "1"},
		{"'éé' == A ? A : A", "? A"},
		{"'éé' == A && upper(A)", "upper"},
		{"'é' matches '(' || A", "'('"},
		{"'é' == A A", "A"},
		{"'é' == A == A", "== A"},
		{"A == '\xff' && B", "B"},
		{"'éé' == A &&", "&"},
	} {
		_, err := compile(tc.expr, scope, "A")
		ce, ok := err.(*Error)
		if !ok || ce.Column < 1 || !strings.HasPrefix(tc.expr[ce.Column-1:], tc.at) {
			t.Errorf("%q: got %#v, want the column of %q", tc.expr, err, tc.at)
		}
	}
}

// leakMarkers are what only expr's own messages say.
var testLeakMarkers = []string{"__stagefront", "interface {}", "func(", "reflect", "mismatched type", "got unknown", "expected bool", "(1:", "Operator(", "Identifier(", "Bracket(", "EOF", "[]interface", "map[string]", "float64", "int64"}

// No message speaks of expr's internals: each names the construct and
// what conditions support.
func TestNoInternalsInMessages(t *testing.T) {
	scope := testScope{"A": true, "B": true, "exists": true, "defined": true}
	names := []string{"A", "B", "exists", "defined"}
	for _, tc := range []struct{ expr, want string }{
		{"nil", "nil is not supported: an ARG's value is a string, never nil; to test whether a value was given, write defined(NAME); conditions use ARG names"},
		{"A == nil", "nil is not supported"},
		{"!nil", "nil is not supported"},
		{"exists", `exists is a function, not a value: call it, as in exists("docs/"); an ARG named exists can only be tested with defined(exists): rename the ARG to read its value`},
		{"defined", "defined is a function, not a value: call it, as in defined(VERSION)"},
		{"exists == '1'", "exists is a function, not a value"},
		{"A == defined", "defined is a function, not a value"},
		{"exists(exists)", "exists is a function, not a value"},
		{"__stagefront_flag", "is a name stagefront reserves"},
		{"$env", "$env is not supported: write the ARG's name"},
		{"$env.A", "member access (.) is not supported"},
		{"1.5", "numbers are not supported"},
		{"!1", "numbers are not supported"},
		{"[]", "a list ([...]) is not a condition"},
		{"{}", "maps and predicates ({...}) are not supported; conditions use"},
		{"{a: 1}", "maps and predicates ({...}) are not supported"},
		{"A.b", "member access (.) is not supported: an ARG's value is a plain string; test it with ==, startsWith, endsWith, contains or matches; conditions use"},
		{"A?.b", "member access (?.) is not supported"},
		{"A[0]", "member access and indexing (a.b, a[0]) are not supported"},
		{"A[1:2]", `":" is not supported: conditions have no slices`},
		{"A | B", "pipes (|) are not supported; for a logical or, write ||"},
		{"A |> B", "pipes (|) are not supported"},
		{"A & B", "& is not an operator of conditions; for a logical and, write &&"},
		{"let x = A; x", "variables (let) are not supported"},
		{"A; B", "sequences (;) are not supported"},
		{"A = 'x'", "assignment (=) is not supported: to compare, write =="},
		{"#", "closures and predicates (#) are not supported"},
		{"#A", "closures and predicates (#) are not supported"},
		{"map(A, #)", "closures and predicates (#) are not supported"},
		{"all(A, {# == 'x'})", "maps and predicates ({...}) are not supported"},
		{"A + 'x' == 'y'", "unsupported operator \"+\": conditions neither join strings nor compute: compare each value on its own, as in A == 'x' && B == 'y'; conditions use"},
		{"A < B", "unsupported operator \"<\": values are strings and are compared with == and !=; to test a version, use startsWith or matches"},
		{"A >= '1.2'", "unsupported operator \">=\""},
		{"A ** 2", "unsupported operator \"**\""},
		{"1..3", "ranges (..) are not supported"},
		{"A == b'x'", "byte strings (b'...') are not supported"},
		{"A in [A, 1]", "numbers are not supported"},
		{"A in [nil]", "nil is not supported"},
		{"A in [[A]]", "a list ([...]) can only follow in"},
		{"A contains 1", "numbers are not supported"},
		{"exists(1)", "numbers are not supported"},
		{"defined(1)", "defined takes an ARG name"},
		{"A.upper()", "member access (.) is not supported"},
		{"(A)(B)", `syntax error in condition: unexpected "("`},
		{"A == 'x", "unterminated string"},
		{"A == '\\q'", "invalid escape in a string"},
		{"A == @", "unrecognized character"},
		{"!!!", "unexpected end of condition"},
	} {
		_, err := compile(tc.expr, scope, names...)
		ce, ok := err.(*Error)
		if !ok || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%q: got %#v, want %q", tc.expr, err, tc.want)
			continue
		}
		for _, m := range testLeakMarkers {
			if strings.Contains(ce.Msg, m) && !strings.Contains(tc.expr, m) {
				t.Errorf("%q: message speaks of %q: %s", tc.expr, m, ce.Msg)
			}
		}
	}
	// defined() still reads an ARG named like a function.
	c, err := compile("defined(exists) && exists('docs')", scope, names...)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Eval(testValues{"exists": "1"}); !got || err != nil {
		t.Errorf("defined(exists) && exists('docs') = %v, %v", got, err)
	}
}

// Messages quote a short prefix of what they quote, never a whole long
// text.
func TestLongTextIsCutShort(t *testing.T) {
	scope := testScope{"A": true}
	long := strings.Repeat("x", 3000)
	for _, expr := range []string{
		"A == '" + strings.Repeat("x", MaxLength) + "'",
		long + "(A)",
		"A matches '(" + long + "'",
		"'" + long + "' && A",
		"(A == '" + long + "') contains 'x'",
	} {
		_, err := compile(expr, scope, "A")
		if err == nil || len(err.Error()) > 600 || strings.Contains(err.Error(), strings.Repeat("x", shortLength+1)) {
			t.Errorf("%.20q...: message quotes too much: %.200v", expr, err)
		}
	}
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"}, {"abcd", 3, "abc…"}, {"ab é", 3, "ab…"}, {"aéé", 4, "aé…"}, {"日本語", 4, "日…"}, {"\xff\xff", 1, "\xff…"},
	} {
		if got := Shorten(tc.in, tc.max); got != tc.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// mayHoldForeignTokens, the cheap test that spares most conditions a
// second lexing, never misses a token the lexer would read.
func TestForeignTokenPrefilter(t *testing.T) {
	for _, text := range []string{
		"A && B", "A == 'a.b|c=d'", "A == \"x\\\"|\"", "A == `x``.`", "!&&", "A =& B", "A &= B", "A & B", "A = B",
		"A | B", "A || B", "A ?: B", "A.b", "1..3", "#", "A; B", "{}", "b'x'", "A == B'x'", "Ab'x'",
		"let x = A; x", "Alet", "if A { B } else { A }", "\u00a0if A { B } else { A }", "é\u00a0if A", "ifé", "A else",
		"A <= B", "A *= B", "A != B", "A !* B", "A >& B",
	} {
		tokens, err := lexer.Lex(file.NewSource(text))
		if err != nil {
			continue
		}
		foreign := slices.ContainsFunc(tokens, func(tok lexer.Token) bool { _, ok := foreignToken(tok); return ok })
		if foreign && !mayHoldForeignTokens(text) {
			t.Errorf("%q: mayHoldForeignTokens misses a token of %v", text, tokens)
		}
	}
	for _, text := range []string{"A && B", "A == 'x.y'", "(A || !B) && V in ['1', '2']", "V matches '^1[.]2$' and not E", "A != B", "A == \"a|b\""} {
		if mayHoldForeignTokens(text) {
			t.Errorf("%q: mayHoldForeignTokens would lex it again for nothing", text)
		}
	}
}
