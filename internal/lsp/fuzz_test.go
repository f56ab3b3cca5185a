package lsp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/org/stagefront/internal/fuzzseed"
	"go.lsp.dev/protocol"
)

// FuzzText: the conversions between the pipeline's byte columns and the
// protocol's UTF-16 columns never panic, stay within the line, and a
// byte column at a character boundary comes back from its UTF-16 column.
func FuzzText(f *testing.F) {
	f.Add([]byte("FROM busybox\nIF DOCS\r\nRUN echo é€😀\nEND"), 2, 9)
	f.Add([]byte("\xff\xfe\n\n"), 0, 1)
	f.Add([]byte(""), 0, 0)
	f.Fuzz(func(t *testing.T, data []byte, line, col int) {
		tx := newText(data)
		if line < 0 || line > tx.lines() || col < 0 || col > 1<<16 {
			return
		}
		l := tx.line(line)
		u := tx.utf16Col(line, col)
		back := tx.byteCol(protocol.Position{Line: uint32(line), Character: u})
		if back < 0 || back > len(l) {
			t.Fatalf("byteCol %d out of line of %d bytes", back, len(l))
		}
		if c := min(col, len(l)); utf8.RuneStart(byteAt(l, c)) && utf8.Valid(l[:c]) && back != c {
			t.Fatalf("byte column %d -> UTF-16 %d -> %d", c, u, back)
		}
		w, from, to := tx.wordAt(line+1, min(col, len(l)))
		if from > to || to > len(l) || string(l[from:to]) != w {
			t.Fatalf("wordAt: %q %d-%d", w, from, to)
		}
		_ = tx.lineRange(line+1, line+1)
	})
}

// byteAt is the byte at i of l, or a character start past its end.
func byteAt(l []byte, i int) byte {
	if i >= len(l) {
		return 'a'
	}
	return l[i]
}

// FuzzSettings: any settings a client sends parse or fail with an error,
// never a panic, and what parses has a platform the pipeline can use.
func FuzzSettings(f *testing.F) {
	f.Add([]byte(`{"stagefront": {"buildArgs": {"A": "1"}, "platform": "linux/arm64/v8", "debounceMs": -4}}`))
	f.Add([]byte(`{"contexts": {"x": "/tmp"}, "target": 3}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := parseSettings(json.RawMessage(raw))
		if err != nil {
			return
		}
		_ = s.platform()
		if s.debounce() < 0 {
			t.Fatalf("negative debounce from %s", raw)
		}
	})
}

// FuzzAnalyze: the server answers on any text, as an editor sends it
// while the user types (files of extension constructs, fuzzseed.Generate):
// the analysis, the diagnostics, and every request at the start, middle
// and end of each line never panic, and every range is within the text.
func FuzzAnalyze(f *testing.F) {
	for _, seed := range fuzzseed.GeneratedSeeds() {
		f.Add(seed)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "Dockerfile")
	f.Fuzz(func(t *testing.T, prog []byte) {
		dt := fuzzseed.Generate(prog)
		snap := analyze(context.Background(), buildInput{path: path, data: dt})
		if snap == nil {
			t.Fatal("no analysis")
		}
		within := func(what string, r protocol.Range) {
			if int(r.Start.Line) >= snap.text.lines() || int(r.End.Line) >= snap.text.lines() || r.End.Line < r.Start.Line {
				t.Fatalf("%s: range %+v out of %d lines", what, r, snap.text.lines())
			}
		}
		for _, d := range snap.diagnostics(func(string) *text { return nil })[path] {
			within("diagnostic "+d.Message, d.Range)
		}
		s := newServer(nil)
		if snap.own != nil {
			syms, _ := s.symbols(snap)
			var walk func([]protocol.DocumentSymbol)
			walk = func(ss []protocol.DocumentSymbol) {
				for _, sym := range ss {
					within("symbol "+sym.Name, sym.Range)
					walk(sym.Children)
				}
			}
			walk(syms.([]protocol.DocumentSymbol))
			_, _ = s.folding(snap)
		}
		for line := 1; line <= snap.text.lines(); line++ {
			n := len(snap.text.line(line - 1))
			for _, col := range []int{0, n / 2, n} {
				a := at{snap: snap, line: line, col: col}
				if snap.own != nil {
					a.it = itemAt(snap.own.Syntax, line)
				}
				a.word, a.from, a.to = snap.text.wordAt(line, col)
				_, _ = s.hover(a)
				_, _ = s.definition(a)
				_, _ = s.references(a)
				_, _ = s.completion(a)
			}
		}
	})
}
