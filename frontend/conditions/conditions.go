// Package conditions compiles and evaluates stagefront conditions: the
// expressions of IF, ELSE IF and --if=, written in the operator language of
// github.com/expr-lang/expr over the build's ARGs.
//
// A condition is restricted to what the README documents: ARG names (a
// bare name where a boolean is expected is a flag, see truth), 'quoted'
// strings, true and false, ==, !=, &&, ||, !, and, or, not, in [...],
// matches, startsWith, endsWith, contains (and their not forms),
// exists("path") and defined(NAME). Every other construct of expr (numbers,
// nil, arithmetic, ordering, ?: and ??, member access, indexing, pipes,
// let, closures, maps...) is rejected at Compile with a message that names
// it, so a condition that compiles always gives a boolean.
package conditions

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
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

// flagFunction is the flag lookup (see truth), a pure function the
// compiler links in, so a call costs no reflection.
var flagFunction = expr.Function(funcFlag, func(args ...any) (any, error) {
	return truth(args[0].(string), args[1].(string))
}, new(func(string, string) (bool, error)))

// truth reads value as a flag: true, 1, yes and on are true; false, 0, no,
// off and the empty string are false, in any case. Anything else is an
// error that quotes the value.
func truth(name, value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, &Error{Msg: fmt.Sprintf("%s=%q is not a boolean flag: use true/false (or 1/0, yes/no, on/off), or compare it, as in %s == %q", name, value, name, value)}
}
