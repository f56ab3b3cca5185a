// Package analysis is the value-independent model of an extended
// Dockerfile, computed once per file and read by everything else: its
// items (package syntax), their compiled conditions, the ARG declarations
// and the scope each condition reads, the stages and the stages each line
// may belong to (Owners), every stage reference with the instruction it
// sits in, and the one stage graph (FROM, COPY --from, RUN --mount from=,
// REQUIRE) with its queries.
//
// Package rewrite evaluates a File for the values of one build and writes
// the standard Dockerfile; the checks (package lint), the gateway's
// subrequests and copy-error explanations, and the CLI read the same File
// instead of parsing the original again.
package analysis

import (
	"context"
	"maps"
	"runtime"
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
	// a compiler) of their own; 0 means defaultConditionsPerWorker.
	ConditionsPerWorker int
	// Origin gives the file and line of each line of an expanded file (a
	// Dockerfile and the fragments it INCLUDEs), for messages; nil for a
	// file of its own (see syntax.File.Origin).
	Origin func(expanded int) (file string, line int)
}

// defaultConditionsPerWorker is Options.ConditionsPerWorker's default.
const defaultConditionsPerWorker = 256

// collectAfterParse is the smallest file after whose parse Analyze
// collects garbage (see there): the size from which its items keep few
// of BuildKit's nodes, so that the tree is garbage.
const collectAfterParse = syntax.KeepNodesBelow

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
	// refs are the stage references of each linked item, in the order of
	// linked.
	refs [][]Ref
	// joins are the runs of items whose stage the branches above them
	// decide, in file order (see Owners).
	joins []Join
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

// itemInfo is what the analysis found about one item. A file of guarded
// lines has one per line: keep it small.
type itemInfo struct {
	// cond is the item's compiled condition (nil: none, or it failed).
	cond *conditions.Condition
	// arg is the parsed ARG instruction.
	arg *instructions.ArgCommand
	// link is 1 + the item's position in linked (and in refs), 0 when it
	// names no stage.
	link int32
}

// Analyze parses dt with BuildKit's parser, finds the extensions and
// builds the model. The returned error is BuildKit's parser error (and the
// File nil), or the ErrorList of every value-independent problem, with
// the File still returned for tools. File keeps dt: do not change it.
//
// A cancelled ctx stops the analysis between its steps (BuildKit's parse
// of the file is one step) and returns context.Cause(ctx).
func Analyze(ctx context.Context, name string, dt []byte, opt Options) (*File, error) {
	return analyzeFile(ctx, name, dt, opt, len(dt) >= collectAfterParse)
}

// analyzeFile is Analyze, for a large file (see collectAfterParse) or not.
func analyzeFile(ctx context.Context, name string, dt []byte, opt Options, large bool) (*File, error) {
	sf, err := syntax.ParseExpanded(name, dt, opt.Origin)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if large {
		// BuildKit's tree of the file, which the items keep little of, is
		// garbage now, and several times the size of what is left: collect
		// it before the conditions' garbage piles on it (the collector
		// would wait for the heap to double what the tree made it).
		runtime.GC()
	}
	return analyzeParsed(ctx, sf, err, opt, large, len(dt))
}

// analyzeParsed is the analysis of sf, the parse of a file of size bytes
// (err the parse's error: nil, or an ErrorList with sf). It does not
// change sf.
func analyzeParsed(ctx context.Context, sf *syntax.File, err error, opt Options, large bool, size int) (*File, error) {
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
			return it.Node().Next != nil && strings.Contains(it.Node().Next.Value, "$")
		})
	}
	// One entry per item that may be noted, allocated at once: a file of
	// guarded lines notes every line, and growing the table by doubling
	// would make the analysis' peak memory half again as large.
	noted := 1
	for _, it := range sf.Items {
		if it.Kind != syntax.Instruction || it.Cond != nil || it.Keyword == "from" || it.Keyword == "arg" ||
			((it.Keyword == "copy" || it.Keyword == "run") && len(it.Flags) > 0) {
			noted++
		}
	}
	f.info = make([]itemInfo, 1, noted)
	f.slot = make([]int32, len(sf.Items))
	f.args = map[string][]ArgDecl{}

	for _, it := range sf.Items {
		switch {
		case it.Kind == syntax.Instruction:
			f.instruction(it)
		case it.Kind == syntax.Require:
			var refs []Ref
			for _, a := range it.Args() {
				refs = append(refs, Ref{Kind: RefRequire, Name: a})
			}
			f.link(it, refs)
		}
		info := f.of(it)
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
	if sf.Blocks > 0 {
		f.findJoins()
	}
	f.argNames = append(slices.Sorted(maps.Keys(f.args)), AutomaticArgs()...)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if sf.Extended || f.SelectsByVar || sf.HasVarFlags {
		if err := f.compile(ctx, opt, large, size); err != nil {
			return nil, err
		}
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
func (f *File) Refs(it *syntax.Item) []Ref {
	if l := f.of(it).link; l > 0 {
		return f.refs[l-1]
	}
	return nil
}

// link records the stage references of it (none: nothing to record).
func (f *File) link(it *syntax.Item, refs []Ref) {
	if len(refs) == 0 {
		return
	}
	f.note(it).link = int32(len(f.linked)) + 1
	f.linked = append(f.linked, it)
	f.refs = append(f.refs, refs)
}

// Opens returns the branch an IF, ELSE IF or ELSE opens; nil for other
// items and for an ELSE without IF.
func (f *File) Opens(it *syntax.Item) *syntax.Branch { return it.Opens() }

// Linked are the items with stage references, in file order.
func (f *File) Linked() []*syntax.Item { return f.linked }

// LinkIndex returns the position of it in Linked, for per-reference
// tables; -1 when it has no stage references.
func (f *File) LinkIndex(it *syntax.Item) int { return int(f.of(it).link) - 1 }

// Scoped are the items a condition's scope depends on or that have a
// condition (FROM, ARG, conditions), in file order.
func (f *File) Scoped() []*syntax.Item { return f.scoped }

// StagesNamed returns the indexes of the stages named name (lower-cased),
// in file order.
func (f *File) StagesNamed(name string) []int { return f.byName[name] }

// StageNames lists the distinct stage names of the file, in file order.
// The slice is the File's: read it, never change it.
func (f *File) StageNames() []string { return f.names }

// StageOf returns the stage an item belongs to whatever the branches
// decide (a FROM is its own); nil before the first FROM, or when the
// branches above it decide (see Owners).
func (f *File) StageOf(it *syntax.Item) *Stage {
	s, ok := f.Owner(it)
	if !ok || s < 0 || s >= len(f.Stages) {
		return nil
	}
	return f.Stages[s]
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
		f.link(it, []Ref{{Kind: RefFrom, Name: c.BaseName}})
	case *instructions.ArgCommand:
		f.note(it).arg = c
		for _, kv := range c.Args {
			f.args[kv.Key] = append(f.args[kv.Key], ArgDecl{Item: it, Global: it.LastFrom < 0, KV: kv})
		}
	}
}

// ParseInstruction parses an item's instruction as BuildKit does, without
// its --if= flag; nil when BuildKit rejects it or it is no instruction,
// or the item keeps no node (see syntax.Item.Node: FROM, ARG and ENV do).
// `# check=` comments above the instruction are read as upstream reads
// them (BuildKit needs a linter for that, even one that reports nothing).
func ParseInstruction(it *syntax.Item) any { return parseInstructionNode(it, it.Node()) }

// parseInstructionNode is ParseInstruction for an item whose node the
// item does not keep: node is the item's, as syntax.File.Nodes gives it.
func parseInstructionNode(it *syntax.Item, node *parser.Node) any {
	if it.Kind != syntax.Instruction || node == nil {
		return nil
	}
	n := *node
	n.Flags = it.Flags
	v, err := instructions.ParseInstructionWithLinter(&n, silent)
	if err != nil {
		return nil
	}
	return v
}

// silent is a linter that reports nothing: the instruction parser needs
// one to read `# check=` comments, and upstream's conversion reports what
// it finds. One serves every parse, concurrently: without a Warn function
// it records nothing (Linter.Run returns first), and the parser merges
// the comments' configuration into a copy of it.
var silent = linter.New(&linter.Config{})

// flagRefs reads the stages COPY --from= and RUN --mount=from= name.
func (f *File) flagRefs(it *syntax.Item) {
	var refs []Ref
	for _, fl := range it.Flags {
		if v, ok := strings.CutPrefix(fl, "--from="); ok && it.Keyword == "copy" {
			refs = append(refs, Ref{Kind: RefCopy, Name: v})
		}
		if v, ok := strings.CutPrefix(fl, "--mount="); ok && it.Keyword == "run" {
			for _, field := range syntax.MountFields(v) {
				if k, v, _ := strings.Cut(field, "="); strings.EqualFold(k, "from") && v != "" {
					refs = append(refs, Ref{Kind: RefMount, Name: v})
				}
			}
		}
	}
	f.link(it, refs)
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
