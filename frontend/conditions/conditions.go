// Package conditions compiles and evaluates stagefront conditions: the
// expressions of IF, ELSE IF and --if=, written in the operator language of
// github.com/expr-lang/expr over the build's ARGs.
package conditions

import (
	"errors"
	"fmt"
	"maps"

	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
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

// Error is a problem in one condition. Column is 1-based within the
// condition text, 0 when not known.
type Error struct {
	Column int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Scope tells the compiler which names a condition may read.
type Scope interface {
	// Declared reports whether name can be read here.
	Declared(name string) bool
	// Undeclared explains why name cannot be read here and what would
	// fix it (a did-you-mean, or where its ARG is).
	Undeclared(name string) string
}

// Condition is one compiled condition.
type Condition struct {
	// Text is the condition as written.
	Text string
	// Names are the ARG names it reads, in order of first use.
	Names []string
	// Paths are the paths its exists() calls name as string literals.
	Paths []string
	// ReadsContext reports whether it calls exists(), literal path or not.
	ReadsContext bool
	program      *vm.Program
}

// Values gives a condition the values of its names and the answers of its
// functions at evaluation time.
type Values interface {
	// Lookup returns the value of name, and whether a value was given.
	Lookup(name string) (value string, defined bool)
	// Exists answers exists(pattern).
	Exists(pattern string) (bool, error)
}

// binaryOperators are the operators of expr a condition may use.
var binaryOperators = []string{"==", "!=", "&&", "||", "and", "or", "in", "not in", "matches", "startsWith", "endsWith", "contains"}

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
	memo map[string]*Condition
}

// NewCompiler returns a compiler for conditions that may read any of names
// (each condition is still checked against its own Scope).
func NewCompiler(names []string) *Compiler {
	types := make(map[string]any, len(names)+len(funcTypes))
	c := &Compiler{names: map[string]bool{}, memo: map[string]*Condition{}}
	for _, n := range names {
		types[n] = ""
		c.names[n] = true
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
	tree, err := parser.Parse(text)
	if err != nil {
		return nil, fromExprError(err, "syntax error in condition")
	}
	c := &Condition{Text: text}
	if err := c.resolve(&tree.Node, scope, true); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(c.Names, func(n string) bool { return !cc.names[n] }) {
		// Names the compiler was not told of: learn them, once.
		memo := cc.memo
		*cc = *NewCompiler(append(slices.Collect(maps.Keys(cc.names)), c.Names...))
		cc.memo = memo
	}
	if _, err := checker.Check(tree, cc.config); err != nil {
		return nil, fromExprError(err, "type error in condition")
	}
	prog, err := compiler.Compile(tree, cc.config)
	if err != nil {
		return nil, fromExprError(err, "cannot compile condition")
	}
	c.program = prog
	cc.memo[text] = c
	return c, nil
}

func allDeclared(names []string, scope Scope) bool {
	for _, n := range names {
		if !scope.Declared(n) {
			return false
		}
	}
	return true
}

// resolve checks every name and call of the tree, records the names read,
// and rewrites bare names in boolean positions (boolean says whether *n is
// in one) into flag lookups.
func (c *Condition) resolve(n *ast.Node, scope Scope, boolean bool) error {
	switch node := (*n).(type) {
	case *ast.IdentifierNode:
		if err := c.use(node, scope); err != nil {
			return err
		}
		if boolean {
			*n = &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: funcFlag},
				Arguments: []ast.Node{&ast.StringNode{Value: node.Value}, node},
			}
		}
		return nil
	case *ast.UnaryNode:
		if node.Operator != "!" && node.Operator != "not" {
			return nodeError(node, "unsupported operator %q: conditions use ==, !=, &&, ||, !, in, matches, startsWith, endsWith and contains", node.Operator)
		}
		return c.resolve(&node.Node, scope, true)
	case *ast.BinaryNode:
		logical := slices.Contains([]string{"&&", "||", "and", "or"}, node.Operator)
		if err := c.resolve(&node.Left, scope, logical); err != nil {
			return err
		}
		if err := c.resolve(&node.Right, scope, logical); err != nil {
			return err
		}
		if !slices.Contains(binaryOperators, node.Operator) {
			return nodeError(node, "unsupported operator %q: conditions use ==, !=, &&, ||, !, in, matches, startsWith, endsWith and contains", node.Operator)
		}
		return nil
	case *ast.ConditionalNode:
		if err := c.resolve(&node.Cond, scope, true); err != nil {
			return err
		}
		if err := c.resolve(&node.Exp1, scope, boolean); err != nil {
			return err
		}
		return c.resolve(&node.Exp2, scope, boolean)
	case *ast.CallNode:
		return c.resolveCall(node, scope)
	case *ast.BuiltinNode:
		return unknownFunction(node, node.Name)
	case *ast.ArrayNode:
		for i := range node.Nodes {
			if err := c.resolve(&node.Nodes[i], scope, false); err != nil {
				return err
			}
		}
		return nil
	case *ast.StringNode, *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.NilNode:
		return nil
	default:
		return nodeError(*n, "unsupported expression %q: conditions use names, string and bool literals, ==, !=, &&, ||, !, in [...], matches, startsWith, endsWith, contains and the functions exists() and defined()", *n)
	}
}

func (c *Condition) resolveCall(node *ast.CallNode, scope Scope) error {
	callee, ok := node.Callee.(*ast.IdentifierNode)
	if !ok {
		return nodeError(node, "unsupported call %q: only exists(\"path\") and defined(NAME) can be called", node)
	}
	switch callee.Value {
	case FuncExists:
		c.ReadsContext = true
		if len(node.Arguments) != 1 {
			return nodeError(node, "exists takes one path, as in exists(\"docs/\"), got %d arguments", len(node.Arguments))
		}
		if s, ok := node.Arguments[0].(*ast.StringNode); ok && !slices.Contains(c.Paths, s.Value) {
			c.Paths = append(c.Paths, s.Value)
		}
		return c.resolve(&node.Arguments[0], scope, false)
	case FuncDefined:
		if len(node.Arguments) != 1 {
			return nodeError(node, "defined takes one ARG name, as in defined(VERSION), got %d arguments", len(node.Arguments))
		}
		var name string
		switch arg := node.Arguments[0].(type) {
		case *ast.IdentifierNode:
			if err := c.use(arg, scope); err != nil {
				return err
			}
			name = arg.Value
		case *ast.StringNode:
			name = arg.Value
			if err := c.use(&ast.IdentifierNode{Value: name}, scope); err != nil {
				return err
			}
		default:
			return nodeError(node, "defined takes an ARG name, as in defined(VERSION)")
		}
		node.Arguments[0] = &ast.StringNode{Value: name}
		return nil
	default:
		return unknownFunction(node, callee.Value)
	}
}

func unknownFunction(node ast.Node, name string) error {
	msg := fmt.Sprintf("unknown function %s(): conditions can call exists(\"path\") and defined(NAME)", name)
	if s := didyoumean.Closest(name, []string{FuncExists, FuncDefined}, true); s != "" {
		msg = fmt.Sprintf("unknown function %s(); did you mean %s()? Conditions can call exists(\"path\") and defined(NAME)", name, s)
	}
	return nodeError(node, "%s", msg)
}

func (c *Condition) use(id *ast.IdentifierNode, scope Scope) error {
	name := id.Value
	if !scope.Declared(name) {
		return nodeError(id, "%s", scope.Undeclared(name))
	}
	if !slices.Contains(c.Names, name) {
		c.Names = append(c.Names, name)
	}
	return nil
}

// Eval evaluates the condition with the values v gives.
func (c *Condition) Eval(v Values) (bool, error) {
	return NewEvaluator(v).Eval(c)
}

// Evaluator evaluates conditions against one Values, reusing its memory
// from one condition to the next. It is not safe for concurrent use.
type Evaluator struct {
	v       Values
	env     map[string]any
	machine vm.VM
}

// NewEvaluator returns an Evaluator reading v.
func NewEvaluator(v Values) *Evaluator {
	ev := &Evaluator{v: v, env: map[string]any{}}
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

// Eval evaluates c.
func (ev *Evaluator) Eval(c *Condition) (bool, error) {
	if len(ev.env) > 64 {
		ev.reset()
	}
	for _, n := range c.Names {
		ev.env[n], _ = ev.v.Lookup(n)
	}
	out, err := ev.machine.Run(c.program, ev.env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) && fe.Prev != nil {
			err = fe.Prev
		}
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %v, not a boolean", out)
	}
	return b, nil
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

func nodeError(n ast.Node, format string, args ...any) *Error {
	return &Error{Column: n.Location().From + 1, Msg: fmt.Sprintf(format, args...)}
}

func fromExprError(err error, prefix string) *Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &Error{Column: fe.From + 1, Msg: prefix + ": " + fe.Message}
	}
	return &Error{Msg: prefix + ": " + err.Error()}
}
