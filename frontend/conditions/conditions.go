// Package conditions compiles and evaluates stagefront conditions: the
// expressions of IF, ELSE IF and --if=, written in the operator language of
// github.com/expr-lang/expr over the build's ARGs.
//
// A condition is restricted to what the README documents: ARG names (a
// bare name where a boolean is expected is a flag, see Truth), 'quoted'
// strings, true and false, ==, !=, &&, ||, !, and, or, not, in [...],
// matches, startsWith, endsWith, contains (and their not forms),
// exists("path") and defined(NAME). Every other construct of expr (numbers,
// nil, arithmetic, ordering, ?: and ??, member access, indexing, pipes,
// let, closures, maps...) is rejected at Compile with a message that names
// it, so a condition that compiles always gives a boolean.
package conditions

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	resyntax "regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/expr-lang/expr/vm"
	"github.com/org/stagefront/internal/didyoumean"
)

// MaxLength is the longest condition accepted, in bytes.
const MaxLength = 4096

// Names of the functions a condition may call.
const (
	FuncExists  = "exists"
	FuncDefined = "defined"
	// funcFlag is what a bare name in a boolean position is rewritten to.
	funcFlag = "__stagefront_flag"
)

// Error is a problem in one condition, at Compile or at Eval.
type Error struct {
	// Column is the 1-based byte offset, within the condition text, of
	// where the problem is (a byte column, like syntax.Cond.Column, not
	// a count of characters); 0 when not known. A column one past the
	// text's last byte means its end.
	Column int
	Msg    string
	// Err is the error of the Values the condition read (Exists), when
	// that is the failure; Error unwraps to it.
	Err error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the error of the Values behind e, if any.
func (e *Error) Unwrap() error { return e.Err }

// Scope tells the compiler which names a condition may read.
type Scope interface {
	// Declared reports whether name can be read here.
	Declared(name string) bool
	// Undeclared explains why name cannot be read here and what would
	// fix it (a did-you-mean, or where its ARG is).
	Undeclared(name string) string
}

// Condition is one compiled condition. A file may hold a million of
// them: a Condition holds what the tools read, and its program only when
// its Compiler kept it (see Compiler.SetProgramBudget); an Evaluator
// compiles the others again when it evaluates them.
type Condition struct {
	// Text is the condition as written.
	Text string
	// Names are the ARG names it reads, in order of first use. Conditions
	// that read the same names may share the slice: never change it.
	Names []string
	// more holds what few conditions have (of a file of many conditions):
	// nil when none.
	more *conditionMore
}

type conditionMore struct {
	// program is the compiled condition, nil when its compiler did not
	// keep it.
	program *vm.Program
	// paths are the paths its exists() calls name as string literals.
	paths []string
	// readsContext reports whether it calls exists().
	readsContext bool
	// patterns are the names whose values are the regular expressions of
	// matches (as in V matches PATTERN), for the message when one is not.
	patterns []pattern
}

// Paths are the paths the condition's exists() calls name as string
// literals, in order of first use.
func (c *Condition) Paths() []string {
	if c.more == nil {
		return nil
	}
	return c.more.paths
}

// ReadsContext reports whether the condition calls exists(), with a
// literal path or not.
func (c *Condition) ReadsContext() bool { return c.more != nil && c.more.readsContext }

// compilation is a condition being compiled: what check and boolean find.
type compilation struct {
	Text         string
	names, paths uniqueStrings
	readsContext bool
	patterns     []pattern
	patternNames uniqueStrings
}

// reset makes c the start of the compilation of text, keeping its memory.
func (c *compilation) reset(text string) {
	*c = compilation{Text: text, names: c.names.reset(), paths: c.paths.reset(),
		patterns: c.patterns[:0], patternNames: c.patternNames.reset()}
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

// Values gives a condition the values of its names and the answers of its
// functions at evaluation time.
type Values interface {
	// Lookup returns the value of name, and whether a value was given.
	Lookup(name string) (value string, defined bool)
	// Exists answers exists(pattern).
	Exists(pattern string) (bool, error)
}

// supported lists what a condition may use, for messages.
const supported = `conditions use ARG names, 'quoted' strings, true, false, ==, !=, &&, ||, !, in [...], matches, startsWith, endsWith, contains, exists("path") and defined(NAME)`

// binaryOperators are the operators of expr a condition may use.
var binaryOperators = []string{"==", "!=", "&&", "||", "and", "or", "in", "not in", "matches", "startsWith", "endsWith", "contains"}

// logicalOperators join two conditions.
var logicalOperators = []string{"&&", "||", "and", "or"}

// stringOperators test one string against another.
var stringOperators = []string{"matches", "startsWith", "endsWith", "contains"}

// funcTypes are the functions that read the build's values; Evaluator
// puts their implementations in the environment.
var funcTypes = map[string]any{
	FuncExists:  func(string) (bool, error) { return false, nil },
	FuncDefined: func(string) bool { return false },
}

// flagFunction is the flag lookup (see Truth), a pure function the
// compiler links in, so a call costs no reflection.
var flagFunction = expr.Function(funcFlag, func(args ...any) (any, error) {
	return Truth(args[0].(string), args[1].(string))
}, new(func(string, string) (bool, error)))

// Compiler compiles the conditions of one file. It is not safe for
// concurrent use.
type Compiler struct {
	config *conf.Config
	names  map[string]bool
	// memo holds compiled conditions by text: a file repeats its flags.
	// It holds at most maxMemo of them.
	memo map[string]*Condition
	// lists holds the Names of the conditions compiled, by their names
	// joined, so that conditions that read the same names share one
	// slice; at most maxMemo of them.
	lists map[string][]string
	// budget is what is left of the program budget (see
	// SetProgramBudget), in estimated bytes.
	budget int
	// compiled is what the conditions compiled (the memoized ones left
	// out) cost, as programCost estimates it: about the garbage they made.
	compiled int
	// scratch is reused from one condition to the next: a file may hold
	// a million conditions. (expr's parser.Parser cannot be: its lexer's
	// Reset leaves the end of the last text read, in v1.17.8.)
	scratch compilation
}

// DefaultProgramBudget is the program budget of a new Compiler.
const DefaultProgramBudget = 4 << 20

// maxMemo is the most conditions (and lists of names) a Compiler
// remembers by text: enough for every real file, bounded for a file of a
// million distinct conditions.
const maxMemo = 1 << 14

// programCost estimates the memory of the compiled program of a
// condition of text (the program of a 3,000-byte condition takes about
// 200 KB, expr's tree of the condition included, that of a short one
// about 1 KB).
func programCost(text string) int { return 1024 + 64*len(text) }

// SetProgramBudget sets how much memory, as programCost estimates it, the
// programs this compiler keeps may take from now on. A condition whose
// program would go over it is compiled again each time it is evaluated:
// a Dockerfile is untrusted input, and the programs of a file of a
// million distinct conditions would take gigabytes, where the text
// takes megabytes.
func (cc *Compiler) SetProgramBudget(bytes int) { cc.budget = bytes }

// Compiled estimates the memory the compiler has allocated so far, most
// of it garbage once Compile returns: programCost of each condition it
// compiled (not those it remembered).
func (cc *Compiler) Compiled() int { return cc.compiled }

// NewCompiler returns a compiler for conditions that may read any of names
// (each condition is still checked against its own Scope).
func NewCompiler(names []string) *Compiler {
	types := make(map[string]any, len(names)+len(funcTypes))
	c := &Compiler{names: map[string]bool{}, memo: map[string]*Condition{}, lists: map[string][]string{}, budget: DefaultProgramBudget}
	for _, n := range names {
		c.names[n] = true
		if reserved(n) {
			continue // never read as a value (see Condition.use)
		}
		types[n] = ""
	}
	for k, v := range funcTypes {
		types[k] = v
	}
	config := conf.CreateNew()
	expr.Env(types)(config)
	expr.AsBool()(config)
	expr.DisableAllBuiltins()(config)
	flagFunction(config)
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	c.config = config
	return c
}

// reserved reports whether name is one of the functions, which an ARG of
// that name cannot shadow.
func reserved(name string) bool {
	_, fn := funcTypes[name]
	return fn || name == funcFlag
}

// Compile parses and type-checks text against the names scope declares.
// A bare name used where a boolean is expected is read as a flag (see
// Truth). All problems come back as *Error.
func Compile(text string, scope Scope, names ...string) (*Condition, error) {
	return NewCompiler(names).Compile(text, scope)
}

// Compile compiles one condition; see the package function Compile.
func (cc *Compiler) Compile(text string, scope Scope) (*Condition, error) {
	if strings.TrimSpace(text) == "" {
		return nil, &Error{Msg: "empty condition: write an expression such as INCLUDE_DOCS or TARGETARCH == 'arm64'"}
	}
	if len(text) > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("condition is %d bytes long; the limit is %d: move the logic into an ARG or split it into nested IF blocks", len(text), MaxLength)}
	}
	// A memoized condition is reused where all its names are in scope;
	// otherwise it is compiled again, for the error and its column.
	if c, ok := cc.memo[text]; ok && allDeclared(c.Names, scope) {
		return c, nil
	}
	cc.compiled += programCost(text)
	cp, tree, err := cc.checked(text, scope)
	if err != nil {
		return nil, err
	}
	c := &Condition{Text: text, Names: cc.list(cp.names.list)}
	var prog *vm.Program
	if cost := programCost(text); cost <= cc.budget {
		if prog, err = compiler.Compile(tree, cc.config); err != nil {
			return nil, cp.exprError(err, "cannot compile condition")
		}
		cc.budget -= cost
	}
	if prog != nil || len(cp.paths.list) > 0 || cp.readsContext || len(cp.patterns) > 0 {
		c.more = &conditionMore{program: prog, paths: slices.Clone(cp.paths.list), readsContext: cp.readsContext, patterns: slices.Clone(cp.patterns)}
	}
	if len(cc.memo) < maxMemo {
		cc.memo[text] = c
	}
	return c, nil
}

// checked parses text, checks it against scope and types it: the tree
// it returns is ready for expr's compiler. The compilation is cc's, until
// the next call.
func (cc *Compiler) checked(text string, scope Scope) (*compilation, *parser.Tree, error) {
	c := &cc.scratch
	c.reset(text)
	if err := c.scanTokens(); err != nil {
		return nil, nil, err
	}
	tree, err := parser.Parse(text)
	if err != nil {
		return nil, nil, c.exprError(err, "syntax error in condition")
	}
	if err := c.check(tree.Node, scope); err != nil {
		return nil, nil, err
	}
	if err := c.boolean(&tree.Node); err != nil {
		return nil, nil, err
	}
	if slices.ContainsFunc(c.names.list, func(n string) bool { return !cc.names[n] }) {
		// Names the compiler was not told of: learn them, once.
		*cc = *cc.with(c.names.list)
	}
	// What check and boolean let through is a boolean expression; the
	// checker confirms it.
	t, err := checker.Check(tree, cc.config)
	if err != nil {
		return nil, nil, c.exprError(err, "type error in condition")
	}
	if t == nil || t.Kind() != reflect.Bool {
		return nil, nil, &Error{Column: 1, Msg: "the condition does not give true or false: " + supported}
	}
	return c, tree, nil
}

// with returns a compiler for the names of cc and more, with cc's memory.
func (cc *Compiler) with(more []string) *Compiler {
	out := NewCompiler(append(slices.Collect(maps.Keys(cc.names)), more...))
	out.memo, out.lists, out.budget = cc.memo, cc.lists, cc.budget
	return out
}

// list returns names, or an equal slice a condition compiled before has.
func (cc *Compiler) list(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	key := strings.Join(names, "\x00")
	if l, ok := cc.lists[key]; ok {
		return l
	}
	names = slices.Clone(names)
	if len(cc.lists) < maxMemo {
		cc.lists[key] = names
	}
	return names
}

// program compiles c again, for an Evaluator: c compiled once, against
// its scope, so every name it reads is declared.
func (cc *Compiler) program(c *Condition) (*vm.Program, error) {
	cp, tree, err := cc.checked(c.Text, everything{})
	if err != nil {
		return nil, err
	}
	prog, err := compiler.Compile(tree, cc.config)
	if err != nil {
		return nil, cp.exprError(err, "cannot compile condition")
	}
	return prog, nil
}

// everything is the scope of a condition that compiled in its own.
type everything struct{}

func (everything) Declared(string) bool          { return true }
func (everything) Undeclared(name string) string { return "undeclared name " + name }

func allDeclared(names []string, scope Scope) bool {
	for _, n := range names {
		if !scope.Declared(n) {
			return false
		}
	}
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
func (c *compilation) scanTokens() error {
	if !mayHoldForeignTokens(c.Text) {
		return nil
	}
	tokens, err := lexer.Lex(file.NewSource(c.Text))
	if err != nil {
		return nil // the parser reports it
	}
	for _, t := range tokens {
		if msg, ok := foreignToken(t); ok {
			return &Error{Column: column(c.Text, t.From), Msg: fmt.Sprintf("%s; %s", msg, supported)}
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
func (c *compilation) check(n ast.Node, scope Scope) error {
	switch node := n.(type) {
	case *ast.IdentifierNode:
		return c.use(node, scope)
	case *ast.StringNode, *ast.BoolNode:
		return nil
	case *ast.NilNode:
		return c.errorAt(node, "nil is not supported: an ARG's value is a string, never nil; to test whether a value was given, write defined(NAME); %s", supported)
	case *ast.IntegerNode:
		return c.errorAt(node, "numbers are not supported: an ARG's value is a string, so quote the number, as in '%d'; %s", node.Value, supported)
	case *ast.FloatNode:
		return c.errorAt(node, "numbers are not supported: an ARG's value is a string, so quote the number, as in '1.5'; %s", supported)
	case *ast.BytesNode:
		return c.errorAt(node, "%s; %s", tokenMessages["bytes"], supported)
	case *ast.UnaryNode:
		if node.Operator != "!" && node.Operator != "not" {
			return c.unsupportedOperator(node, node.Operator)
		}
		return c.check(node.Node, scope)
	case *ast.BinaryNode:
		if err := c.check(node.Left, scope); err != nil {
			return err
		}
		if !slices.Contains(binaryOperators, node.Operator) {
			return c.unsupportedOperator(node, node.Operator)
		}
		return c.check(node.Right, scope)
	case *ast.ArrayNode:
		for _, e := range node.Nodes {
			if err := c.check(e, scope); err != nil {
				return err
			}
		}
		return nil
	case *ast.CallNode:
		return c.checkCall(node, scope)
	case *ast.BuiltinNode:
		return c.unknownFunction(node, node.Name)
	case *ast.ConditionalNode:
		return c.errorAt(node, "%s; %s", tokenMessages["?"], supported)
	case *ast.MemberNode, *ast.ChainNode:
		return c.errorAt(node, "member access and indexing (a.b, a[0]) are not supported: an ARG's value is a plain string; test it with ==, startsWith, endsWith, contains or matches; %s", supported)
	case *ast.SliceNode:
		return c.errorAt(node, "slicing (a[i:j]) is not supported: test a value with startsWith, endsWith, contains or matches; %s", supported)
	case *ast.MapNode, *ast.PairNode:
		return c.errorAt(node, "%s; %s", tokenMessages["{"], supported)
	case *ast.PredicateNode, *ast.PointerNode:
		return c.errorAt(node, "%s; %s", tokenMessages["#"], supported)
	case *ast.VariableDeclaratorNode:
		return c.errorAt(node, "%s; %s", tokenMessages["let"], supported)
	case *ast.SequenceNode:
		return c.errorAt(node, "%s; %s", tokenMessages[";"], supported)
	default:
		return c.errorAt(n, "unsupported expression %s: %s", quote(n.String()), supported)
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

func (c *compilation) unsupportedOperator(n ast.Node, op string) *Error {
	if hint, ok := operatorHints[op]; ok {
		return c.errorAt(n, "unsupported operator %q: %s; %s", op, hint, supported)
	}
	return c.errorAt(n, "unsupported operator %s: %s", quote(op), supported)
}

func (c *compilation) checkCall(node *ast.CallNode, scope Scope) error {
	callee, ok := node.Callee.(*ast.IdentifierNode)
	if !ok {
		return c.errorAt(node, `unsupported call: only exists("path") and defined(NAME) can be called`)
	}
	switch callee.Value {
	case FuncExists:
		c.readsContext = true
		if len(node.Arguments) != 1 {
			return c.errorAt(node, "exists takes one path, as in exists(\"docs/\"), got %d arguments", len(node.Arguments))
		}
		if s, ok := node.Arguments[0].(*ast.StringNode); ok {
			c.paths.add(s.Value)
		}
		return c.check(node.Arguments[0], scope)
	case FuncDefined:
		if len(node.Arguments) != 1 {
			return c.errorAt(node, "defined takes one ARG name, as in defined(VERSION), got %d arguments", len(node.Arguments))
		}
		var name string
		switch arg := node.Arguments[0].(type) {
		case *ast.IdentifierNode:
			name = arg.Value
		case *ast.StringNode:
			name = arg.Value
		default:
			return c.errorAt(node, "defined takes an ARG name, as in defined(VERSION) or defined('VERSION')")
		}
		id := &ast.IdentifierNode{Value: name}
		id.SetLocation(node.Arguments[0].Location())
		if err := c.declared(id, scope); err != nil {
			return err
		}
		str := &ast.StringNode{Value: name}
		str.SetLocation(node.Arguments[0].Location())
		node.Arguments[0] = str
		return nil
	default:
		return c.unknownFunction(node, callee.Value)
	}
}

func (c *compilation) unknownFunction(node ast.Node, name string) *Error {
	msg := fmt.Sprintf("unknown function %s(): conditions can call exists(\"path\") and defined(NAME)", short(name))
	if s := didyoumean.Closest(name, []string{FuncExists, FuncDefined}, true); s != "" {
		msg = fmt.Sprintf("unknown function %s(); did you mean %s()? Conditions can call exists(\"path\") and defined(NAME)", short(name), s)
	}
	return c.errorAt(node, "%s", msg)
}

// use records a name read as a value.
func (c *compilation) use(id *ast.IdentifierNode, scope Scope) error {
	name := id.Value
	switch {
	case name == FuncExists || name == FuncDefined:
		msg := fmt.Sprintf("%s is a function, not a value: call it, as in %s", name, map[string]string{FuncExists: `exists("docs/")`, FuncDefined: "defined(VERSION)"}[name])
		if scope.Declared(name) {
			msg += fmt.Sprintf("; an ARG named %s can only be tested with defined(%s): rename the ARG to read its value", name, name)
		}
		return c.errorAt(id, "%s", msg)
	case name == funcFlag:
		return c.errorAt(id, "%s is a name stagefront reserves: rename the ARG", name)
	case name == "$env":
		return c.errorAt(id, "$env is not supported: write the ARG's name, as in TARGETARCH == 'arm64'")
	}
	return c.declared(id, scope)
}

// declared records a name read as a value or by defined().
func (c *compilation) declared(id *ast.IdentifierNode, scope Scope) error {
	name := id.Value
	if !scope.Declared(name) {
		return c.errorAt(id, "%s", scope.Undeclared(name))
	}
	c.names.add(name)
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

// boolean types *n as a condition, which check accepted: it rewrites bare
// names into flag lookups, and rejects strings where a condition is
// needed and conditions where a string is.
func (c *compilation) boolean(n *ast.Node) error {
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
		return c.errorAt(node, "%s is a string, not a condition: compare it, as in NAME == %s; %s", quote(node.Value), quote(node.Value), supported)
	case *ast.ArrayNode:
		return c.errorAt(node, "a list ([...]) is not a condition: test membership with in, as in NAME in ['a', 'b']")
	case *ast.UnaryNode:
		return c.boolean(&node.Node)
	case *ast.CallNode:
		if id, ok := node.Callee.(*ast.IdentifierNode); ok && id.Value == FuncExists {
			return c.text(node.Arguments[0], "exists()")
		}
		return nil
	case *ast.BinaryNode:
		switch op := node.Operator; {
		case slices.Contains(logicalOperators, op):
			if err := c.boolean(&node.Left); err != nil {
				return err
			}
			return c.boolean(&node.Right)
		case op == "==" || op == "!=":
			l, r := isCondition(node.Left), isCondition(node.Right)
			if l != r {
				return c.mismatch(node)
			}
			if l {
				if err := c.boolean(&node.Left); err != nil {
					return err
				}
				return c.boolean(&node.Right)
			}
			if err := c.text(node.Left, op); err != nil {
				return err
			}
			return c.text(node.Right, op)
		case op == "in" || op == "not in":
			if err := c.text(node.Left, op); err != nil {
				return err
			}
			list, ok := node.Right.(*ast.ArrayNode)
			if !ok {
				return c.errorAt(node, "%s needs a list after it, as in NAME in ['a', 'b']; to find text inside a value, use contains, as in NAME contains 'a'", op)
			}
			for _, e := range list.Nodes {
				if err := c.text(e, "the list of in"); err != nil {
					return err
				}
			}
			return nil
		case slices.Contains(stringOperators, op):
			if err := c.text(node.Left, op); err != nil {
				return err
			}
			if err := c.text(node.Right, op); err != nil {
				return err
			}
			if op == "matches" {
				return c.checkPattern(node.Right)
			}
			return nil
		}
	}
	// check lets nothing else through.
	return c.errorAt(*n, "unsupported expression %s: %s", quote((*n).String()), supported)
}

// text types n as a string operand of op: an ARG name or a literal.
func (c *compilation) text(n ast.Node, op string) error {
	switch n.(type) {
	case *ast.IdentifierNode, *ast.StringNode:
		return nil
	case *ast.ArrayNode:
		return c.errorAt(n, "a list ([...]) can only follow in, as in NAME in ['a', 'b']")
	}
	return c.errorAt(n, "%s takes strings (ARG names and 'quoted' text), not a condition (true or false) such as %s", op, quote(n.String()))
}

// pattern checks the regular expression of matches: a literal now, the
// value of a name when it is evaluated.
func (c *compilation) checkPattern(n ast.Node) error {
	switch p := n.(type) {
	case *ast.StringNode:
		if _, err := regexp.Compile(p.Value); err != nil {
			return c.errorAt(n, "the pattern %s of matches is not a valid regular expression (%s): in a quoted pattern, escape a special character with two backslashes or put it in brackets, as in '^1\\\\.2' or '^1[.]2'", quote(p.Value), regexpReason(err, p.Value))
		}
	case *ast.IdentifierNode:
		if c.patternNames.add(p.Value) {
			c.patterns = append(c.patterns, pattern{name: p.Value, column: column(c.Text, p.Location().From)})
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
func (c *compilation) mismatch(node *ast.BinaryNode) *Error {
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
	return c.errorAt(node, "%s", msg)
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

// Eval evaluates the condition with the values v gives.
func (c *Condition) Eval(v Values) (bool, error) {
	return NewEvaluator(v, c.Names...).Eval(c)
}

// Evaluator evaluates conditions against one Values, reusing its memory
// from one condition to the next. It is not safe for concurrent use.
type Evaluator struct {
	v       Values
	env     map[string]any
	machine vm.VM
	// names are the names the conditions may read, for the compiler of
	// the conditions whose programs were not kept, made on first need.
	names    []string
	compiler *Compiler
	// programs holds the programs compiled again, by text, within the
	// program budget (a file repeats its conditions); cost is what they
	// take, estimated.
	programs map[string]*vm.Program
	cost     int
}

// NewEvaluator returns an Evaluator reading v, for conditions that read
// names (the names of the file's ARGs; a condition whose program was not
// kept is compiled again, and a name not listed makes that dearer).
func NewEvaluator(v Values, names ...string) *Evaluator {
	ev := &Evaluator{v: v, env: map[string]any{}, names: names}
	ev.reset()
	return ev
}

func (ev *Evaluator) reset() {
	clear(ev.env)
	ev.env[FuncExists] = ev.v.Exists
	ev.env[FuncDefined] = func(name string) bool {
		_, ok := ev.v.Lookup(name)
		return ok
	}
}

// program returns the program of c: its own, or one compiled again.
func (ev *Evaluator) program(c *Condition) (*vm.Program, error) {
	if c.more != nil && c.more.program != nil {
		return c.more.program, nil
	}
	if p, ok := ev.programs[c.Text]; ok {
		return p, nil
	}
	if ev.compiler == nil {
		ev.compiler = NewCompiler(ev.names)
		ev.programs = map[string]*vm.Program{}
	}
	p, err := ev.compiler.program(c)
	if err != nil {
		return nil, err
	}
	cost := programCost(c.Text)
	if ev.cost+cost > DefaultProgramBudget {
		clear(ev.programs)
		ev.cost = 0
	}
	if cost <= DefaultProgramBudget {
		ev.programs[c.Text] = p
		ev.cost += cost
	}
	return p, nil
}

// Eval evaluates c. Every error is a *Error; one of Exists unwraps to
// Exists's own.
func (ev *Evaluator) Eval(c *Condition) (bool, error) {
	prog, err := ev.program(c)
	if err != nil {
		return false, err
	}
	if len(ev.env) > 64 {
		ev.reset()
	}
	for _, n := range c.Names {
		if reserved(n) {
			continue // read by defined() only, never as a value
		}
		ev.env[n], _ = ev.v.Lookup(n)
	}
	out, err := ev.machine.Run(prog, ev.env)
	if err != nil {
		return false, c.evalError(err, ev.v)
	}
	b, ok := out.(bool)
	if !ok {
		return false, &Error{Msg: "the condition did not give true or false"}
	}
	return b, nil
}

// evalError turns an error of the machine into a *Error.
func (c *Condition) evalError(err error, v Values) *Error {
	col := 0
	var fe *file.Error
	if errors.As(err, &fe) {
		col = column(c.Text, fe.From)
		if fe.Prev != nil {
			err = fe.Prev
		} else {
			err = errors.New(fe.Message)
		}
	}
	var ce *Error
	if errors.As(err, &ce) {
		out := *ce
		if out.Column == 0 {
			out.Column = col
		}
		return &out
	}
	var re *resyntax.Error
	if errors.As(err, &re) {
		var patterns []pattern
		if c.more != nil {
			patterns = c.more.patterns
		}
		for _, p := range patterns {
			name := p.name
			value, _ := v.Lookup(name)
			if _, err := regexp.Compile(value); err != nil {
				return &Error{Column: p.column, Msg: fmt.Sprintf("%s=%q is not a valid regular expression (%s), and this condition reads it as the pattern of matches: give %s a valid pattern, or test its text with ==, startsWith, endsWith or contains", name, value, regexpReason(err, value), name)}
			}
		}
		return &Error{Column: col, Msg: fmt.Sprintf("a pattern of matches is not a valid regular expression (%s)", regexpReason(err, ""))}
	}
	// The only other failure is that of Exists, kept as is.
	return &Error{Column: col, Msg: err.Error(), Err: err}
}

// regexpReason says why value is no regular expression, without Go's
// "error parsing regexp" prefix.
func regexpReason(err error, value string) string {
	var re *resyntax.Error
	if !errors.As(err, &re) {
		return err.Error()
	}
	if re.Expr == "" || re.Expr == value {
		return string(re.Code)
	}
	return fmt.Sprintf("%s: %s", re.Code, quote(re.Expr))
}

// Truth reads value as a flag: true, 1, yes and on are true; false, 0, no,
// off and the empty string are false, in any case. Anything else is an
// error that quotes the value.
func Truth(name, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, &Error{Msg: fmt.Sprintf("%s=%q is not a boolean flag: use true/false (or 1/0, yes/no, on/off), or compare it, as in %s == %q", name, value, name, value)}
}

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

func (c *compilation) errorAt(n ast.Node, format string, args ...any) *Error {
	return &Error{Column: column(c.Text, n.Location().From), Msg: fmt.Sprintf(format, args...)}
}

// exprError turns an error of expr's parser, checker or compiler into a
// *Error, in the words of conditions.
func (c *compilation) exprError(err error, prefix string) *Error {
	col, msg := 0, err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		col, msg = column(c.Text, fe.From), fe.Message
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
