package conditions

import (
	"errors"
	"fmt"
	"regexp"
	resyntax "regexp/syntax"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

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
