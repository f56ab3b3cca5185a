package analysis

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/org/stagefront/internal/didyoumean"
)

// StageLevel reports whether an item's condition is decided before any
// stage, in the global scope: a global position, a FROM guard, or a block
// that holds a FROM.
func StageLevel(it *syntax.Item) bool {
	if it.Stage < 0 || it.Keyword == "from" {
		return true
	}
	return it.Block != nil && it.Block.HasFrom
}

// Declaration returns the ARG declaration of name that a condition at it
// reads: the last one above it in its stage (unless the condition is
// decided at stage level, see StageLevel), else the last global one; nil
// for an automatic ARG or a name it cannot see.
func (f *File) Declaration(it *syntax.Item, name string) *ArgDecl {
	var found *ArgDecl
	decls := f.args[name]
	for i := range decls {
		d := &decls[i]
		if d.Item.Line > it.Line {
			break
		}
		if d.Global || (!StageLevel(it) && d.Item.Stage == it.Stage) {
			found = d
		}
	}
	return found
}

// GlobalArgs lists the ARG declarations before the first FROM, in file
// order.
func (f *File) GlobalArgs() []ArgDecl {
	var out []ArgDecl
	for _, it := range f.scoped {
		if it.Stage >= 0 {
			break
		}
		if a := f.of(it).arg; a != nil {
			for _, kv := range a.Args {
				out = append(out, ArgDecl{Item: it, Global: true, KV: kv})
			}
		}
	}
	return out
}

// ArgNames lists every name an ARG of the file declares, sorted.
func (f *File) ArgNames() []string { return slices.Sorted(maps.Keys(f.args)) }

// scope is the set of names the condition of an item may read: the global
// ARGs declared above it, the platform ARGs, and unless its condition is
// decided at stage level (see StageLevel) the ARGs declared above it in
// its stage. It only reads the File, so conditions can be compiled
// concurrently.
type scope struct {
	f  *File
	at *syntax.Item
}

func (s scope) Declared(name string) bool {
	if IsAutomatic(name) {
		return true
	}
	decls := s.f.args[name] // in file order: the global ones first
	line := s.at.Line
	if len(decls) == 0 || decls[0].Item.Line >= line {
		return false
	}
	if decls[0].Global {
		return true
	}
	if StageLevel(s.at) {
		return false
	}
	// The last declaration above the condition is in its stage if any is.
	i := sort.Search(len(decls), func(i int) bool { return decls[i].Item.Line >= line })
	return decls[i-1].Item.Stage == s.at.Stage
}

func (s scope) Undeclared(name string) string {
	line := s.at.Line
	if decls := s.f.args[name]; len(decls) > 0 {
		d := decls[0]
		where := "in another stage"
		if d.Item.Line > line {
			where = "below this condition"
		}
		return fmt.Sprintf("%s is declared at line %d, %s, so this condition cannot see it: conditions read global ARGs (before the first FROM), ARGs declared earlier in the same stage, and the platform ARGs; declare ARG %s above line %d", name, d.Item.Line, where, name, line)
	}
	names := append(s.f.ArgNames(), AutomaticArgs()...)
	if c := didyoumean.Closest(name, names, true); c != "" {
		return fmt.Sprintf("undeclared name %s; did you mean %s? (or declare ARG %s above line %d)", name, c, name, line)
	}
	return fmt.Sprintf("undeclared name %s: declare ARG %s above line %d (before the first FROM for a global ARG, or in this stage)", name, name, line)
}

// compile compiles every condition against the names in scope where it is
// written. Conditions are independent of each other, so a file with many
// is compiled by several goroutines, each with a compiler of its own.
func (f *File) compile(opt Options) {
	var todo []*syntax.Item
	for _, it := range f.scoped {
		if it.Cond != nil && it.Cond.Text != "" {
			todo = append(todo, it)
		}
	}
	names := append(slices.Collect(maps.Keys(f.args)), AutomaticArgs()...)
	type compiled struct {
		c   *conditions.Condition
		err error
	}
	out := make([]compiled, len(todo))
	compileAll := func(from, to int) {
		cc := conditions.NewCompiler(names)
		for i := from; i < to; i++ {
			out[i].c, out[i].err = cc.Compile(todo[i].Cond.Text, scope{f: f, at: todo[i]})
		}
	}
	per := opt.ConditionsPerWorker
	if per <= 0 {
		per = DefaultConditionsPerWorker
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(todo)/per))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { compileAll(w*len(todo)/workers, (w+1)*len(todo)/workers) })
	}
	wg.Wait()
	for i, it := range todo {
		if out[i].err != nil {
			f.condError(it, out[i].err)
			continue
		}
		f.note(it).cond = out[i].c
		for _, p := range out[i].c.Paths {
			if clean, err := contextfs.Clean(p); err == nil && !slices.Contains(f.Paths, clean) {
				f.Paths = append(f.Paths, clean)
			}
		}
	}
}

// condError records an error of the condition of it, with its column.
func (f *File) condError(it *syntax.Item, err error) {
	col := 0
	msg := err.Error()
	if ce, ok := err.(*conditions.Error); ok && ce.Column > 0 && it.Cond.Column > 0 {
		col = it.Cond.Column + ce.Column - 1
	}
	f.errs.Add(f.Syntax.Name, it.Cond.Line, col, "%s: %s", CondLabel(it), msg)
}

// CondLabel names a condition in messages, as in `IF A == 'x'` or
// `--if=A`.
func CondLabel(it *syntax.Item) string {
	switch it.Kind {
	case syntax.If, syntax.ElseIf:
		return fmt.Sprintf("%s %s", it.Kind, it.Cond.Text)
	}
	return "--if=" + it.Cond.Text
}

// checkRequireNames reports REQUIRE names that are no stage of the file.
func (f *File) checkRequireNames() {
	var names []string
	for _, it := range f.linked {
		if it.Kind != syntax.Require {
			continue
		}
		for _, a := range it.Args() {
			if len(f.byName[strings.ToLower(a)]) > 0 {
				continue
			}
			if names == nil {
				names = f.StageNames()
			}
			msg := fmt.Sprintf("REQUIRE names %q, which is not a stage of this file", a)
			if c := f.SuggestStage(a); c != "" {
				msg += fmt.Sprintf("; did you mean %q?", c)
			} else if len(names) > 0 {
				msg += fmt.Sprintf("; the named stages are %s", strings.Join(names, ", "))
			}
			f.errs.Add(f.Syntax.Name, it.Line, 0, "%s", msg)
		}
	}
}

// SuggestStage returns the stage name that name most likely misspells,
// or "": the one did-you-mean for stage names, shared by the rewrite's
// errors and the checks' warnings so that both suggest the same stage.
func (f *File) SuggestStage(name string) string {
	return didyoumean.Closest(strings.ToLower(name), f.StageNames(), false)
}
