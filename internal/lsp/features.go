package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/didyoumean"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// requests are the requests the server answers, by method.
var requests = map[string]func(s *server, ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error{
	protocol.MethodTextDocumentHover:          positional((*server).hover),
	protocol.MethodTextDocumentDefinition:     positional((*server).definition),
	protocol.MethodTextDocumentReferences:     positional((*server).references),
	protocol.MethodTextDocumentCompletion:     positional((*server).completion),
	protocol.MethodTextDocumentDocumentSymbol: ofDocument((*server).symbols),
	protocol.MethodTextDocumentFoldingRange:   ofDocument((*server).folding),
	protocol.MethodTextDocumentCodeAction:     (*server).codeActions,
}

// at is the place of a request: a position of an open document.
type at struct {
	snap *snapshot
	// line is 1-based, col the byte column in it.
	line, col int
	// it is the document's own item there (nil when none).
	it *syntax.Item
	// word is the word at the position, from..to its byte columns.
	word     string
	from, to int
}

func positional(f func(s *server, a at) (any, error)) func(*server, context.Context, jsonrpc2.Replier, jsonrpc2.Request) error {
	return func(s *server, ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		var p protocol.TextDocumentPositionParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		snap := s.current(ctx, pathOf(p.TextDocument.URI))
		if snap == nil {
			return reply(ctx, nil, nil)
		}
		a := at{snap: snap, line: int(p.Position.Line) + 1, col: snap.text.byteCol(p.Position)}
		if snap.own != nil {
			a.it = itemAt(snap.own.Syntax, a.line)
		}
		a.word, a.from, a.to = snap.text.wordAt(a.line, a.col)
		res, err := f(s, a)
		return reply(ctx, res, err)
	}
}

func ofDocument(f func(s *server, snap *snapshot) (any, error)) func(*server, context.Context, jsonrpc2.Replier, jsonrpc2.Request) error {
	return func(s *server, ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		var p struct {
			TextDocument protocol.TextDocumentIdentifier `json:"textDocument"`
		}
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		snap := s.current(ctx, pathOf(p.TextDocument.URI))
		if snap == nil || snap.own == nil {
			return reply(ctx, nil, nil)
		}
		res, err := f(s, snap)
		return reply(ctx, res, err)
	}
}

// --- what a word is -------------------------------------------------------

// inCondition reports whether the position is in the condition of its
// item (an IF, ELSE IF, or --if=).
func (a at) inCondition() bool {
	if a.it == nil || a.it.Cond == nil {
		return false
	}
	c := a.it.Cond
	if c.Column > 0 && c.Line == a.line {
		return a.col >= c.Column-1 && a.col <= c.Column-1+len(c.Text)
	}
	// Quoted or on several lines: the words of the text.
	return strings.Contains(c.Text, a.word) && a.word != ""
}

// isArg reports whether the word names an ARG there: in a condition, in
// an ARG, or after $.
func (a at) isArg() bool {
	if a.word == "" || a.snap.own == nil || !slices.Contains(a.snap.own.ReadableNames(), a.word) {
		return false
	}
	if a.inCondition() || a.it != nil && a.it.Keyword == "arg" {
		return true
	}
	l := a.snap.text.line(a.line - 1)
	return a.from > 0 && (l[a.from-1] == '$' || a.from > 1 && l[a.from-1] == '{' && l[a.from-2] == '$')
}

// stageRef returns the stage reference of the item at the word, with
// the kind of the reference; ok false when the word names no stage.
func (a at) stageRef() (kind analysis.RefKind, name string, ok bool) {
	if a.it == nil || a.word == "" || a.snap.own == nil {
		return 0, "", false
	}
	name = strings.ToLower(a.word)
	if a.it.Keyword == "from" {
		if st := a.snap.own.StageOf(a.it); st != nil && st.Name == name {
			return analysis.RefFrom, name, true // the stage's own name
		}
	}
	for _, r := range a.snap.own.Refs(a.it) {
		if strings.ToLower(r.Name) == name && !r.HasVariable() {
			return r.Kind, name, true
		}
	}
	return 0, "", false
}

// isKeyword reports whether the word is the item's instruction keyword.
func (a at) isKeyword() bool {
	return a.it != nil && a.line == a.it.Line && strings.EqualFold(a.word, a.it.Keyword) &&
		len(bytes.TrimLeft(a.snap.text.line(a.line-1), " \t")) == len(a.snap.text.line(a.line-1))-a.from
}

// --- hover ----------------------------------------------------------------

func (s *server) hover(a at) (any, error) {
	var md string
	switch {
	case a.it == nil:
		return nil, nil
	case a.it.Kind == syntax.Include:
		md = a.snap.includeHover(a.it)
	case a.isArg():
		md = s.argHover(a)
	default:
		if _, name, ok := a.stageRef(); ok {
			md = a.snap.stageHover(name, a.it)
		} else if a.it.Kind == syntax.Require {
			md = a.snap.requireHover(a.it)
		} else if a.isKeyword() && a.it.Kind == syntax.Instruction && a.it.Keyword != "from" {
			md = a.snap.ownerHover(a.it)
		}
	}
	if md == "" {
		return nil, nil
	}
	r := a.snap.text.span(a.line, a.from, a.to)
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: md}, Range: &r}, nil
}

func (s *server) argHover(a at) string {
	name := a.word
	var b strings.Builder
	fmt.Fprintf(&b, "**ARG %s**", name)
	if analysis.IsAutomatic(name) {
		b.WriteString(" — set by BuildKit for the platform")
	}
	var flag *rewrite.Flag
	if a.snap.rw != nil {
		for i := range a.snap.rw.Flags {
			if a.snap.rw.Flags[i].Name == name {
				flag = &a.snap.rw.Flags[i]
			}
		}
	}
	if flag == nil {
		// Not read by a condition on the target's path, or no rewrite:
		// its declaration.
		if d := a.snap.own.Declaration(a.it, name); d != nil {
			if d.KV.Value != nil {
				fmt.Fprintf(&b, "\n\ndefault: `%s`", *d.KV.Value)
			}
			fmt.Fprintf(&b, "\n\ndeclared at line %d", d.Item.Line)
		}
		return b.String()
	}
	if flag.Doc != "" {
		fmt.Fprintf(&b, "\n\n%s", flag.Doc)
	}
	b.WriteString("\n\n")
	if flag.Line > 0 {
		fmt.Fprintf(&b, "default: `%s` · ", flag.Default)
	}
	s.mu.Lock()
	_, given := s.settings.BuildArgs[name]
	s.mu.Unlock()
	switch {
	case !flag.Defined:
		b.WriteString("in this build: unset")
	case given:
		fmt.Fprintf(&b, "in this build: `%s` (build arg)", flag.Value)
	default:
		fmt.Fprintf(&b, "in this build: `%s`", flag.Value)
	}
	if len(flag.Guards) > 0 {
		var parts []string
		for _, g := range flag.Guards {
			if g.From == g.To {
				parts = append(parts, a.snap.rw.LineRef(g.From))
			} else {
				parts = append(parts, a.snap.rw.LineRef(g.From)+" to "+a.snap.rw.LineRef(g.To))
			}
		}
		fmt.Fprintf(&b, "\n\nguards: %s", strings.Join(parts, ", "))
	}
	if flag.Line > 0 {
		fmt.Fprintf(&b, "\n\ndeclared at %s", a.snap.rw.LineRef(flag.Line))
	}
	return b.String()
}

// stageHover describes the stage name names, as the reference at it
// resolves it.
func (snap *snapshot) stageHover(name string, it *syntax.Item) string {
	f, idx := snap.resolveStage(name, it)
	if f == nil {
		return ""
	}
	st := f.Stages[idx]
	var b strings.Builder
	line := st.Item.Line
	where := fmt.Sprintf("line %d", line)
	if f != snap.own {
		where = snap.rw.LineRef(line)
	}
	fmt.Fprintf(&b, "**stage %s** — %s\n\n", name, where)
	if len(f.StagesNamed(strings.ToLower(st.Base))) > 0 {
		fmt.Fprintf(&b, "built on stage `%s`", st.Base)
	} else {
		fmt.Fprintf(&b, "base image: `%s`", st.Base)
	}
	if st.Platform != "" {
		fmt.Fprintf(&b, " · --platform=%s", st.Platform)
	}
	if snap.rw == nil || f != snap.rw.Analysis {
		return b.String() // no stage of the rewrite to describe
	}
	for _, rs := range snap.rw.Stages {
		if rs.Index != idx {
			continue
		}
		if rs.Live {
			b.WriteString("\n\nin this build")
		} else {
			fmt.Fprintf(&b, "\n\nnot in this build: %s", rs.OffBy)
		}
		if len(rs.Conditions) > 0 {
			fmt.Fprintf(&b, "\n\nwhen: %s", strings.Join(rs.Conditions, " and "))
		}
		if len(rs.Requires) > 0 {
			var gates []string
			for _, r := range rs.Requires {
				gates = append(gates, fmt.Sprintf("%s (%s)", r.Stage, snap.rw.LineRef(r.Line)))
			}
			fmt.Fprintf(&b, "\n\ngates (REQUIRE): %s", strings.Join(gates, ", "))
		}
	}
	return b.String()
}

// resolveStage finds the stage a reference at own item it names: in the
// rewrite's file (fragments included) when there is one, else in the
// file alone. It returns that file and the stage's index.
func (snap *snapshot) resolveStage(name string, it *syntax.Item) (*analysis.File, int) {
	f, item := snap.own, it
	if ei := snap.expanded(it.Line); ei != nil {
		f, item = snap.rw.Analysis, ei
	}
	kind := analysis.RefCopy
	for _, r := range f.Refs(item) {
		if strings.ToLower(r.Name) == name {
			kind = r.Kind
		}
	}
	at := item.LastFrom
	if item.Kind == syntax.Instruction && item.Keyword == "from" {
		if st := f.StageOf(item); st != nil {
			if st.Name == name && strings.ToLower(st.Base) != name {
				return f, st.Index // the stage's own name
			}
			at = st.Index
		}
	}
	if kind == analysis.RefFrom {
		at = max(at, 0)
	}
	var alive func(int) bool
	if f != snap.own && snap.rw != nil {
		alive = snap.rw.StageLive
	}
	found := f.Resolve(nil, kind, name, at, alive)
	if len(found) == 0 && alive != nil {
		found = f.Resolve(nil, kind, name, at, nil)
	}
	if len(found) == 0 {
		return nil, 0
	}
	return f, found[len(found)-1]
}

// ownerHover says which stage an instruction belongs to: the one the
// analysis names whatever the branches decide, or those they choose from,
// and the one of this build.
func (snap *snapshot) ownerHover(it *syntax.Item) string {
	f := snap.own
	stageName := func(f *analysis.File, i int, line int) string {
		st := f.Stages[i]
		name := st.Name
		if name == "" {
			name = fmt.Sprintf("stage %d", st.Index)
		}
		return fmt.Sprintf("`%s` (%s)", name, snap.lineRefIn(f, line))
	}
	var b strings.Builder
	if owner, ok := f.Owner(it); ok {
		if owner < 0 {
			return ""
		}
		fmt.Fprintf(&b, "in stage %s", stageName(f, owner, f.Stages[owner].Item.Line))
	} else {
		var j analysis.Join
		for _, jj := range f.Joins() {
			if jj.First.Line <= it.Line && it.Line <= jj.Last.EndLine {
				j = jj
			}
		}
		fmt.Fprintf(&b, "continues the stage the branches above leave live: %s", joinName(f, j))
	}
	if ei := snap.expanded(it.Line); ei != nil && snap.rw != nil {
		if o := snap.rw.Owner(ei); o >= 0 {
			fmt.Fprintf(&b, "\n\nin this build: %s", stageName(snap.rw.Analysis, o, snap.rw.Analysis.Stages[o].Item.Line))
		} else {
			b.WriteString("\n\nnot in this build")
		}
	}
	return b.String()
}

func (snap *snapshot) requireHover(it *syntax.Item) string {
	var parts []string
	for _, name := range it.Args() {
		n := strings.ToLower(name)
		f, idx := snap.resolveStage(n, it)
		if f == nil {
			parts = append(parts, fmt.Sprintf("`%s` (no such stage)", name))
			continue
		}
		parts = append(parts, fmt.Sprintf("`%s` (%s)", name, snap.lineRefIn(f, f.Stages[idx].Item.Line)))
	}
	return fmt.Sprintf("**REQUIRE** builds %s with the stages that need this one: if any fails, the build fails.", strings.Join(parts, ", "))
}

// lineRefIn names line n of f, the file alone or the rewrite's.
func (snap *snapshot) lineRefIn(f *analysis.File, n int) string {
	if f == snap.own || snap.rw == nil {
		return fmt.Sprintf("line %d", n)
	}
	return snap.rw.LineRef(n)
}

func (snap *snapshot) includeHover(it *syntax.Item) string {
	p, ok := snap.includeTarget(it)
	if !ok {
		return fmt.Sprintf("**INCLUDE** `%s`: its path depends on build args with no value here", it.IncludePath())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**INCLUDE** `%s`", it.IncludePath())
	if from := it.IncludeFrom(); from != "" {
		fmt.Fprintf(&b, " from context `%s`", from)
	}
	fmt.Fprintf(&b, "\n\n%s", p)
	if dt, err := os.ReadFile(p); err == nil {
		fmt.Fprintf(&b, " (%d lines)", strings.Count(string(dt), "\n"))
	} else {
		b.WriteString(" (not found)")
	}
	if snap.rw != nil && !snap.included(it) {
		b.WriteString("\n\nnot in this build: the INCLUDE is off for these build args")
	}
	return b.String()
}

// includeTarget is the path on disk an INCLUDE of the file names, its
// variables expanded as the rewrite expanded them.
func (snap *snapshot) includeTarget(it *syntax.Item) (string, bool) {
	p := it.IncludePath()
	if snap.rw != nil {
		if ei := snap.expanded(it.Line); ei != nil {
			for _, inc := range snap.rw.Includes {
				if inc.Item == ei {
					p = inc.Path
				}
			}
		}
	}
	if strings.Contains(p, "$") {
		return "", false
	}
	d, ok := snap.fragDirs[it.IncludeFrom()]
	if !ok {
		return "", false
	}
	return filepath.Join(d, filepath.FromSlash(p)), true
}

// included reports whether the INCLUDE it of the file is live.
func (snap *snapshot) included(it *syntax.Item) bool {
	ei := snap.expanded(it.Line)
	for _, inc := range snap.rw.Includes {
		if inc.Item == ei {
			return true
		}
	}
	return false
}

// --- definition and references ----------------------------------------------

func (s *server) definition(a at) (any, error) {
	switch {
	case a.it == nil:
		return nil, nil
	case a.it.Kind == syntax.Include:
		if p, ok := a.snap.includeTarget(a.it); ok {
			return []protocol.Location{{URI: uriOf(p)}}, nil
		}
	case a.isArg():
		if loc, ok := a.snap.argDeclaration(a); ok {
			return []protocol.Location{loc}, nil
		}
	default:
		if _, name, ok := a.stageRef(); ok {
			if f, idx := a.snap.resolveStage(name, a.it); f != nil {
				return []protocol.Location{s.location(a.snap, f, f.Stages[idx].Item.Line)}, nil
			}
		} else if a.it.Kind == syntax.Require && a.word != "" {
			if f, idx := a.snap.resolveStage(strings.ToLower(a.word), a.it); f != nil {
				return []protocol.Location{s.location(a.snap, f, f.Stages[idx].Item.Line)}, nil
			}
		}
	}
	return nil, nil
}

// location is line n of f (the file alone, or the rewrite's expanded
// file), in its own file.
func (s *server) location(snap *snapshot, f *analysis.File, n int) protocol.Location {
	p, line := snap.path, n
	if f != snap.own {
		p, line = snap.where(n)
	}
	t := snap.text
	if p != snap.path {
		t = s.textOf(p)
	}
	r := protocol.Range{Start: protocol.Position{Line: uint32(line - 1)}, End: protocol.Position{Line: uint32(line - 1)}}
	if t != nil {
		r = t.lineRange(line, line)
	}
	return protocol.Location{URI: uriOf(p), Range: r}
}

// textOf is the text of a file: its open document's, or the file's on
// disk (nil when neither).
func (s *server) textOf(p string) *text {
	if dt, ok := s.overlay(p); ok {
		return newText(dt)
	}
	dt, err := os.ReadFile(p)
	if err != nil || len(dt) > rewrite.MaxExpandedSize {
		return nil
	}
	return newText(dt)
}

// argDeclaration is where the ARG the word names is declared for the
// item at a: the declaration in scope there.
func (snap *snapshot) argDeclaration(a at) (protocol.Location, bool) {
	d := snap.own.Declaration(a.it, a.word)
	if a.it.Keyword == "arg" && d == nil {
		return protocol.Location{URI: uriOf(snap.path), Range: snap.text.span(a.line, a.from, a.to)}, true
	}
	if d == nil {
		return protocol.Location{}, false
	}
	return protocol.Location{URI: uriOf(snap.path), Range: snap.text.lineRange(d.Item.Line, d.Item.Line)}, true
}

func (s *server) references(a at) (any, error) {
	if a.it == nil || a.word == "" || a.snap.own == nil {
		return nil, nil
	}
	f := a.snap.own
	var locs []protocol.Location
	add := func(line int) {
		locs = append(locs, protocol.Location{URI: uriOf(a.snap.path), Range: a.snap.text.lineRange(line, line)})
	}
	if a.isArg() {
		for _, it := range f.Syntax.Items {
			if c := f.Condition(it); c != nil && slices.Contains(c.Names, a.word) {
				add(it.Line)
			} else if it.Keyword == "arg" && f.Arg(it) != nil {
				for _, kv := range f.Arg(it).Args {
					if kv.Key == a.word {
						add(it.Line)
					}
				}
			}
		}
		return locs, nil
	}
	_, name, ok := a.stageRef()
	if !ok && a.it.Kind == syntax.Require {
		name, ok = strings.ToLower(a.word), true
	}
	if !ok {
		return nil, nil
	}
	for _, st := range f.Stages {
		if st.Name == name {
			add(st.Item.Line)
		}
	}
	for _, it := range f.Linked() {
		for _, r := range f.Refs(it) {
			if strings.ToLower(r.Name) == name {
				add(it.Line)
				break
			}
		}
	}
	sort.Slice(locs, func(i, j int) bool { return locs[i].Range.Start.Line < locs[j].Range.Start.Line })
	return slices.CompactFunc(locs, func(x, y protocol.Location) bool { return x.Range == y.Range }), nil
}

// --- symbols and folding ---------------------------------------------------------

func (s *server) symbols(snap *snapshot) (any, error) {
	f, t := snap.own, snap.text
	var flat []protocol.DocumentSymbol
	sym := func(name, detail string, kind protocol.SymbolKind, from, to int) {
		r := t.lineRange(from, to)
		sel := t.lineRange(from, from)
		flat = append(flat, protocol.DocumentSymbol{Name: name, Detail: detail, Kind: kind, Range: r, SelectionRange: sel})
	}
	last := f.Syntax.NumLines()
	for _, d := range f.GlobalArgs() {
		sym(d.KV.Key, "ARG", protocol.SymbolKindVariable, d.Item.Line, d.Item.EndLine)
	}
	items := f.Syntax.Items
	for _, st := range f.Stages {
		name := st.Name
		if name == "" {
			name = fmt.Sprintf("stage %d", st.Index)
		}
		sym(name, "FROM "+st.Base, protocol.SymbolKindClass, st.Item.Line, stageEnd(f, st))
	}
	for _, j := range f.Joins() {
		// Lines after an END that continue whichever stage the branches
		// leave live. A run of INCLUDEs alone is left to its fragments:
		// what they continue, if anything, is in them (one that starts
		// with a FROM continues nothing).
		if onlyIncludes(items[j.First.Index : j.Last.Index+1]) {
			continue
		}
		sym("continues "+joinName(f, j), "lines after END", protocol.SymbolKindNamespace, j.First.Line, j.Last.EndLine)
	}
	for _, it := range items {
		switch it.Kind {
		case syntax.If:
			if b := it.Block(); b != nil {
				end := last
				if b.End != nil {
					end = b.End.Line
				}
				sym("IF "+it.Cond.Text, "block", protocol.SymbolKindNamespace, it.Line, end)
			}
		case syntax.Include:
			sym(it.IncludePath(), "INCLUDE", protocol.SymbolKindModule, it.Line, it.EndLine)
		case syntax.Require:
			sym("REQUIRE "+strings.Join(it.Args(), " "), "gate", protocol.SymbolKindEvent, it.Line, it.EndLine)
		}
	}
	return nest(flat), nil
}

// onlyIncludes reports whether every instruction of items is an INCLUDE.
func onlyIncludes(items []*syntax.Item) bool {
	for _, it := range items {
		if it.Kind != syntax.Include {
			return false
		}
	}
	return true
}

// stageEnd is the last line of the stage st: the last of the items after
// its FROM that belong to it whatever the branches decide (the
// analysis' Owner), before a block that starts stages of its own.
func stageEnd(f *analysis.File, st *analysis.Stage) int {
	end := st.Item.EndLine
	for _, it := range f.Syntax.Items[st.Item.Index+1:] {
		if it.Kind == syntax.If && it.Block() != nil && it.Block().HasFrom {
			break // a block that starts stages of its own
		}
		if (it.Kind == syntax.ElseIf || it.Kind == syntax.Else || it.Kind == syntax.End) && st.Item.Branch != nil && it.Block() == st.Item.Branch.Block {
			break // the end of the branch the stage stands in
		}
		if owner, ok := f.Owner(it); !ok || owner != st.Index || it.Kind == syntax.Instruction && it.Keyword == "from" {
			break
		}
		end = it.EndLine
	}
	return end
}

// joinName names the stages the lines of a join may continue.
func joinName(f *analysis.File, j analysis.Join) string {
	var names []string
	for _, i := range j.Stages {
		if i < 0 {
			names = append(names, "no stage")
			continue
		}
		st := f.Stages[i]
		name := st.Name
		if name == "" {
			name = fmt.Sprintf("stage %d", st.Index)
		}
		names = append(names, fmt.Sprintf("%s (line %d)", name, st.Item.Line))
	}
	return strings.Join(names, " or ")
}

// nest makes a tree of symbols by their ranges: each is the child of the
// smallest one around it.
func nest(flat []protocol.DocumentSymbol) []protocol.DocumentSymbol {
	sort.SliceStable(flat, func(i, j int) bool {
		a, b := flat[i].Range, flat[j].Range
		if a.Start.Line != b.Start.Line {
			return a.Start.Line < b.Start.Line
		}
		return a.End.Line > b.End.Line
	})
	type node struct {
		sym      protocol.DocumentSymbol
		children []*node
	}
	var roots, stack []*node
	for _, s := range flat {
		n := &node{sym: s}
		for len(stack) > 0 && stack[len(stack)-1].sym.Range.End.Line < s.Range.Start.Line {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			roots = append(roots, n)
		} else {
			top := stack[len(stack)-1]
			if n.sym.Range.End.Line > top.sym.Range.End.Line {
				n.sym.Range.End = top.sym.Range.End // overlaps: clipped
			}
			top.children = append(top.children, n)
		}
		stack = append(stack, n)
	}
	var build func([]*node) []protocol.DocumentSymbol
	build = func(ns []*node) []protocol.DocumentSymbol {
		out := make([]protocol.DocumentSymbol, 0, len(ns))
		for _, n := range ns {
			n.sym.Children = build(n.children)
			out = append(out, n.sym)
		}
		return out
	}
	return build(roots)
}

func (s *server) folding(snap *snapshot) (any, error) {
	out := []protocol.FoldingRange{}
	for _, it := range snap.own.Syntax.Items {
		b := it.Opens()
		if b == nil {
			continue
		}
		end := 0
		if next := b.Index + 1; next < len(b.Block.Branches) {
			end = b.Block.Branches[next].Item.Line - 1
		} else if b.Block.End != nil {
			end = b.Block.End.Line - 1
		}
		if end > it.Line {
			out = append(out, protocol.FoldingRange{StartLine: uint32(it.Line - 1), EndLine: uint32(end - 1), Kind: protocol.RegionFoldingRange})
		}
	}
	return out, nil
}

// --- completion --------------------------------------------------------------

var (
	fromFlagBefore = regexp.MustCompile(`(?i)(--from=|from=)([\w.-]*)$`)
	keywordBefore  = regexp.MustCompile(`(?i)^\s*(IF|ELSE\s+IF|REQUIRE|FROM|INCLUDE)\s+(?:(?:--[\w-]+=\S*\s+)*)(\S*)$`)
	ifFlagBefore   = regexp.MustCompile(`--if=("[^"]*|\S*)$`)
)

func (s *server) completion(a at) (any, error) {
	before := string(a.snap.text.line(a.line - 1)[:a.col])
	var items []protocol.CompletionItem
	switch m := keywordBefore.FindStringSubmatch(before); {
	case fromFlagBefore.MatchString(before):
		items = a.snap.stageItems()
	case ifFlagBefore.MatchString(before), m != nil && (strings.EqualFold(m[1], "IF") || strings.HasPrefix(strings.ToUpper(m[1]), "ELSE")):
		items = a.snap.conditionItems()
	case m != nil && strings.EqualFold(m[1], "REQUIRE"), m != nil && strings.EqualFold(m[1], "FROM"):
		items = a.snap.stageItems()
	case m != nil && strings.EqualFold(m[1], "INCLUDE"):
		from := ""
		if fm := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(before); fm != nil {
			from = fm[1]
		}
		items = a.snap.pathItems(from, m[2])
	}
	if items == nil {
		return nil, nil
	}
	return &protocol.CompletionList{Items: items}, nil
}

func (snap *snapshot) stageItems() []protocol.CompletionItem {
	items := []protocol.CompletionItem{}
	f := snap.lastExpanded // the fragments' stages too, from the last rewrite that worked
	if f == nil {
		f = snap.own
	}
	if f == nil {
		return items
	}
	for _, name := range f.StageNames() {
		st := f.Stages[f.StagesNamed(name)[0]]
		items = append(items, protocol.CompletionItem{Label: name, Kind: protocol.CompletionItemKindClass, Detail: "stage: FROM " + st.Base})
	}
	return items
}

func (snap *snapshot) conditionItems() []protocol.CompletionItem {
	items := []protocol.CompletionItem{
		{Label: "exists", Kind: protocol.CompletionItemKindFunction, Detail: `exists("path"): the path is in the build context`, InsertText: `exists("$1")`, InsertTextFormat: protocol.InsertTextFormatSnippet},
		{Label: "defined", Kind: protocol.CompletionItemKindFunction, Detail: "defined(NAME): the ARG has a value", InsertText: "defined($1)", InsertTextFormat: protocol.InsertTextFormatSnippet},
	}
	if snap.own == nil {
		return items
	}
	for _, name := range snap.own.ReadableNames() {
		detail := "ARG"
		if analysis.IsAutomatic(name) {
			detail = "ARG (platform, set by BuildKit)"
		}
		items = append(items, protocol.CompletionItem{Label: name, Kind: protocol.CompletionItemKindVariable, Detail: detail})
	}
	return items
}

// pathItems are the entries of the directory typed so far, for an
// INCLUDE path of context from.
func (snap *snapshot) pathItems(from, typed string) []protocol.CompletionItem {
	items := []protocol.CompletionItem{}
	root, ok := snap.fragDirs[from]
	if !ok {
		return items
	}
	sub := ""
	if i := strings.LastIndexByte(typed, '/'); i >= 0 {
		sub = typed[:i+1]
	}
	if strings.Contains(sub, "..") || strings.HasPrefix(sub, "/") {
		return items
	}
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(sub)))
	if err != nil {
		return items
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			items = append(items, protocol.CompletionItem{Label: sub + name + "/", Kind: protocol.CompletionItemKindFolder})
		} else if filepath.Join(root, filepath.FromSlash(sub+name)) != snap.path {
			items = append(items, protocol.CompletionItem{Label: sub + name, Kind: protocol.CompletionItemKindFile})
		}
	}
	return items
}

// --- code actions ------------------------------------------------------------------

// didYouMean finds the suggestion of a message: "did you mean X?".
var didYouMean = regexp.MustCompile(`did you mean "?([^"?\s]+)"?\?`)

// codeActions offers the did-you-mean fixes of the diagnostics asked
// about: the word of the line the suggestion most likely corrects is
// replaced by it.
func (s *server) codeActions(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p protocol.CodeActionParams
	if err := json.Unmarshal(req.Params(), &p); err != nil {
		return reply(ctx, nil, err)
	}
	snap := s.current(ctx, pathOf(p.TextDocument.URI))
	if snap == nil {
		return reply(ctx, nil, nil)
	}
	actions := []protocol.CodeAction{}
	for _, d := range p.Context.Diagnostics {
		m := didYouMean.FindStringSubmatch(d.Message)
		if m == nil || d.Source != source {
			continue
		}
		fix := strings.TrimSuffix(strings.TrimPrefix(m[1], "$"), "()")
		line := int(d.Range.Start.Line) + 1
		if r, ok := snap.misspelt(line, fix); ok {
			diag := d
			actions = append(actions, protocol.CodeAction{
				Title:       fmt.Sprintf("Change to %s", fix),
				Kind:        protocol.QuickFix,
				Diagnostics: []protocol.Diagnostic{diag},
				IsPreferred: true,
				Edit: &protocol.WorkspaceEdit{Changes: map[uri.URI][]protocol.TextEdit{
					p.TextDocument.URI: {{Range: r, NewText: fix}},
				}},
			})
		}
	}
	return reply(ctx, actions, nil)
}

// misspelt finds the word of line n that fix corrects: the word closest
// to it that is not it.
func (snap *snapshot) misspelt(n int, fix string) (protocol.Range, bool) {
	l := snap.text.line(n - 1)
	var words []string
	spans := map[string][2]int{}
	for i := 0; i < len(l); {
		if !isWordByte(l[i]) {
			i++
			continue
		}
		j := i
		for j < len(l) && isWordByte(l[j]) {
			j++
		}
		w := string(l[i:j])
		if _, seen := spans[w]; !seen && !strings.EqualFold(w, fix) {
			words = append(words, w)
			spans[w] = [2]int{i, j}
		}
		i = j
	}
	w := didyoumean.Closest(fix, words, false)
	if w == "" {
		return protocol.Range{}, false
	}
	sp := spans[w]
	return snap.text.span(n, sp[0], sp[1]), true
}
