// Package analysis is the value-independent model of an extended
// Dockerfile, computed once per file and read by everything else: its
// items (package syntax), their compiled conditions, the ARG declarations
// and the scope each condition reads, the stages, every stage reference
// with the instruction it sits in, and the one stage graph (FROM, COPY
// --from, RUN --mount from=, REQUIRE) with its queries.
//
// Package rewrite evaluates a File for the values of one build and writes
// the standard Dockerfile; the checks (package lint), the gateway's
// subrequests and copy-error explanations, and the CLI read the same File
// instead of parsing the original again.
package analysis

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/conditions"
	"github.com/org/stagefront/frontend/syntax"
)

// AutomaticArgs returns the platform ARGs conditions may read undeclared.
func AutomaticArgs() []string {
	return []string{
		"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
	}
}

// IsAutomatic reports whether name is one of AutomaticArgs.
func IsAutomatic(name string) bool {
	switch name {
	case "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT":
		return true
	}
	return false
}

// Options tune an analysis; the zero value is what builds use.
type Options struct {
	// ConditionsPerWorker is the fewest conditions worth a goroutine (and
	// a compiler) of their own; 0 means DefaultConditionsPerWorker.
	ConditionsPerWorker int
}

// DefaultConditionsPerWorker is Options.ConditionsPerWorker's default.
const DefaultConditionsPerWorker = 256

// File is the analysis of one extended Dockerfile. It is immutable once
// Analyze returns, so one File serves every platform, gate and subrequest
// of a build concurrently.
type File struct {
	// Syntax is the parsed file: its items, blocks and lines.
	Syntax *syntax.File
	// Stages has one entry per FROM, in file order.
	Stages []*Stage
	// Paths are the literal paths of the conditions' exists() calls, as
	// CleanPath cleans them, in file order.
	Paths []string
	// SelectsByVar marks a standard file whose FROM names a variable: it
	// is evaluated only to check the stage it selects.
	SelectsByVar bool

	errs syntax.ErrorList
	// info holds what was found about the items that have anything
	// found, at the position slot gives by Item.Index; info[0] is the
	// empty entry of all the others (both nil for a standard file that
	// needs no evaluation).
	info []itemInfo
	slot []int32
	// linked are the items that name other stages (FROM, COPY --from,
	// RUN --mount from, REQUIRE), and scoped those a condition's scope
	// depends on or that have a condition (FROM, ARG, conditions), both
	// in file order: the passes that need only them skip the rest.
	linked, scoped []*syntax.Item
	// args are all ARG declarations by name, in file order.
	args map[string][]ArgDecl
	// byName lists the stages of each name, in file order; names the
	// distinct names, in file order.
	byName map[string][]int
	names  []string
	// argNames are the keys of args, sorted, and the platform ARGs: the
	// names a did-you-mean for a condition chooses from.
	argNames []string
	// suggestions answers did-you-mean questions within a bounded amount
	// of work (see suggester).
	suggestions suggester
}

// Stage is one FROM of the file.
type Stage struct {
	Item *syntax.Item
	// Index counts all stages of the file, live or not, from 0.
	Index int
	// Name is the lower-cased AS name, "" when unnamed.
	Name string
	// Base is the image or stage FROM names, as written.
	Base string
	// Platform is FROM's --platform, as written.
	Platform string
	// Parsed is BuildKit's parse of the FROM, without stagefront's --if=;
	// nil when BuildKit rejects it (the converter then reports it).
	Parsed *instructions.Stage
}

// ArgDecl is one name declared by an ARG instruction.
type ArgDecl struct {
	Item *syntax.Item
	// Global is true before the first FROM.
	Global bool
	KV     instructions.KeyValuePairOptional
}

// itemInfo is what the analysis found about one item.
type itemInfo struct {
	// cond is the item's compiled condition (nil: none, or it failed).
	cond *conditions.Condition
	// arg is the parsed ARG instruction.
	arg *instructions.ArgCommand
	// refs are the stages the item names.
	refs []Ref
	// opens is the branch an IF, ELSE IF or ELSE opens.
	opens *syntax.Branch
}

// Analyze parses dt with BuildKit's parser, finds the extensions and
// builds the model. The returned error is BuildKit's parser error (and the
// File nil), or the ErrorList of every value-independent problem, with
// the File still returned for tools. File keeps dt: do not change it.
func Analyze(name string, dt []byte, opt Options) (*File, error) {
	sf, err := syntax.Parse(name, dt)
	f := &File{Syntax: sf, byName: map[string][]int{}}
	if err != nil {
		el, ok := err.(*syntax.ErrorList)
		if !ok || sf == nil {
			return nil, err
		}
		f.errs.Merge(el)
	}
	if !sf.Extended {
		// A standard file is converted as written. Only a FROM that picks
		// its base with a variable needs a look: when the value is a typo
		// of a stage name, the user gets a did-you-mean, not a pull error.
		f.SelectsByVar = slices.ContainsFunc(sf.Stages, func(it *syntax.Item) bool {
			return it.Node.Next != nil && strings.Contains(it.Node.Next.Value, "$")
		})
	}
	f.info = make([]itemInfo, 1, 1+len(sf.Items)/4)
	f.slot = make([]int32, len(sf.Items))
	f.args = map[string][]ArgDecl{}

	for _, it := range sf.Items {
		if it.Kind == syntax.If {
			// Each block's branches once, from the IF that opens it.
			for _, br := range it.Block.Branches {
				f.note(br.Item).opens = br
			}
		}
		switch {
		case it.Kind == syntax.Instruction:
			f.instruction(it)
		case it.Kind == syntax.Require:
			in := f.note(it)
			for _, a := range it.Args() {
				in.refs = append(in.refs, Ref{Kind: RefRequire, Name: a})
			}
		}
		info := f.of(it)
		if len(info.refs) > 0 {
			f.linked = append(f.linked, it)
		}
		if it.Cond != nil || info.arg != nil || it.Keyword == "from" {
			f.scoped = append(f.scoped, it)
		}
	}
	for i, s := range f.Stages {
		if s.Name != "" {
			if len(f.byName[s.Name]) == 0 {
				f.names = append(f.names, s.Name)
			}
			f.byName[s.Name] = append(f.byName[s.Name], i)
		}
	}
	f.argNames = append(slices.Sorted(maps.Keys(f.args)), AutomaticArgs()...)
	if sf.Extended || f.SelectsByVar || sf.HasVarFlags {
		f.compile(opt)
		f.checkRequireNames()
	}
	return f, f.errs.Err()
}

// Errors are the value-independent problems of the file, sorted by line.
func (f *File) Errors() *syntax.ErrorList { return &f.errs }

// Extended reports whether the file uses extension syntax (blocks,
// --if=, REQUIRE). Whether a stage named by a variable is one depends on
// the values (see syntax.File.HasVarFlags).
func (f *File) Extended() bool { return f.Syntax.Extended }

// Condition returns the compiled condition of it; nil when it has none
// or it did not compile (an error of Errors).
func (f *File) Condition(it *syntax.Item) *conditions.Condition { return f.of(it).cond }

// Arg returns the parsed ARG instruction it, nil for other items.
func (f *File) Arg(it *syntax.Item) *instructions.ArgCommand { return f.of(it).arg }

// Refs returns the stage references of it, in the order written.
func (f *File) Refs(it *syntax.Item) []Ref { return f.of(it).refs }

// Opens returns the branch an IF, ELSE IF or ELSE opens; nil for other
// items and for an ELSE without IF.
func (f *File) Opens(it *syntax.Item) *syntax.Branch { return f.of(it).opens }

// Linked are the items with stage references, in file order.
func (f *File) Linked() []*syntax.Item { return f.linked }

// Scoped are the items a condition's scope depends on or that have a
// condition (FROM, ARG, conditions), in file order.
func (f *File) Scoped() []*syntax.Item { return f.scoped }

// StagesNamed returns the indexes of the stages named name (lower-cased),
// in file order.
func (f *File) StagesNamed(name string) []int { return f.byName[name] }

// StageNames lists the distinct stage names of the file, in file order.
// The slice is the File's: read it, never change it.
func (f *File) StageNames() []string { return f.names }

// StageOf returns the stage an item belongs to; nil before the first FROM.
func (f *File) StageOf(it *syntax.Item) *Stage {
	if it.Stage < 0 || it.Stage >= len(f.Stages) {
		return nil
	}
	return f.Stages[it.Stage]
}

func (f *File) of(it *syntax.Item) *itemInfo { return &f.info[f.slot[it.Index]] }

// note returns the entry of it to write, giving it one on first use; an
// earlier entry pointer may be stale after it.
func (f *File) note(it *syntax.Item) *itemInfo {
	if f.slot[it.Index] == 0 {
		f.slot[it.Index] = int32(len(f.info))
		f.info = append(f.info, itemInfo{})
	}
	return &f.info[f.slot[it.Index]]
}

// instruction reads what the model needs from a Dockerfile instruction
// with BuildKit's own instruction parser. Instructions it rejects are
// left for the converter to report, with upstream's message.
func (f *File) instruction(it *syntax.Item) {
	switch it.Keyword {
	case "copy", "run":
		f.flagRefs(it)
		return
	case "from", "arg":
	default:
		return
	}
	switch c := ParseInstruction(it).(type) {
	case nil:
		if it.Keyword == "from" {
			f.Stages = append(f.Stages, &Stage{Item: it, Index: len(f.Stages)})
		}
	case *instructions.Stage:
		f.Stages = append(f.Stages, &Stage{Item: it, Index: len(f.Stages), Name: c.Name, Base: c.BaseName, Platform: c.Platform, Parsed: c})
		f.note(it).refs = []Ref{{Kind: RefFrom, Name: c.BaseName}}
	case *instructions.ArgCommand:
		f.note(it).arg = c
		for _, kv := range c.Args {
			f.args[kv.Key] = append(f.args[kv.Key], ArgDecl{Item: it, Global: it.Stage < 0, KV: kv})
		}
	}
}

// ParseInstruction parses an item's instruction as BuildKit does, without
// its --if= flag; nil when BuildKit rejects it or it is no instruction.
// `# check=` comments above the instruction are read as upstream reads
// them (BuildKit needs a linter for that, even one that reports nothing).
func ParseInstruction(it *syntax.Item) any {
	if it.Kind != syntax.Instruction {
		return nil
	}
	n := *it.Node
	n.Flags = it.Flags
	v, err := instructions.ParseInstructionWithLinter(&n, silentLinter())
	if err != nil {
		return nil
	}
	return v
}

// silentLinter is a linter that reports nothing: the instruction parser
// needs one to read `# check=` comments, and upstream's conversion
// reports what it finds.
func silentLinter() *linter.Linter { return linter.New(&linter.Config{}) }

// flagRefs reads the stages COPY --from= and RUN --mount=from= name.
func (f *File) flagRefs(it *syntax.Item) {
	for _, fl := range it.Flags {
		if v, ok := strings.CutPrefix(fl, "--from="); ok && it.Keyword == "copy" {
			in := f.note(it)
			in.refs = append(in.refs, Ref{Kind: RefCopy, Name: v})
		}
		if v, ok := strings.CutPrefix(fl, "--mount="); ok && it.Keyword == "run" {
			for _, field := range syntax.MountFields(v) {
				if k, v, _ := strings.Cut(field, "="); strings.EqualFold(k, "from") && v != "" {
					in := f.note(it)
					in.refs = append(in.refs, Ref{Kind: RefMount, Name: v})
				}
			}
		}
	}
}

// Location is the range of lines of an item, as BuildKit's source maps
// want it.
func Location(it *syntax.Item) []parser.Range {
	return []parser.Range{{Start: parser.Position{Line: it.Line}, End: parser.Position{Line: it.EndLine}}}
}

// Slot returns a dense index of the items the analysis noted (those with
// a condition, a stage reference, a parsed ARG or a block branch), from 1
// to NumSlots()-1, for per-item tables that need no entry for the plain
// instructions that make most of a file; 0 for every other item.
func (f *File) Slot(it *syntax.Item) int { return int(f.slot[it.Index]) }

// NumSlots is one more than the largest Slot.
func (f *File) NumSlots() int { return len(f.info) }
