// Package syntax reads an extended Dockerfile with BuildKit's own parser and
// finds stagefront's extensions in it: IF / ELSE IF / ELSE / END blocks,
// --if= guards, REQUIRE and INCLUDE (a file expanded with its fragments
// maps each line to its own file, see File.Origin). It knows nothing of
// values; see package rewrite.
package syntax

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/tonistiigi/go-csvvalue"
)

// MaxDepth is the deepest nesting of IF blocks accepted.
const MaxDepth = 64

// MaxStages is the most stages (FROMs) an extended file may have. Files
// without extensions are converted as written: BuildKit's limits are
// theirs.
const MaxStages = 10000

// Kind says what an item of the file is.
type Kind uint8

// The kinds of items.
const (
	Instruction Kind = iota // a Dockerfile instruction, maybe guarded
	If
	ElseIf
	Else
	End
	Require
	Include
)

var kindNames = map[Kind]string{Instruction: "instruction", If: "IF", ElseIf: "ELSE IF", Else: "ELSE", End: "END", Require: "REQUIRE", Include: "INCLUDE"}

func (k Kind) String() string { return kindNames[k] }

// Cond is a condition as written, with where it was written.
type Cond struct {
	Text string
	// Line is 1-based; Column is the 1-based byte column of the text's
	// first byte in that line, 0 when the text was quoted or spans lines.
	Line, Column int
	// QuotesDropped reports a --if= whose value had quotes inside it that
	// BuildKit's flag parser removed, as in --if=exists("docs"): the
	// likely cause of an error in the condition.
	QuotesDropped bool
}

// Span is a range of bytes within one line, to replace in the output.
type Span struct {
	Line     int // 0-based line index
	From, To int // byte columns
	// Text replaces the range ("" removes it).
	Text string
}

// Item is one instruction or keyword of the file, in file order.
type Item struct {
	// node is BuildKit's node of a FROM, ARG or ENV item; nil for the
	// others (see Node).
	node *parser.Node
	// Index is the item's position in File.Items, for per-item tables.
	Index int
	Kind  Kind
	// Keyword is the instruction lower-cased (from, run, if, require, ...).
	Keyword string
	// Line and EndLine are the 1-based lines the item covers, heredocs and
	// continuations included.
	Line, EndLine int
	// Cond is the condition of IF and ELSE IF, or the --if= guard of an
	// instruction or REQUIRE (nil when there is none).
	Cond *Cond
	// rare holds what few items have (see Strip, VarFlags, Args), so
	// that the many plain instructions of a file stay small.
	rare *rareFields
	// Branch is the innermost IF branch the item is in, nil at top level.
	Branch *Branch
	// LastFrom is the index of the last FROM at or above the item, -1
	// before the first FROM. It is the stage the item belongs to unless a
	// block between them decides which stage is live there: ask
	// analysis.File.Owners, never this field, what stage an item is in.
	LastFrom int
	// Flags are the instruction's --flags as the parser gives them, the
	// --if= flag excluded.
	Flags []string
}

type rareFields struct {
	strip *Span
	// extra holds what even fewer items have: a guard alone needs none.
	extra *extraFields
}

type extraFields struct {
	varFlags []*Span
	args     []string
	// block is the block an IF, ELSE IF, ELSE or END belongs to; opens
	// the branch an IF, ELSE IF or ELSE opens.
	block *Block
	opens *Branch
	// includeFrom is an INCLUDE's --from= named context.
	includeFrom string
}

// keepsNode reports whether an item of keyword keeps its node in a large
// file (see KeepNodesBelow): those the analysis and the rewrite parse as
// BuildKit does. The tools that read the nodes of the others (checks,
// subrequests) get them from File.Nodes, which parses a large file again:
// BuildKit's tree of a file takes many times the memory of the file, and
// a rewrite needs little of it.
func keepsNode(keyword string) bool {
	return keyword == "from" || keyword == "arg" || keyword == "env"
}

// KeepNodesBelow is the size under which a File keeps BuildKit's node of
// every item: 1 MiB, some 20,000 lines, far more than real Dockerfiles,
// whose tools then read the nodes without parsing the file again.
const KeepNodesBelow = 1 << 20

// Node returns BuildKit's node of the item. Every item of a file smaller
// than KeepNodesBelow has it; in a larger file, FROM, ARG and ENV only
// (nil for the others): read them with File.Nodes.
func (it *Item) Node() *parser.Node { return it.node }

// more returns the item's rarest fields, allocating them on first write.
func (it *Item) more() *extraFields {
	if it.rare == nil {
		// Both at once: an item with rare fields but no extra ones has a
		// guard, which allocates its own (see guard).
		both := &struct {
			rare  rareFields
			extra extraFields
		}{}
		both.rare.extra = &both.extra
		it.rare = &both.rare
	}
	if it.rare.extra == nil {
		it.rare.extra = &extraFields{}
	}
	return it.rare.extra
}

// keywordParts is what an IF, ELSE IF, ELSE or END item needs, allocated
// at once: its rare fields, its branch (an END has none) and its
// condition (IF and ELSE IF).
type keywordParts struct {
	rare   rareFields
	extra  extraFields
	branch Branch
	cond   Cond
}

// keywordMore gives a keyword item the rare fields of parts, and returns
// them.
func (it *Item) keywordMore(parts *keywordParts) *extraFields {
	parts.rare.extra = &parts.extra
	it.rare = &parts.rare
	return &parts.extra
}

// Block is the block an IF, ELSE IF, ELSE or END belongs to; nil for
// other items, and for an ELSE or END without IF.
func (it *Item) Block() *Block {
	if it.rare == nil || it.rare.extra == nil {
		return nil
	}
	return it.rare.extra.block
}

// Opens is the branch an IF, ELSE IF or ELSE opens; nil for other items
// and for an ELSE without IF.
func (it *Item) Opens() *Branch {
	if it.rare == nil || it.rare.extra == nil {
		return nil
	}
	return it.rare.extra.opens
}

// Strip is where the --if= flag was written, to remove it; nil when the
// item has none.
func (it *Item) Strip() *Span {
	if it.rare == nil {
		return nil
	}
	return it.rare.strip
}

// VarFlags are the COPY --from= and RUN --mount= flags whose stage name is
// a variable, where they were written and (in Text) their value as the
// parser gives it, for the rewrite to resolve: upstream does not expand
// variables there.
func (it *Item) VarFlags() []*Span {
	if it.rare == nil || it.rare.extra == nil {
		return nil
	}
	return it.rare.extra.varFlags
}

// Args are the stage names of a REQUIRE, and the path of an INCLUDE.
func (it *Item) Args() []string {
	if it.rare == nil || it.rare.extra == nil {
		return nil
	}
	return it.rare.extra.args
}

// Block is one IF ... END chain.
type Block struct {
	Branches []*Branch
	// End is the END item, nil when the block is unclosed (an error).
	End *Item
	// Parent is the branch the block is nested in, nil at top level.
	Parent *Branch
	// HasFrom reports whether the block holds a FROM (it chooses stages).
	HasFrom bool
	// ID numbers the file's blocks from 0, in file order, for per-block
	// tables (File.Blocks counts them).
	ID int
}

// Branch is one arm of a block: IF, ELSE IF or ELSE.
type Branch struct {
	Block *Block
	// Item is the IF, ELSE IF or ELSE line; its Cond is nil for ELSE.
	Item *Item
	// Index is the branch's position in the block, from 0.
	Index int
	// ID numbers the file's branches from 0, in file order, for
	// per-branch tables (File.Branches counts them).
	ID int
	// depth is how many blocks enclose the branch's body.
	depth int
}

// Depth returns how many blocks enclose the branch's body (0 for nil, the
// top level).
func (b *Branch) Depth() int {
	if b == nil {
		return 0
	}
	return b.depth
}

// File is a parsed extended Dockerfile.
type File struct {
	Name string
	// data is the file; ends[i] is the offset just after line i (0-based)
	// and its line ending (see Line).
	data []byte
	ends []int
	// Escape is the file's escape token.
	Escape byte
	Items  []*Item
	// Stages are the FROM items, in file order.
	Stages []*Item
	// Extended reports whether any extension syntax is used (blocks,
	// --if=, REQUIRE). A COPY --from=$X or RUN --mount=from=$X is not
	// counted: it is an extension only where X is an ARG with a value,
	// which the values of a build decide (see HasVarFlags).
	Extended bool
	// HasVarFlags reports whether an instruction names its stage with a
	// variable (see Item.VarFlags).
	HasVarFlags bool
	// Includes reports whether the file has an INCLUDE.
	Includes bool
	// Blocks and Branches count the IF blocks and their branches.
	Blocks, Branches int
	// Warnings are the parser's warnings.
	Warnings []parser.Warning
	// allNodes reports whether every item keeps its node (see
	// KeepNodesBelow).
	allNodes bool
	// Origin, when set, gives the file and line of each line of an
	// expanded file (a Dockerfile and the fragments it INCLUDEs), for the
	// messages that name other lines (see LineRef); nil for one file.
	Origin func(expanded int) (file string, line int)
}

// ParseExpanded reads dt with BuildKit's parser and finds the
// extensions; origin maps the lines of an expanded file back to their own
// files (see File.Origin), nil for a file of its own. The returned error
// is a parser error, or an ErrorList of every structural problem (the
// File is still returned then, for tools).
func ParseExpanded(name string, dt []byte, origin func(expanded int) (file string, line int)) (*File, error) {
	return parse(name, dt, len(dt) < KeepNodesBelow, origin)
}

// parse is ParseExpanded, keeping every item's node or (keepAll false)
// those keepsNode names.
func parse(name string, dt []byte, keepAll bool, origin func(int) (string, int)) (*File, error) {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, parserError(name, dt, err)
	}
	return scan(name, dt, res, keepAll, origin)
}

// instructionFlags are the flags of an instruction whose parsed flags are
// flags, without its --if= guard: Item.Flags of its item. They are flags
// itself when there is no guard.
func instructionFlags(flags []string) []string {
	if !slices.ContainsFunc(flags, isGuardFlag) {
		return flags
	}
	out := make([]string, 0, len(flags)-1)
	for _, fl := range flags {
		if !isGuardFlag(fl) {
			out = append(out, fl)
		}
	}
	return out
}

// scan finds the extensions in res, BuildKit's parse of dt (which it
// does not change).
func scan(name string, dt []byte, res *parser.Result, keepAll bool, origin func(int) (string, int)) (*File, error) {
	f := &File{Name: name, data: dt, ends: lineEnds(dt), Escape: byte(res.EscapeToken), Warnings: res.Warnings}
	var errs ErrorList
	f.allNodes = keepAll
	f.Origin = origin
	p := &parseState{f: f, errs: &errs, stage: -1, slab: make([]Item, len(res.AST.Children))}
	f.Items = make([]*Item, 0, len(res.AST.Children))
	for _, n := range res.AST.Children {
		if !p.item(n) {
			// Work past a fatal error could only report more of it.
			return nil, errs.Err()
		}
	}
	if f.Extended && len(f.Stages) > MaxStages {
		var one ErrorList
		one.Add(name, f.Stages[MaxStages].Line, 0, "this is stage %d; an extended Dockerfile may have at most %d: split the file", MaxStages+1, MaxStages)
		return nil, one.Err()
	}
	for b := p.open; b != nil; b = b.Block.Parent {
		it := b.Block.Branches[0].Item
		errs.Add(name, it.Line, 0, "IF without END: close the block opened here with END")
	}
	return f, errs.Err()
}

// parserError gives an error of BuildKit's parser the line it is about,
// as an ErrorList of one: the parser attaches its location to the error,
// but for a parser directive (# syntax=, # escape=, # check= repeated, a
// bad escape token) and for a line too long for it, that location is the
// line before (it counts the lines read so far). An error without a
// location is returned as it is.
func parserError(name string, dt []byte, err error) error {
	var le *parser.LocationError
	if !errors.As(err, &le) || len(le.Locations) == 0 || len(le.Locations[0]) == 0 {
		return err
	}
	line := le.Locations[0][0].Start.Line
	msg := errors.Unwrap(le)
	if msg == nil {
		return err
	}
	text := msg.Error()
	switch {
	case strings.Contains(text, "parser directive") || strings.HasPrefix(text, "invalid escape token"):
		line++
	case strings.HasPrefix(text, "dockerfile line greater than max allowed size"):
		if l := firstLongLine(dt); l > 0 {
			line = l
		}
	}
	return newErrorList(&Error{File: name, Line: max(line, 1), Msg: text})
}

// firstLongLine returns the 1-based number of the first line longer than
// BuildKit's parser reads (its scanner's buffer, line ending included),
// 0 when there is none.
func firstLongLine(dt []byte) int {
	for n := 1; len(dt) > 0; n++ {
		i := bytes.IndexByte(dt, '\n')
		if i < 0 {
			i = len(dt) - 1
		}
		if i+1 > bufio.MaxScanTokenSize-1 {
			return n
		}
		dt = dt[i+1:]
	}
	return 0
}

// lineEnds returns the offset after every newline of dt, and the end of
// a final line without one.
func lineEnds(dt []byte) []int {
	ends := make([]int, 0, bytes.Count(dt, []byte{'\n'})+1)
	for at := 0; at < len(dt); {
		i := bytes.IndexByte(dt[at:], '\n')
		if i < 0 {
			ends = append(ends, len(dt))
			break
		}
		at += i + 1
		ends = append(ends, at)
	}
	return ends
}

// Nodes returns BuildKit's node of every item, by Item.Index. The items
// of a large file keep only the nodes of FROM, ARG and ENV (see
// Item.Node), so that its analysis takes a fraction of the memory of
// BuildKit's tree: Nodes parses it again then, and the tools that read
// every instruction hold the tree for as long as they need it.
func (f *File) Nodes() ([]*parser.Node, error) {
	if f.allNodes {
		nodes := make([]*parser.Node, len(f.Items))
		for i, it := range f.Items {
			nodes[i] = it.node
		}
		return nodes, nil
	}
	res, err := parser.Parse(bytes.NewReader(f.data))
	if err != nil {
		return nil, parserError(f.Name, f.data, err)
	}
	if len(res.AST.Children) != len(f.Items) {
		return nil, fmt.Errorf("%s: parsed again, the file has %d instructions, not %d", f.Name, len(res.AST.Children), len(f.Items))
	}
	return res.AST.Children, nil
}

// NumLines returns how many lines the file has.
func (f *File) NumLines() int { return len(f.ends) }

// Line returns line i (0-based) as written, with its line ending. The
// bytes are the file's: read them, never change them.
func (f *File) Line(i int) []byte {
	start := 0
	if i > 0 {
		start = f.ends[i-1]
	}
	return f.data[start:f.ends[i]:f.ends[i]]
}

type parseState struct {
	f     *File
	errs  *ErrorList
	open  *Branch
	stage int
	// slab holds every Item, allocated at once.
	slab []Item
	// line, words and wordBuf are scratch space for the item at hand.
	line    logical
	words   []word
	wordBuf []byte
}

func (p *parseState) errorf(line, col int, format string, args ...any) {
	p.errs.Add(p.f.Name, line, col, format, args...)
}

// item reads one instruction; false after a fatal error (see block).
func (p *parseState) item(n *parser.Node) bool {
	// The slab is zeroed: set the fields that are not.
	it := &p.slab[len(p.f.Items)]
	it.Index, it.Keyword, it.Line, it.EndLine, it.LastFrom = len(p.f.Items), lowerKeyword(n.Value), n.StartLine, n.EndLine, p.stage
	if p.open != nil {
		it.Branch = p.open
	}
	switch it.Keyword {
	case "if":
		it.Kind = If
	case "else":
		it.Kind = Else
	case "end":
		it.Kind = End
	case "require":
		it.Kind = Require
	case "include":
		it.Kind = Include
		p.f.Includes = true
	case "from":
		p.stage++
		it.LastFrom = p.stage
		p.f.Stages = append(p.f.Stages, it)
		// The enclosing blocks of a block that holds a FROM hold it too:
		// stop at the first one already marked.
		for b := p.open; b != nil && !b.Block.HasFrom; b = b.Block.Parent {
			b.Block.HasFrom = true
		}
	}
	if p.f.allNodes || keepsNode(it.Keyword) {
		it.node = n
	}
	p.f.Items = append(p.f.Items, it)
	if it.Kind != Instruction {
		p.f.Extended = true
	}
	if it.Kind == Instruction {
		p.misplaced(it, n)
	}
	it.Flags = instructionFlags(n.Flags)
	hasGuard := len(it.Flags) < len(n.Flags)
	varFlag := slices.ContainsFunc(it.Flags, func(f string) bool { return isVarFlag(it.Keyword, f) })
	if it.Kind == Instruction && !hasGuard && !varFlag {
		return true
	}
	l := &p.line
	l.join(p.f, n.StartLine-1, n.EndLine-1)
	words, argsAt, buf := flagWordsIn(p.words[:0], l.text, p.f.Escape, p.wordBuf)
	p.words, p.wordBuf = words, buf
	if varFlag {
		p.f.HasVarFlags = true
		p.varFlags(it, l, words)
	}
	if it.Kind == Instruction && !hasGuard {
		return true
	}
	args := string(bytes.TrimSpace(l.text[argsAt:]))
	switch it.Kind {
	case Instruction, Require, Include:
		p.guard(it, n, l, words)
		switch it.Kind {
		case Require:
			p.require(it, args)
		case Include:
			p.include(it, args)
		}
	case If, Else, End:
		if len(words) > 0 {
			if it.Kind == If {
				p.errorf(it.Line, 0, "IF takes no flags: write the condition after it, as in IF INCLUDE_DOCS")
			} else {
				p.errorf(it.Line, 0, "%s takes no flags and no condition: write ELSE IF <condition> for another branch, and END alone to close the block", strings.ToUpper(it.Keyword))
			}
		}
		return p.block(it, l, argsAt, args)
	}
	return true
}

func isGuardFlag(fl string) bool { return fl == "--if" || strings.HasPrefix(fl, "--if=") }

// argsNotCommand reports the instructions whose arguments are no command
// line, so that an argument --if=... can only be a guard written too late.
func argsNotCommand(keyword string) bool {
	switch keyword {
	case "copy", "add", "from", "workdir", "user", "expose", "volume", "stopsignal":
		return true
	}
	return false
}

// misplaced reports extensions written where this build cannot decide
// them: inside ONBUILD, whose trigger runs in another build (which knows
// nothing of stagefront and would reject it), and a --if= after the
// arguments, which BuildKit takes for an argument.
func (p *parseState) misplaced(it *Item, n *parser.Node) {
	if it.Keyword == "onbuild" && n.Next != nil && len(n.Next.Children) > 0 {
		trigger := n.Next.Children[0]
		switch kw := lowerKeyword(trigger.Value); {
		case slices.ContainsFunc(trigger.Flags, isGuardFlag):
			p.f.Extended = true
			p.errorf(it.Line, 0, "--if= inside ONBUILD would be left in the trigger, which runs in the builds FROM this image, where it is an unknown flag: guard the ONBUILD itself, as in ONBUILD --if=... %s ...", strings.ToUpper(kw))
		case kw == "if" || kw == "else" || kw == "end" || kw == "require" || kw == "include":
			p.f.Extended = true
			p.errorf(it.Line, 0, "ONBUILD %s: a trigger runs in the builds FROM this image, which know no %s; ONBUILD takes a Dockerfile instruction (guard the ONBUILD itself with --if=)", strings.ToUpper(kw), strings.ToUpper(kw))
		}
		return
	}
	if !argsNotCommand(it.Keyword) {
		return
	}
	for a := n.Next; a != nil; a = a.Next {
		if !isGuardFlag(a.Value) {
			continue
		}
		p.f.Extended = true
		line := it.Line
		for i := it.Line - 1; i < it.EndLine && i < p.f.NumLines(); i++ {
			if bytes.Contains(p.f.Line(i), []byte("--if")) {
				line = i + 1
				break
			}
		}
		p.errorf(line, 0, "%s here is an argument of %s, not a guard: BuildKit reads flags only before the arguments; write it right after %s, on its first line", a.Value, strings.ToUpper(it.Keyword), strings.ToUpper(it.Keyword))
		return
	}
}

// lowerKeyword lower-cases an instruction name, without allocating for
// the known names: a compare of the bytes, in any case, with the few names
// of its length.
func lowerKeyword(v string) string {
	if len(v) < len(keywordsByLen) {
		for _, k := range keywordsByLen[len(v)] {
			if equalFoldASCII(v, k) {
				return k
			}
		}
	}
	return strings.ToLower(v)
}

// equalFoldASCII reports whether v is the lower-case ASCII word k in any
// case of its ASCII letters.
func equalFoldASCII(v, k string) bool {
	for i := 0; i < len(k); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != k[i] {
			return false
		}
	}
	return true
}

// keywordsByLen interns the instruction names, stagefront's included, by
// their length; the most frequent first.
var keywordsByLen = func() [len("healthcheck") + 1][]string {
	var t [len("healthcheck") + 1][]string
	for _, k := range []string{"run", "copy", "from", "arg", "env", "workdir", "label", "cmd", "entrypoint", "expose", "user", "add", "volume", "shell", "healthcheck", "onbuild", "stopsignal", "maintainer", "if", "else", "end", "require", "include"} {
		t[len(k)] = append(t[len(k)], k)
	}
	return t
}()

// guard finds the --if= flag of an instruction or REQUIRE.
func (p *parseState) guard(it *Item, n *parser.Node, l *logical, words []word) {
	p.f.Extended = true
	found := 0
	for i, w := range words {
		if w.value != "--if" && !strings.HasPrefix(w.value, "--if=") {
			continue
		}
		// The parser's string of the flag, the same text, is kept
		// anyway: share it.
		if i < len(n.Flags) && n.Flags[i] == w.value {
			w.value = n.Flags[i]
		}
		found++
		if it.Cond != nil {
			p.errorf(it.Line, 0, "more than one --if= flag: join the conditions with && in one --if=")
			continue
		}
		text, ok := strings.CutPrefix(w.value, "--if=")
		if !ok {
			p.errorf(it.Line, 0, "--if needs = and the condition right after it, as in --if=INCLUDE_DOCS (BuildKit reads --if A as a flag without a value, then A as the command)")
			continue
		}
		if strings.TrimSpace(text) == "" {
			p.errorf(it.Line, 0, "empty condition in --if=: write one, as in --if=INCLUDE_DOCS or --if=\"TARGETARCH == 'arm64'\"")
			continue
		}
		fromLine, fromCol := l.position(w.from)
		toLine, toCol := l.position(w.to)
		if fromLine != toLine {
			p.errorf(it.Line, 0, "the --if= flag spans several lines: write it on one line")
			continue
		}
		// Remove the blank that separated it from the next word too, so the
		// instruction reads as if the flag had never been written.
		if line := trimEOL(p.f.Line(toLine)); toCol < len(line) && (line[toCol] == ' ' || line[toCol] == '\t') {
			toCol++
		}
		// One allocation for the three parts of a guard.
		g := &struct {
			rare  rareFields
			strip Span
			cond  Cond
		}{strip: Span{Line: fromLine, From: fromCol, To: toCol}, cond: Cond{Text: text, Line: fromLine + 1}}
		if it.rare != nil {
			g.rare = *it.rare
		}
		g.rare.strip = &g.strip
		it.rare = &g.rare
		if raw := p.f.Line(fromLine)[fromCol:]; bytes.HasPrefix(raw, []byte("--if=")) && bytes.HasPrefix(raw[len("--if="):], []byte(text)) {
			g.cond.Column = fromCol + len("--if=") + 1
		} else if fromLine == toLine {
			g.cond.QuotesDropped = quotesDropped(p.f.Line(fromLine)[fromCol:toCol], text)
		}
		it.Cond = &g.cond
	}
	if want := len(n.Flags) - len(it.Flags); found != want {
		p.errorf(it.Line, 0, "cannot find the --if= flag in the text of this instruction: write it right after the instruction name, on its first line")
	}
}

// quotesDropped reports whether the flag word raw, as written, has
// quotes inside its value that the parsed value text lost (a pair around
// the whole value is the right way to quote it, and is not counted).
func quotesDropped(raw []byte, text string) bool {
	v := bytes.TrimRight(bytes.TrimPrefix(raw, []byte("--if=")), " \t")
	n := bytes.Count(v, []byte{'\''}) + bytes.Count(v, []byte{'"'})
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		n -= 2
	}
	return strings.Count(text, "'")+strings.Count(text, `"`) < n
}

// cutWord splits s at its first run of blanks.
func cutWord(s string) (word, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isSeparator(byte(r)) })
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// isVarFlag reports whether flag names its stage with a variable:
// COPY --from=$X, or RUN --mount=...,from=$X,...
func isVarFlag(keyword, flag string) bool {
	switch {
	case keyword == "copy" && strings.HasPrefix(flag, "--from="):
		return strings.Contains(flag, "$")
	case keyword == "run" && strings.HasPrefix(flag, "--mount="):
		for _, f := range MountFields(strings.TrimPrefix(flag, "--mount=")) {
			if k, v, _ := strings.Cut(f, "="); strings.EqualFold(k, "from") && strings.Contains(v, "$") {
				return true
			}
		}
	}
	return false
}

// varFlags records where the flags isVarFlag picks were written. A flag
// the text scan cannot place on one line is left for the converter to
// report.
func (p *parseState) varFlags(it *Item, l *logical, words []word) {
	for _, w := range words {
		if !isVarFlag(it.Keyword, w.value) {
			continue
		}
		fromLine, fromCol := l.position(w.from)
		toLine, toCol := l.position(w.to)
		if fromLine == toLine {
			it.more().varFlags = append(it.more().varFlags, &Span{Line: fromLine, From: fromCol, To: toCol, Text: w.value})
		}
	}
}

// MountFields splits the value of a --mount flag into its key=value
// fields, as BuildKit does.
func MountFields(v string) []string {
	fields, err := csvvalue.Fields(v, nil)
	if err != nil {
		return nil
	}
	return fields
}

// require reads the stage names of a REQUIRE.
// include reads the path and the named context of an INCLUDE.
func (p *parseState) include(it *Item, args string) {
	// An INCLUDE with a mistake keeps no path: it reads nothing.
	bad := false
	for _, fl := range it.Flags {
		if v, ok := strings.CutPrefix(fl, "--from="); ok {
			if v == "" {
				bad = true
				p.errorf(it.Line, 0, "INCLUDE --from= names no context: write the name of a build context, as in INCLUDE --from=fragments go/builder.Dockerfile, or leave --from out to include from the Dockerfile's own directory")
			}
			if it.more().includeFrom != "" {
				bad = true
				p.errorf(it.Line, 0, "INCLUDE takes one --from=")
			}
			it.more().includeFrom = v
			continue
		}
		name, _, _ := strings.Cut(fl, "=")
		bad = true
		p.errorf(it.Line, 0, "INCLUDE does not take %s: its flags are --if=<condition> and --from=<named context>", name)
	}
	switch paths := strings.Fields(args); len(paths) {
	case 0:
		p.errorf(it.Line, 0, "INCLUDE names no file: write the path of a fragment, relative to this file's directory, as in INCLUDE stages/builder.Dockerfile")
	case 1:
		if !bad {
			it.more().args = paths
		}
	default:
		p.errorf(it.Line, 0, "INCLUDE takes one path, got %d: write one INCLUDE per fragment", len(paths))
	}
}

// IncludePath is the path an INCLUDE names, as written ("" for other
// items).
func (it *Item) IncludePath() string {
	if it.Kind != Include || len(it.Args()) != 1 {
		return ""
	}
	return it.Args()[0]
}

// IncludeFrom is the named context of an INCLUDE --from=, "" when none.
func (it *Item) IncludeFrom() string {
	if it.rare == nil || it.rare.extra == nil {
		return ""
	}
	return it.rare.extra.includeFrom
}

func (p *parseState) require(it *Item, args string) {
	if p.stage < 0 {
		p.errorf(it.Line, 0, "REQUIRE before the first FROM: put it inside the stage that needs the other stages to pass")
	}
	it.more().args = strings.Fields(args)
	if len(it.Args()) == 0 {
		p.errorf(it.Line, 0, "REQUIRE names no stage: write the stages that must pass, as in REQUIRE test lint")
	}
}

// block handles IF, ELSE [IF] and END; false when the IF nests deeper
// than MaxDepth, which is fatal.
func (p *parseState) block(it *Item, l *logical, argsAt int, args string) bool {
	switch it.Kind {
	case If:
		if depth := p.open.Depth() + 1; depth > MaxDepth {
			p.errorf(it.Line, 0, "IF blocks nest %d deep; the limit is %d: flatten them with && or ELSE IF", depth, MaxDepth)
			return false
		}
		// The block, with room for the branches of an IF, ELSE IF, ELSE
		// chain, and the IF's own parts, in one allocation.
		ifParts := &struct {
			keywordParts
			block    Block
			branches [3]*Branch
		}{}
		b := &ifParts.block
		*b = Block{Parent: p.open, ID: p.f.Blocks, Branches: ifParts.branches[:0]}
		p.f.Blocks++
		p.openBranch(b, it, &ifParts.keywordParts)
		it.Cond = p.condition(it, l, argsAt, args, &ifParts.cond)
	case Else:
		if p.open == nil {
			p.errorf(it.Line, 0, "%s without IF: open a block with IF <condition> first", strings.ToUpper(it.Keyword))
			return true
		}
		parts := &keywordParts{}
		last := p.open.Block.Branches[len(p.open.Block.Branches)-1].Item
		b := p.open.Block
		p.open = b.Parent
		if kw, rest := cutWord(args); strings.EqualFold(kw, "if") && rest != "" {
			it.Kind = ElseIf
			ifAt := indexFoldIf(l.text[argsAt:]) + argsAt + 2
			it.Cond = p.condition(it, l, ifAt, strings.TrimSpace(rest), &parts.cond)
		} else if strings.EqualFold(kw, "if") {
			it.Kind = ElseIf
			it.Cond = p.condition(it, l, len(l.text), "", &parts.cond)
		} else if args != "" {
			p.errorf(it.Line, 0, "unexpected %q after ELSE: write ELSE IF <condition>, or ELSE alone", args)
		}
		if last.Kind == Else {
			p.errorf(it.Line, 0, "%s after ELSE (%s): the ELSE branch must come last", kindNames[it.Kind], p.f.LineRef(last.Line))
		}
		p.openBranch(b, it, parts)
	case End:
		if args != "" && !strings.EqualFold(args, "if") {
			p.errorf(it.Line, 0, "unexpected %q after END: END closes the innermost IF and takes nothing", args)
		}
		if p.open == nil {
			p.errorf(it.Line, 0, "END without IF: remove it, or open a block with IF <condition>")
			return true
		}
		b := p.open.Block
		it.keywordMore(&keywordParts{}).block = b
		b.End = it
		p.open = b.Parent
	}
	return true
}

// indexFoldIf is the offset of the first "if", in any case, in text (-1
// for none): strings.Index(strings.ToLower(string(text)), "if") without
// the copies, for text that is ASCII up to it.
func indexFoldIf(text []byte) int {
	for i := 0; i+1 < len(text); i++ {
		if c := text[i]; c >= 0x80 {
			// ToLower may change the length of what comes before.
			return strings.Index(strings.ToLower(string(text)), "if")
		} else if c|0x20 == 'i' && text[i+1]|0x20 == 'f' {
			return i
		}
	}
	return -1
}

func (p *parseState) openBranch(b *Block, it *Item, parts *keywordParts) {
	br := &parts.branch
	*br = Branch{Block: b, Item: it, Index: len(b.Branches), ID: p.f.Branches, depth: b.Parent.Depth() + 1}
	p.f.Branches++
	b.Branches = append(b.Branches, br)
	more := it.keywordMore(parts)
	more.block = b
	more.opens = br
	p.open = br
}

// condition records the condition text of an IF or ELSE IF, which starts
// at offset at of the joined line.
func (p *parseState) condition(it *Item, l *logical, at int, text string, c *Cond) *Cond {
	*c = Cond{Text: text, Line: it.Line}
	if text == "" {
		p.errorf(it.Line, 0, "empty condition: write one after %s, as in %s INCLUDE_DOCS", strings.ToUpper(it.Keyword), kindNames[it.Kind])
		return c
	}
	for at < len(l.text) && isBlank(l.text[at]) {
		at++
	}
	if line, col := l.position(at); line == it.Line-1 && bytes.HasPrefix(p.f.Line(line)[col:], []byte(text)) {
		c.Column = col + 1
	}
	return c
}

// Describe renders an item's condition for messages, as in
// "IF BUILD_ENV == 'dev' (line 12)".
func (f *File) Describe(it *Item) string {
	at := f.LineRef(it.Line)
	switch {
	case it.Kind == If || it.Kind == ElseIf:
		return fmt.Sprintf("%s %s (%s)", kindNames[it.Kind], it.Cond.Text, at)
	case it.Kind == Else:
		return fmt.Sprintf("ELSE (%s)", at)
	case it.Cond != nil:
		return fmt.Sprintf("--if=%s (%s)", it.Cond.Text, at)
	}
	return at
}

// LineRef names line n for a message: "line 12"; in an expanded file
// (see Origin), a fragment's line is "line 3 of stages/build.Dockerfile".
func (f *File) LineRef(n int) string {
	if f.Origin != nil {
		file, l := f.Origin(n)
		if file != f.Name {
			return fmt.Sprintf("line %d of %s", l, file)
		}
		n = l
	}
	return fmt.Sprintf("line %d", n)
}

// Data returns the file as parsed. The bytes are the caller's: read them,
// never change them.
func (f *File) Data() []byte { return f.data }
