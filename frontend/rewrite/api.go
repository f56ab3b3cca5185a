// Package rewrite turns an extended Dockerfile (IF/ELSE IF/ELSE/END blocks,
// --if= guards, REQUIRE, INCLUDE) into a standard Dockerfile for one
// target platform: Expand puts the fragments the values make live in
// place of their INCLUDEs (a table keeps each line's own file and line),
// and Evaluate decides every line of the analysed file, keeping every
// line where it was so that the source map stays valid for the converted
// result. Dead lines vanish and what remains is the Dockerfile the build
// converts.
package rewrite

import (
	"context"
	"sync"

	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options are the inputs of one rewrite: the values of the build and the
// platform it is for.
type Options struct {
	// Filename is the name errors show, "Dockerfile" when empty.
	Filename string
	// BuildArgs are the values given with --build-arg, by name.
	BuildArgs map[string]string
	// TargetPlatform is the platform this rewrite is for.
	TargetPlatform ocispecs.Platform
	// BuildPlatform is the platform of the builder.
	BuildPlatform ocispecs.Platform
	// Target is the stage being built; the last stage when empty.
	Target string
	// Context answers exists(); when nil, exists() is an error.
	Context Context
	// Annotate writes each live REQUIRE as a comment naming the stages it
	// requires, for people reading the rewrite (the CLI); otherwise it
	// becomes "#" like every other extension line.
	Annotate bool
	// ListFlags asks for Result.Flags, which outlines show; a build does
	// not need them, and they cost a walk of the whole file.
	ListFlags bool
}

// Context gives conditions a read-only view of the build context.
type Context interface {
	// Exists reports whether pattern (a path or glob relative to the
	// context root, after .dockerignore) matches anything.
	Exists(ctx context.Context, pattern string) (bool, error)
}

// ExpectingContext is a Context that is told, before any question, the
// paths the file's conditions pass to exists() as literals, so that it can
// read the build context once for all of them.
type ExpectingContext interface {
	Context
	Expect(patterns []string)
}

// Result is a rewritten Dockerfile and what the rewrite learned about it.
type Result struct {
	// Dockerfile is the standard Dockerfile, with as many lines as the input.
	Dockerfile []byte
	// Extended is false when the input uses no extension; Dockerfile is
	// then byte-identical to the input.
	Extended bool
	// Flags lists every name read by a condition on the target's path
	// (including conditions that are off), in order of first use.
	Flags []Flag
	// Stages lists every stage of the file, live or not, in file order.
	Stages []Stage
	// Gates are the stages that REQUIREs on the target's build name,
	// transitively: the build must also build each of them, and fail if
	// any fails. Empty for a file without REQUIRE.
	Gates []string
	// Includes are the live INCLUDEs, in file order, with the fragments
	// they take for these values (see Expand).
	Includes []Include
	// Notes are what the Fragments had to say about where they read the
	// fragments of Includes (see FragmentNoter), at each INCLUDE.
	Notes []Note
	// Sources are the files the rewritten Dockerfile is made of, when it
	// INCLUDEs fragments (see Expand); nil for a single file.
	Sources *Sources
	// Analysis is the value-independent model of the file this result
	// evaluated, for the tools that read more of it (checks, subrequests,
	// the CLI). It is shared: read it, never change it.
	Analysis *analysis.File

	// eval is the evaluation that made this result, which the methods
	// below read; for a standard file, which is converted as written, it
	// is made on first use (with opt).
	eval     *evaluation
	evalOnce sync.Once
	opt      Options
}

// Flag is one name that a condition reads.
type Flag struct {
	Name string
	// Doc is the comment directly above its ARG, "" when none.
	Doc string
	// Default is the declared default as written ("" when none).
	Default string
	// Value is the value the conditions saw.
	Value string
	// Defined reports whether a value was given (build arg or default).
	Defined bool
	// Automatic is true for the platform ARGs that need no declaration.
	Automatic bool
	// Line is the line of its ARG (1-based), 0 for automatic ARGs.
	Line int
	// UsedAt lists the lines of the conditions that read it.
	UsedAt []int
	// Guards lists the lines those conditions decide: the instruction of
	// an --if=, or the block of an IF or ELSE IF (through its END).
	Guards []LineRange
}

// LineRange is an inclusive range of 1-based lines.
type LineRange struct {
	From, To int
}

// Stage is one FROM of the file.
type Stage struct {
	// Name is the AS name, "" when unnamed.
	Name string
	// Index counts all stages of the file, live or not, from 0.
	Index int
	// Line is the line of its FROM.
	Line int
	// Live is false when a condition turned the stage off.
	Live bool
	// Conditions are the conditions (as written) that must hold for the
	// stage to be live, outermost first; empty when unconditional.
	Conditions []string
	// OffBy describes the condition that turned it off, with its line.
	OffBy string
	// Requires are the stages a live REQUIRE in this stage names.
	Requires []Requirement
}

// Requirement is one stage named by a live REQUIRE.
type Requirement struct {
	Stage string
	Line  int
}

// Error is one problem in an extended Dockerfile, at a line of the original
// file.
type Error = syntax.Error

// ErrorList is every problem found in one pass, sorted by line.
type ErrorList = syntax.ErrorList
