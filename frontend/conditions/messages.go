package conditions

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
)

// column converts from, a 0-based offset in characters (runes, as expr
// counts them) into text, into the 1-based byte column of Error.
func column(text string, from int) int {
	if from < 0 {
		return 0
	}
	i := 0
	for r := 0; r < from && i < len(text); r++ {
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return i + 1
}

func (cp *compilation) errorAt(n ast.Node, format string, args ...any) *Error {
	return &Error{Column: column(cp.Text, n.Location().From), Msg: fmt.Sprintf(format, args...)}
}

// exprError turns an error of expr's parser, checker or compiler into a
// *Error, in the words of conditions.
func (cp *compilation) exprError(err error, prefix string) *Error {
	col, msg := 0, err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		col, msg = column(cp.Text, fe.From), fe.Message
	}
	msg = exprMessage(msg)
	if leaks(msg) {
		msg = "this is not a condition stagefront supports: " + supported
	}
	return &Error{Column: col, Msg: prefix + ": " + msg}
}

// exprMessage rewords expr's messages that name its tokens.
func exprMessage(msg string) string {
	switch msg {
	case "unexpected end of expression", "unexpected token EOF":
		return "unexpected end of condition"
	case "literal not terminated":
		return "unterminated string: close it with the quote it opens with"
	case "invalid char escape":
		return "invalid escape in a string: write \\\\ for a backslash"
	}
	rest, ok := strings.CutPrefix(msg, "unexpected token ")
	if !ok {
		return msg
	}
	kind, value, ok := strings.Cut(rest, "(")
	if !ok || !strings.HasSuffix(value, ")") {
		return msg
	}
	value, err := strconv.Unquote(strings.TrimSuffix(value, ")"))
	if err != nil {
		return msg
	}
	switch lexer.Kind(kind) {
	case lexer.Identifier:
		return "unexpected name " + short(value)
	case lexer.String:
		return "unexpected string " + quote(value)
	case lexer.Number:
		return "unexpected number " + short(value)
	}
	return "unexpected " + quote(value)
}

// leakMarkers are what only expr's own messages say: its types, its
// reflection, the name of the flag function.
var leakMarkers = []string{funcFlag, "interface {}", "func(", "reflect", "mismatched type", "but got", "unknown type", "Operator(", "Identifier(", "Bracket("}

func leaks(msg string) bool {
	for _, m := range leakMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// shortLength is how much of a condition's text a message quotes.
const shortLength = 40

// short cuts s to its first shortLength bytes (at a character boundary),
// marked with "…".
func short(s string) string { return Shorten(s, shortLength) }

// quote quotes s, cut short.
func quote(s string) string { return strconv.Quote(short(s)) }

// Shorten returns s when it is at most max bytes long, else its longest
// prefix of at most max bytes that ends at a character boundary, followed
// by "…". Messages use it to quote a condition's text.
func Shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " \t") + "…"
}
