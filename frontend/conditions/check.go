package conditions

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/org/stagefront/internal/didyoumean"
)

// compilation is a condition being compiled: what check and typeCondition
// find.
type compilation struct {
	Text         string
	names, paths uniqueStrings
	readsContext bool
	patterns     []pattern
	patternNames uniqueStrings
}

// reset makes cp the start of the compilation of text, keeping its memory.
func (cp *compilation) reset(text string) {
	*cp = compilation{Text: text, names: cp.names.reset(), paths: cp.paths.reset(),
		patterns: cp.patterns[:0], patternNames: cp.patternNames.reset()}
}

// uniqueStrings lists strings in order of first add, each once, with a
// set beside the list once it is long enough that scanning it would cost
// more: a condition of 4096 bytes may read a thousand names.
type uniqueStrings struct {
	list []string
	set  map[string]bool
}

// reset empties u, keeping the list's memory.
func (u *uniqueStrings) reset() uniqueStrings { return uniqueStrings{list: u.list[:0]} }

// add adds s, reporting whether it was new.
func (u *uniqueStrings) add(s string) bool {
	if u.set == nil && len(u.list) >= 16 {
		u.set = make(map[string]bool, 2*len(u.list))
		for _, x := range u.list {
			u.set[x] = true
		}
	}
	if u.set != nil {
		if u.set[s] {
			return false
		}
		u.set[s] = true
	} else if slices.Contains(u.list, s) {
		return false
	}
	u.list = append(u.list, s)
	return true
}

// tokenMessages explain the tokens of expr's constructs that conditions
// do not have, by their text.
var tokenMessages = map[string]string{
	"?":     "the conditional operator (a ? b : c, a ?: b) is not supported: write (a && b) || (!a && c), or a || b",
	"??":    "the nil-coalescing operator ?? is not supported: an ARG's value is a string, never nil; test whether one was given with defined(NAME)",
	"?.":    "member access (?.) is not supported: an ARG's value is a plain string; test it with ==, startsWith, endsWith, contains or matches",
	".":     "member access (.) is not supported: an ARG's value is a plain string; test it with ==, startsWith, endsWith, contains or matches",
	"..":    "ranges (..) are not supported: list the values, as in A in ['1', '2', '3']",
	"|":     "pipes (|) are not supported; for a logical or, write ||",
	"#":     "closures and predicates (#) are not supported",
	"##":    "closures and predicates (#) are not supported",
	"let":   "variables (let) are not supported: write the expression where it is used",
	";":     "sequences (;) are not supported: join conditions with && or ||",
	"=":     "assignment (=) is not supported: to compare, write ==",
	"if":    "if/else expressions are not supported: use IF/ELSE IF/ELSE blocks, or write (a && b) || (!a && c)",
	"else":  "if/else expressions are not supported: use IF/ELSE IF/ELSE blocks, or write (a && b) || (!a && c)",
	"{":     "maps and predicates ({...}) are not supported",
	"}":     "maps and predicates ({...}) are not supported",
	":":     "\":\" is not supported: conditions have no slices (a[i:j]), maps ({k: v}) or conditional operator (a ? b : c)",
	"&":     "& is not an operator of conditions; for a logical and, write &&",
	"bytes": "byte strings (b'...') are not supported: write a string, as in 'text'",
}

// scanTokens rejects the tokens of constructs conditions do not have,
// first in the text first, before the parser reads them: some of them
// (pipes, #, =) would only give a syntax error there. Arithmetic and
// ordering operators are left to check, which sees them in context.
func (cp *compilation) scanTokens() error {
	if !mayHoldForeignTokens(cp.Text) {
		return nil
	}
	tokens, err := lexer.Lex(file.NewSource(cp.Text))
	if err != nil {
		return nil // the parser reports it
	}
	for _, t := range tokens {
		if msg, ok := foreignToken(t); ok {
			return &Error{Column: column(cp.Text, t.From), Msg: fmt.Sprintf("%s; %s", msg, supported)}
		}
	}
	return nil
}

// foreignToken returns the message of tokenMessages for t, if any.
func foreignToken(t lexer.Token) (string, bool) {
	key := ""
	switch t.Kind {
	case lexer.Operator, lexer.Bracket:
		key = t.Value
	case lexer.Bytes:
		key = "bytes"
	}
	msg, ok := tokenMessages[key]
	return msg, ok
}

// mayHoldForeignTokens is a cheap test, outside quoted strings, for what
// could be a token of tokenMessages, so that most conditions are not
// lexed twice: false means there is none.
func mayHoldForeignTokens(text string) bool {
	for i := 0; i < len(text); i++ {
		ch := text[i]
		next := byte(0)
		if i+1 < len(text) {
			next = text[i+1]
		}
		switch ch {
		case '\'', '"', '`':
			for i++; i < len(text) && text[i] != ch; i++ {
				if text[i] == '\\' && ch != '`' {
					i++
				}
			}
		case '?', '#', ';', '{', '}', ':', '.':
			return true
		case '|':
			if next != '|' {
				return true
			}
			i++
		case '&', '!', '=', '*', '<', '>':
			// The lexer reads one of these with a following &, = or *
			// as one token (!&, =*...), or alone.
			if next != 0 && strings.IndexByte("&=*", next) >= 0 {
				i++
			} else if ch == '&' || ch == '=' {
				return true
			}
		case 'b', 'B':
			if (next == '\'' || next == '"') && !wordBefore(text, i) {
				return true
			}
		case 'l', 'i', 'e':
			if wordBefore(text, i) {
				continue
			}
			j := i
			for j < len(text) {
				r, size := utf8.DecodeRuneInString(text[j:])
				if !isWordRune(r) {
					break
				}
				j += size
			}
			switch text[i:j] {
			case "let", "if", "else":
				return true
			}
			i = j - 1
		}
	}
	return false
}

// wordBefore reports whether a character of a name (as the lexer reads
// names) ends text[:i].
func wordBefore(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return i > 0 && isWordRune(r)
}

func isWordRune(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// check walks the tree in the order of the text and returns the first
// construct conditions do not support, function they do not have, or name
// scope does not declare. It records the names read and the literal paths
// of exists().
func (cp *compilation) check(n ast.Node, scope Scope) error {
	switch node := n.(type) {
	case *ast.IdentifierNode:
		return cp.readValue(node, scope)
	case *ast.StringNode, *ast.BoolNode:
		return nil
	case *ast.NilNode:
		return cp.errorAt(node, "nil is not supported: an ARG's value is a string, never nil; to test whether a value was given, write defined(NAME); %s", supported)
	case *ast.IntegerNode:
		return cp.errorAt(node, "numbers are not supported: an ARG's value is a string, so quote the number, as in '%d'; %s", node.Value, supported)
	case *ast.FloatNode:
		return cp.errorAt(node, "numbers are not supported: an ARG's value is a string, so quote the number, as in '1.5'; %s", supported)
	case *ast.BytesNode:
		return cp.errorAt(node, "%s; %s", tokenMessages["bytes"], supported)
	case *ast.UnaryNode:
		if node.Operator != "!" && node.Operator != "not" {
			return cp.unsupportedOperator(node, node.Operator)
		}
		return cp.check(node.Node, scope)
	case *ast.BinaryNode:
		if err := cp.check(node.Left, scope); err != nil {
			return err
		}
		if !slices.Contains(binaryOperators, node.Operator) {
			return cp.unsupportedOperator(node, node.Operator)
		}
		return cp.check(node.Right, scope)
	case *ast.ArrayNode:
		for _, e := range node.Nodes {
			if err := cp.check(e, scope); err != nil {
				return err
			}
		}
		return nil
	case *ast.CallNode:
		return cp.checkCall(node, scope)
	case *ast.BuiltinNode:
		return cp.unknownFunction(node, node.Name)
	case *ast.ConditionalNode:
		return cp.errorAt(node, "%s; %s", tokenMessages["?"], supported)
	case *ast.MemberNode, *ast.ChainNode:
		return cp.errorAt(node, "member access and indexing (a.b, a[0]) are not supported: an ARG's value is a plain string; test it with ==, startsWith, endsWith, contains or matches; %s", supported)
	case *ast.SliceNode:
		return cp.errorAt(node, "slicing (a[i:j]) is not supported: test a value with startsWith, endsWith, contains or matches; %s", supported)
	case *ast.MapNode, *ast.PairNode:
		return cp.errorAt(node, "%s; %s", tokenMessages["{"], supported)
	case *ast.PredicateNode, *ast.PointerNode:
		return cp.errorAt(node, "%s; %s", tokenMessages["#"], supported)
	case *ast.VariableDeclaratorNode:
		return cp.errorAt(node, "%s; %s", tokenMessages["let"], supported)
	case *ast.SequenceNode:
		return cp.errorAt(node, "%s; %s", tokenMessages[";"], supported)
	default:
		return cp.errorAt(n, "unsupported expression %s: %s", quote(n.String()), supported)
	}
}

// operatorHints explain the operators of expr that conditions do not
// have.
var operatorHints = map[string]string{
	"+":  "conditions neither join strings nor compute: compare each value on its own, as in A == 'x' && B == 'y'",
	"-":  "conditions do not compute: an ARG's value is a string",
	"*":  "conditions do not compute: an ARG's value is a string",
	"/":  "conditions do not compute: an ARG's value is a string",
	"%":  "conditions do not compute: an ARG's value is a string",
	"**": "conditions do not compute: an ARG's value is a string",
	"^":  "conditions do not compute: an ARG's value is a string",
	"<":  "values are strings and are compared with == and !=; to test a version, use startsWith or matches, as in VERSION startsWith '1.2'",
	">":  "values are strings and are compared with == and !=; to test a version, use startsWith or matches, as in VERSION startsWith '1.2'",
	"<=": "values are strings and are compared with == and !=; to test a version, use startsWith or matches, as in VERSION startsWith '1.2'",
	">=": "values are strings and are compared with == and !=; to test a version, use startsWith or matches, as in VERSION startsWith '1.2'",
	"??": "an ARG's value is a string, never nil; test whether one was given with defined(NAME)",
	"..": "list the values, as in A in ['1', '2', '3']",
	"|":  "pipes are not supported; for a logical or, write ||",
}

func (cp *compilation) unsupportedOperator(n ast.Node, op string) *Error {
	if hint, ok := operatorHints[op]; ok {
		return cp.errorAt(n, "unsupported operator %q: %s; %s", op, hint, supported)
	}
	return cp.errorAt(n, "unsupported operator %s: %s", quote(op), supported)
}

func (cp *compilation) checkCall(node *ast.CallNode, scope Scope) error {
	callee, ok := node.Callee.(*ast.IdentifierNode)
	if !ok {
		return cp.errorAt(node, `unsupported call: only exists("path") and defined(NAME) can be called`)
	}
	switch callee.Value {
	case FuncExists:
		cp.readsContext = true
		if len(node.Arguments) != 1 {
			return cp.errorAt(node, "exists takes one path, as in exists(\"docs/\"), got %d arguments", len(node.Arguments))
		}
		if s, ok := node.Arguments[0].(*ast.StringNode); ok {
			cp.paths.add(s.Value)
		}
		return cp.check(node.Arguments[0], scope)
	case FuncDefined:
		if len(node.Arguments) != 1 {
			return cp.errorAt(node, "defined takes one ARG name, as in defined(VERSION), got %d arguments", len(node.Arguments))
		}
		var name string
		switch arg := node.Arguments[0].(type) {
		case *ast.IdentifierNode:
			name = arg.Value
		case *ast.StringNode:
			name = arg.Value
		default:
			return cp.errorAt(node, "defined takes an ARG name, as in defined(VERSION) or defined('VERSION')")
		}
		id := &ast.IdentifierNode{Value: name}
		id.SetLocation(node.Arguments[0].Location())
		if err := cp.readName(id, scope); err != nil {
			return err
		}
		str := &ast.StringNode{Value: name}
		str.SetLocation(node.Arguments[0].Location())
		node.Arguments[0] = str
		return nil
	default:
		return cp.unknownFunction(node, callee.Value)
	}
}

func (cp *compilation) unknownFunction(node ast.Node, name string) *Error {
	msg := fmt.Sprintf("unknown function %s(): conditions can call exists(\"path\") and defined(NAME)", short(name))
	if s := didyoumean.Closest(name, []string{FuncExists, FuncDefined}, true); s != "" {
		msg = fmt.Sprintf("unknown function %s(); did you mean %s()? Conditions can call exists(\"path\") and defined(NAME)", short(name), s)
	}
	return cp.errorAt(node, "%s", msg)
}

// readValue records a name read as a value.
func (cp *compilation) readValue(id *ast.IdentifierNode, scope Scope) error {
	name := id.Value
	switch {
	case name == FuncExists || name == FuncDefined:
		msg := fmt.Sprintf("%s is a function, not a value: call it, as in %s", name, map[string]string{FuncExists: `exists("docs/")`, FuncDefined: "defined(VERSION)"}[name])
		if scope.Declared(name) {
			msg += fmt.Sprintf("; an ARG named %s can only be tested with defined(%s): rename the ARG to read its value", name, name)
		}
		return cp.errorAt(id, "%s", msg)
	case name == funcFlag:
		return cp.errorAt(id, "%s is a name stagefront reserves: rename the ARG", name)
	case name == "$env":
		return cp.errorAt(id, "$env is not supported: write the ARG's name, as in TARGETARCH == 'arm64'")
	}
	return cp.readName(id, scope)
}

// readName records a name read as a value or by defined().
func (cp *compilation) readName(id *ast.IdentifierNode, scope Scope) error {
	name := id.Value
	if !scope.Declared(name) {
		return cp.errorAt(id, "%s", scope.Undeclared(name))
	}
	cp.names.add(name)
	return nil
}

// isCondition reports whether n (which check accepted) gives a boolean,
// not a string: a bare name is a string there, as in A == B.
func isCondition(n ast.Node) bool {
	switch n.(type) {
	case *ast.BoolNode, *ast.UnaryNode, *ast.BinaryNode, *ast.CallNode:
		return true
	}
	return false
}

// typeCondition types *n as a condition, which check accepted: it rewrites bare
// names into flag lookups, and rejects strings where a condition is
// needed and conditions where a string is.
func (cp *compilation) typeCondition(n *ast.Node) error {
	switch node := (*n).(type) {
	case *ast.IdentifierNode:
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: funcFlag},
			Arguments: []ast.Node{&ast.StringNode{Value: node.Value}, node},
		}
		call.SetLocation(node.Location())
		call.Callee.SetLocation(node.Location())
		call.Arguments[0].SetLocation(node.Location())
		*n = call
		return nil
	case *ast.BoolNode:
		return nil
	case *ast.StringNode:
		return cp.errorAt(node, "%s is a string, not a condition: compare it, as in NAME == %s; %s", quote(node.Value), quote(node.Value), supported)
	case *ast.ArrayNode:
		return cp.errorAt(node, "a list ([...]) is not a condition: test membership with in, as in NAME in ['a', 'b']")
	case *ast.UnaryNode:
		return cp.typeCondition(&node.Node)
	case *ast.CallNode:
		if id, ok := node.Callee.(*ast.IdentifierNode); ok && id.Value == FuncExists {
			return cp.typeString(node.Arguments[0], "exists()")
		}
		return nil
	case *ast.BinaryNode:
		switch op := node.Operator; {
		case slices.Contains(logicalOperators, op):
			if err := cp.typeCondition(&node.Left); err != nil {
				return err
			}
			return cp.typeCondition(&node.Right)
		case op == "==" || op == "!=":
			l, r := isCondition(node.Left), isCondition(node.Right)
			if l != r {
				return cp.mismatch(node)
			}
			if l {
				if err := cp.typeCondition(&node.Left); err != nil {
					return err
				}
				return cp.typeCondition(&node.Right)
			}
			if err := cp.typeString(node.Left, op); err != nil {
				return err
			}
			return cp.typeString(node.Right, op)
		case op == "in" || op == "not in":
			if err := cp.typeString(node.Left, op); err != nil {
				return err
			}
			list, ok := node.Right.(*ast.ArrayNode)
			if !ok {
				return cp.errorAt(node, "%s needs a list after it, as in NAME in ['a', 'b']; to find text inside a value, use contains, as in NAME contains 'a'", op)
			}
			for _, e := range list.Nodes {
				if err := cp.typeString(e, "the list of in"); err != nil {
					return err
				}
			}
			return nil
		case slices.Contains(stringOperators, op):
			if err := cp.typeString(node.Left, op); err != nil {
				return err
			}
			if err := cp.typeString(node.Right, op); err != nil {
				return err
			}
			if op == "matches" {
				return cp.checkPattern(node.Right)
			}
			return nil
		}
	}
	// check lets nothing else through.
	return cp.errorAt(*n, "unsupported expression %s: %s", quote((*n).String()), supported)
}

// typeString types n as a string operand of op: an ARG name or a literal.
func (cp *compilation) typeString(n ast.Node, op string) error {
	switch n.(type) {
	case *ast.IdentifierNode, *ast.StringNode:
		return nil
	case *ast.ArrayNode:
		return cp.errorAt(n, "a list ([...]) can only follow in, as in NAME in ['a', 'b']")
	}
	return cp.errorAt(n, "%s takes strings (ARG names and 'quoted' text), not a condition (true or false) such as %s", op, quote(n.String()))
}

// pattern checks the regular expression of matches: a literal now, the
// value of a name when it is evaluated.
func (cp *compilation) checkPattern(n ast.Node) error {
	switch p := n.(type) {
	case *ast.StringNode:
		if _, err := regexp.Compile(p.Value); err != nil {
			return cp.errorAt(n, "the pattern %s of matches is not a valid regular expression (%s): in a quoted pattern, escape a special character with two backslashes or put it in brackets, as in '^1\\\\.2' or '^1[.]2'", quote(p.Value), regexpReason(err, p.Value))
		}
	case *ast.IdentifierNode:
		if cp.patternNames.add(p.Value) {
			cp.patterns = append(cp.patterns, pattern{name: p.Value, column: column(cp.Text, p.Location().From)})
		}
	}
	return nil
}

// pattern is a name read as the pattern of matches, with its first
// column.
type pattern struct {
	name   string
	column int
}

// mismatch explains an == or != between a string and a condition.
func (cp *compilation) mismatch(node *ast.BinaryNode) *Error {
	op := node.Operator
	msg := fmt.Sprintf("%s compares two strings or two conditions, not %s with %s", op, describe(node.Left), describe(node.Right))
	b, okB := node.Left.(*ast.BoolNode)
	id, okID := node.Right.(*ast.IdentifierNode)
	if !okB || !okID {
		b, okB = node.Right.(*ast.BoolNode)
		id, okID = node.Left.(*ast.IdentifierNode)
	}
	if okB && okID {
		flag := id.Value
		if (op == "==") != b.Value {
			flag = "!" + flag
		}
		msg += fmt.Sprintf(": write %s to read %s as a flag, or %s %s '%t' to compare its text", flag, id.Value, id.Value, op, b.Value)
	}
	return cp.errorAt(node, "%s", msg)
}

func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return n.Value + " (a string)"
	case *ast.StringNode:
		return quote(n.Value) + " (a string)"
	case *ast.BoolNode:
		return fmt.Sprintf("%t (a boolean)", n.Value)
	}
	return "the condition " + quote(n.String())
}
