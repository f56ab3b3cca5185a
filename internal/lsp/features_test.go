package lsp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// project is a workspace as users write it: a Dockerfile with a flag, an
// IF that chooses a stage, a fragment with a gate, and the fragment.
var project = map[string]string{
	"Dockerfile": `# syntax=org/stagefront
ARG GO_VERSION=1.26
# DOCS builds the docs site too.
ARG DOCS=false
FROM golang:${GO_VERSION} AS build
RUN go build -o /app .
IF DOCS
FROM busybox:1.36 AS docs
RUN echo docs > /docs
ELSE
FROM busybox:1.36 AS docs
RUN echo none > /docs
END
INCLUDE stages/test.Dockerfile
FROM busybox:1.36 AS final
REQUIRE test
COPY --from=build /app /app
COPY --from=docs /docs /docs
RUN --if=DOCS echo with-docs
USER 1000
`,
	"stages/test.Dockerfile": "FROM build AS test\nRUN go test ./...\n",
	".dockerignore":          ".git\n",
}

// lineOf returns the 1-based number of the first line of the Dockerfile
// that starts with prefix.
func lineOf(t *testing.T, text, prefix string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line %q", prefix)
	return 0
}

func pos(line, col int) protocol.Position {
	return protocol.Position{Line: uint32(line - 1), Character: uint32(col)}
}

func TestDiagnostics(t *testing.T) {
	c := newClient(t, nil)
	c.write(project)
	df := project["Dockerfile"]
	c.open("Dockerfile", "")

	// The dead lines of the defaults, greyed; no error.
	ds := c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return len(ds) > 0 })
	for _, want := range [][]string{
		{"8:0-8:", "hint unnecessary not in this build"},
		{"9:0-9:", "hint unnecessary"},
		{"19:0-19:", "hint unnecessary not in this build: --if=DOCS is false"},
	} {
		if !has(ds, want...) {
			t.Errorf("no diagnostic %q:%s", want, render(ds))
		}
	}
	if has(ds, "12:0", "unnecessary") || has(ds, "error") {
		t.Errorf("the ELSE branch is live, and there is no error:%s", render(ds))
	}

	// An extension error at its column; the fix is the quick fix.
	broken := strings.Replace(df, "IF DOCS\n", "IF DOCZ\n", 1)
	c.edit("Dockerfile", broken)
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "error") })
	if !has(ds, "7:3-7:7 error", "undeclared name DOCZ; did you mean DOCS?") {
		t.Fatalf("the undeclared name:%s", render(ds))
	}
	var actions []protocol.CodeAction
	c.call(protocol.MethodTextDocumentCodeAction, protocol.CodeActionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: c.uri("Dockerfile")},
		Range:        ds[0].Range,
		Context:      protocol.CodeActionContext{Diagnostics: ds},
	}, &actions)
	if len(actions) != 1 || actions[0].Title != "Change to DOCS" {
		t.Fatalf("code actions: %+v", actions)
	}
	for _, edits := range actions[0].Edit.Changes {
		if len(edits) != 1 || edits[0].NewText != "DOCS" || edits[0].Range.Start != pos(7, 3) || edits[0].Range.End != pos(7, 7) {
			t.Errorf("the fix: %+v", edits)
		}
	}

	// Fixed: the error goes.
	c.edit("Dockerfile", df)
	c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return !has(ds, "error") && has(ds, "unnecessary") })

	// An error in the fragment: at the INCLUDE, and in the fragment
	// once it is open (with its unsaved text).
	c.open("stages/test.Dockerfile", "FROM build AS test\nELSE\nRUN go test ./...\n")
	include := lineOf(t, df, "INCLUDE")
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "error") })
	if !has(ds, jsonString(include)+":0-", "error stages/test.Dockerfile:2: ELSE without IF") {
		t.Errorf("the fragment's error at the INCLUDE:%s", render(ds))
	}
	ds = c.diagnostics("stages/test.Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "error") })
	if !has(ds, "2:0-2:4 error ELSE without IF") {
		t.Errorf("the fragment's error in the fragment:%s", render(ds))
	}
	c.edit("stages/test.Dockerfile", "FROM build AS test\nRUN go test ./...\n")
	c.diagnostics("stages/test.Dockerfile", func(ds []protocol.Diagnostic) bool { return !has(ds, "error") })
	c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return !has(ds, "error") })

	// Other build args: the other branch is dead.
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, map[string]any{"settings": map[string]any{"stagefront": map[string]any{"buildArgs": map[string]string{"DOCS": "true"}}}})
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "12:0", "unnecessary") })
	if has(ds, "8:0", "unnecessary") || has(ds, "19:0", "unnecessary") {
		t.Errorf("with DOCS=true:%s", render(ds))
	}

	// The checks, with # check= honoured: error=true makes them errors.
	warned := strings.Replace(df, "FROM busybox:1.36 AS final", "FROM busybox AS final", 1)
	c.edit("Dockerfile", warned)
	final := lineOf(t, warned, "FROM busybox AS final")
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "FinalStageLatestTag") })
	if !has(ds, jsonString(final)+":0-", "warning FinalStageLatestTag") {
		t.Errorf("the check's warning:%s", render(ds))
	}
	c.edit("Dockerfile", strings.Replace(warned, "\n", "\n# check=error=true\n", 1))
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return has(ds, "error FinalStageLatestTag") })
	c.edit("Dockerfile", strings.Replace(warned, "\n", "\n# check=skip=FinalStageLatestTag\n", 1))
	ds = c.diagnostics("Dockerfile", func(ds []protocol.Diagnostic) bool { return !has(ds, "FinalStageLatestTag") })
}

// request sends a positional request at line:col of the Dockerfile.
func request[T any](c *client, method, name string, line, col int) T {
	c.t.Helper()
	var out T
	c.call(method, protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri(name)}, Position: pos(line, col)}, &out)
	return out
}

func TestHover(t *testing.T) {
	c := newClient(t, map[string]any{"buildArgs": map[string]string{"GO_VERSION": "1.25"}})
	c.write(project)
	df := project["Dockerfile"]
	c.open("Dockerfile", "")
	hover := func(prefix, word string) string {
		t.Helper()
		line := lineOf(t, df, prefix)
		col := strings.Index(strings.Split(df, "\n")[line-1], word)
		h := request[*protocol.Hover](c, protocol.MethodTextDocumentHover, "Dockerfile", line, col+1)
		if h == nil {
			t.Fatalf("no hover on %q of line %d", word, line)
		}
		return h.Contents.Value
	}
	for _, tc := range []struct {
		prefix, word string
		want         []string
	}{
		{"IF DOCS", "DOCS", []string{"**ARG DOCS**", "builds the docs site too.", "default: `false`", "in this build: `false`", "guards: line 7 to line 13, line 19", "declared at line 4"}},
		{"RUN --if=DOCS", "DOCS", []string{"**ARG DOCS**"}},
		{"FROM golang", "GO_VERSION", []string{"**ARG GO_VERSION**", "default: `1.26`"}},
		{"COPY --from=build", "build", []string{"**stage build** — line 5", "base image: `golang:${GO_VERSION}`", "in this build"}},
		{"COPY --from=docs", "docs", []string{"**stage docs** — line 11", "in this build", "when: ELSE (line 10)"}},
		{"REQUIRE test", "test", []string{"**stage test** — line 1 of stages/test.Dockerfile", "built on stage `build`"}},
		{"INCLUDE", "stages", []string{"**INCLUDE** `stages/test.Dockerfile`", c.path("stages/test.Dockerfile"), "(2 lines)"}},
		{"FROM busybox:1.36 AS final", "final", []string{"**stage final**", "gates (REQUIRE): test (line 16)"}},
	} {
		got := hover(tc.prefix, tc.word)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("hover on %q of %q: no %q in\n%s", tc.word, tc.prefix, w, got)
			}
		}
	}
}

func TestDefinitionAndReferences(t *testing.T) {
	c := newClient(t, nil)
	c.write(project)
	df := project["Dockerfile"]
	c.open("Dockerfile", "")
	at := func(prefix, word string) (int, int) {
		line := lineOf(t, df, prefix)
		return line, strings.Index(strings.Split(df, "\n")[line-1], word) + 1
	}
	for _, tc := range []struct {
		prefix, word string
		file         string
		line         int
	}{
		{"COPY --from=build", "build", "Dockerfile", 5},
		{"COPY --from=docs", "docs", "Dockerfile", 11}, // the live one
		{"REQUIRE test", "test", "stages/test.Dockerfile", 1},
		{"RUN --if=DOCS", "DOCS", "Dockerfile", 4},
		{"INCLUDE", "stages", "stages/test.Dockerfile", 1},
	} {
		line, col := at(tc.prefix, tc.word)
		locs := request[[]protocol.Location](c, protocol.MethodTextDocumentDefinition, "Dockerfile", line, col)
		if len(locs) != 1 || locs[0].URI != c.uri(tc.file) || int(locs[0].Range.Start.Line)+1 != tc.line {
			t.Errorf("definition of %q on line %d: %+v, want %s:%d", tc.word, line, locs, tc.file, tc.line)
		}
	}
	line, col := at("COPY --from=docs", "docs")
	refs := request[[]protocol.Location](c, protocol.MethodTextDocumentReferences, "Dockerfile", line, col)
	var lines []int
	for _, r := range refs {
		lines = append(lines, int(r.Range.Start.Line)+1)
	}
	if !slices.Equal(lines, []int{8, 11, 18}) {
		t.Errorf("references of docs: lines %v, want [8 11 18]", lines)
	}
	line, col = at("IF DOCS", "DOCS")
	refs = request[[]protocol.Location](c, protocol.MethodTextDocumentReferences, "Dockerfile", line, col)
	lines = nil
	for _, r := range refs {
		lines = append(lines, int(r.Range.Start.Line)+1)
	}
	if !slices.Equal(lines, []int{4, 7, 19}) {
		t.Errorf("references of DOCS: lines %v, want [4 7 19]", lines)
	}
}

func TestSymbolsAndFolding(t *testing.T) {
	c := newClient(t, nil)
	c.write(project)
	c.open("Dockerfile", "")
	var syms []protocol.DocumentSymbol
	c.call(protocol.MethodTextDocumentDocumentSymbol, protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri("Dockerfile")}}, &syms)
	var tree func(ss []protocol.DocumentSymbol, indent string) string
	tree = func(ss []protocol.DocumentSymbol, indent string) string {
		var b strings.Builder
		for _, s := range ss {
			b.WriteString(indent + s.Name + " " + jsonString(s.Range.Start.Line+1) + "-" + jsonString(s.Range.End.Line+1) + "\n")
			b.WriteString(tree(s.Children, indent+"  "))
		}
		return b.String()
	}
	want := `GO_VERSION 2-2
DOCS 4-4
build 5-6
IF DOCS 7-13
  docs 8-9
  docs 11-12
stages/test.Dockerfile 14-14
final 15-20
  REQUIRE test 16-16
`
	if got := tree(syms, ""); got != want {
		t.Errorf("symbols:\n%s\nwant:\n%s", got, want)
	}
	var folds []protocol.FoldingRange
	c.call(protocol.MethodTextDocumentFoldingRange, map[string]any{"textDocument": protocol.TextDocumentIdentifier{URI: c.uri("Dockerfile")}}, &folds)
	var got []string
	for _, f := range folds {
		got = append(got, jsonString(f.StartLine+1)+"-"+jsonString(f.EndLine+1))
	}
	if strings.Join(got, " ") != "7-9 10-12" {
		t.Errorf("folding ranges %v, want [7-9 10-12]", got)
	}
}

func TestCompletion(t *testing.T) {
	c := newClient(t, nil)
	c.write(project)
	df := project["Dockerfile"]
	c.open("Dockerfile", "")
	for _, tc := range []struct {
		line   string // appended to the file; completion at its end
		want   []string
		absent []string
	}{
		{"RUN --if=", []string{"DOCS", "GO_VERSION", "TARGETARCH", "exists", "defined"}, []string{"build"}},
		{"IF ", []string{"DOCS", "exists"}, nil},
		{"COPY --from=", []string{"build", "docs", "test"}, []string{"DOCS"}},
		{"REQUIRE ", []string{"build", "test"}, nil},
		{"INCLUDE ", []string{"stages/"}, []string{"Dockerfile"}},
		{"INCLUDE stages/", []string{"stages/test.Dockerfile"}, nil},
	} {
		text := df + tc.line
		c.edit("Dockerfile", text)
		line := strings.Count(text, "\n") + 1
		list := request[*protocol.CompletionList](c, protocol.MethodTextDocumentCompletion, "Dockerfile", line, len(tc.line))
		var labels []string
		if list != nil {
			for _, it := range list.Items {
				labels = append(labels, it.Label)
			}
		}
		for _, w := range tc.want {
			if !slices.Contains(labels, w) {
				t.Errorf("completion after %q: no %q in %v", tc.line, w, labels)
			}
		}
		for _, w := range tc.absent {
			if slices.Contains(labels, w) {
				t.Errorf("completion after %q: %q in %v", tc.line, w, labels)
			}
		}
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		raw, err string
		want     Settings
	}{
		{raw: `{"stagefront": {"target": "x", "buildArgs": {"A": "1"}}}`, want: Settings{Target: "x", BuildArgs: map[string]string{"A": "1"}}},
		{raw: `{"target": "y"}`, want: Settings{Target: "y"}},
		{raw: `null`},
		{raw: `{"platform": "nope/nope/nope/nope"}`, err: "platform"},
		{raw: `{"buildArgs": 3}`, err: "stagefront settings"},
		{raw: `{"stagefront": {"buildArgs": {"A": true}}}`, err: "stagefront settings"},
		{raw: `[]`},
		{raw: `[1]`, err: "stagefront settings"},
	} {
		got, err := parseSettings(json.RawMessage(tc.raw))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || got.Target != tc.want.Target || len(got.BuildArgs) != len(tc.want.BuildArgs) {
			t.Errorf("%s: %+v, %v", tc.raw, got, err)
		}
	}
}

// TestLinesAfterEnd: the lines after the END of a block that starts
// alternative stages continue whichever the build keeps (the README's
// pattern): the symbols show them as such, and a hover on one says which
// stage it may continue and which this build continues.
func TestLinesAfterEnd(t *testing.T) {
	c := newClient(t, map[string]any{"buildArgs": map[string]string{"BUILD_ENV": "development"}})
	df := `# syntax=org/stagefront
ARG BUILD_ENV=production
IF BUILD_ENV == "development"
FROM alpine:3.18 AS final
RUN apk add --no-cache curl vim
ELSE
FROM alpine:3.18 AS final
RUN apk add --no-cache dumb-init
END
COPY app/ /app
CMD ["/app/server"]
`
	c.write(map[string]string{"Dockerfile": df, ".dockerignore": ".git\n"})
	c.open("Dockerfile", "")
	var syms []protocol.DocumentSymbol
	c.call(protocol.MethodTextDocumentDocumentSymbol, protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: c.uri("Dockerfile")}}, &syms)
	var names []string
	for _, s := range syms {
		names = append(names, s.Name+" "+jsonString(s.Range.Start.Line+1)+"-"+jsonString(s.Range.End.Line+1))
	}
	if want := []string{"BUILD_ENV 2-2", `IF BUILD_ENV == "development" 3-9`, "continues final (line 4) or final (line 7) 10-11"}; !slices.Equal(names, want) {
		t.Errorf("symbols %q, want %q", names, want)
	}
	h := request[*protocol.Hover](c, protocol.MethodTextDocumentHover, "Dockerfile", 10, 1)
	if h == nil || !strings.Contains(h.Contents.Value, "continues the stage the branches above leave live: `final` (line 4) or `final` (line 7)") && !strings.Contains(h.Contents.Value, "final (line 4) or final (line 7)") ||
		!strings.Contains(h.Contents.Value, "in this build: `final` (line 4)") {
		t.Errorf("hover on the COPY after END: %+v", h)
	}
	// No line of the build is dead: the COPY and CMD are the development image's.
	ds := c.diagnostics("Dockerfile", func([]protocol.Diagnostic) bool { return true })
	if has(ds, "10:0", "unnecessary") || has(ds, "11:0", "unnecessary") || !has(ds, "7:0", "unnecessary") {
		t.Errorf("dead lines:%s", render(ds))
	}
}

// TestUntitled: a buffer that is no file (an editor's untitled one) is
// analysed too, with nothing to include, and never stops the server.
func TestUntitled(t *testing.T) {
	c := newClient(t, nil)
	u := protocol.DocumentURI("untitled:Untitled-1")
	c.notify(protocol.MethodTextDocumentDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, LanguageID: "dockerfile", Version: 1,
		Text: "# syntax=org/stagefront\nFROM busybox\nIF NOPE\nEND\nINCLUDE x.Dockerfile\n"}})
	var h *protocol.Hover
	c.call(protocol.MethodTextDocumentHover, protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}, Position: pos(3, 4)}, &h)
	var syms []protocol.DocumentSymbol
	c.call(protocol.MethodTextDocumentDocumentSymbol, protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}, &syms)
	if len(syms) == 0 {
		t.Errorf("no symbols for the untitled buffer")
	}
	ds := c.diagnostics(string(u), func(ds []protocol.Diagnostic) bool { return has(ds, "error") })
	if !has(ds, "3:3-3:7 error", "undeclared name NOPE") || !has(ds, "5:0", "this buffer is no file: it has no directory to include from") {
		t.Errorf("diagnostics of the untitled buffer:%s", render(ds))
	}
}
