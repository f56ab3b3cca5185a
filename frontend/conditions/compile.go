package conditions

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

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
// A bare name used where a boolean is expected is read as a flag
// ("true", "1", "yes", "on" and their opposites, as truth reads them).
// All problems come back as *Error.
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
	c := &Condition{Text: text, Names: cc.sharedNames(cp.names.list)}
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
	if err := c.typeCondition(&tree.Node); err != nil {
		return nil, nil, err
	}
	if slices.ContainsFunc(c.names.list, func(n string) bool { return !cc.names[n] }) {
		// Names the compiler was not told of: learn them, once.
		cc.learn(c.names.list)
	}
	// What check and typeCondition let through is a boolean expression; the
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

// learn makes cc's type configuration know the names more too; what cc
// remembers and the compilation at hand stay.
func (cc *Compiler) learn(more []string) {
	fresh := NewCompiler(append(slices.Collect(maps.Keys(cc.names)), more...))
	cc.config, cc.names = fresh.config, fresh.names
}

// sharedNames returns names, or an equal slice a condition compiled before
// has.
func (cc *Compiler) sharedNames(names []string) []string {
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

func (everything) Declared(string) bool { return true }

func (everything) Undeclared(name string) string { return "undeclared name " + name }

func allDeclared(names []string, scope Scope) bool {
	for _, n := range names {
		if !scope.Declared(n) {
			return false
		}
	}
	return true
}
