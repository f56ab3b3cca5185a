package rewrite

import (
	"slices"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

type instructionsKV = instructions.KeyValuePairOptional

// env is an ordered set of variables, the scope ARG defaults expand in.
// It implements shell.EnvGetter.
type env struct {
	keys []string
	vals map[string]string
}

func (e *env) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

// unset removes k.
func (e *env) unset(k string) {
	if _, ok := e.vals[k]; ok {
		delete(e.vals, k)
		e.keys = slices.DeleteFunc(e.keys, func(x string) bool { return x == k })
	}
}

// reset empties e, keeping its memory.
func (e *env) reset() {
	e.keys = e.keys[:0]
	clear(e.vals)
}

func (e *env) get(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

// Get implements shell.EnvGetter.
func (e *env) Get(k string) (string, bool) { return e.get(k) }

// Keys implements shell.EnvGetter.
func (e *env) Keys() []string { return e.keys }
