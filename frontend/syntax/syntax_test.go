package syntax

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/llbtest"
)

func TestGuardSpans(t *testing.T) {
	for _, tc := range []struct {
		in, cond string
		span     string // line:from-to
	}{
		{"FROM scratch\nCOPY --if=A a /\n", "A", "1:5-12"},
		{"FROM scratch\nCOPY --from=x --if=A a /\n", "A", "1:14-21"},
		{"FROM scratch\nRUN --if=\"A == 'x'\" true\n", "A == 'x'", "1:4-20"},
		{"FROM scratch\nRUN --if='A == \"x\"'\ttrue\n", `A == "x"`, "1:4-20"},
		{"FROM scratch\n  copy   --if=A  a /\n", "A", "1:9-16"},
		{"FROM scratch\nCOPY \\\n # c\n\n  --if=A \\\n a /\n", "A", "4:2-9"},
		{"# escape=`\nFROM scratch\nCOPY `\n  --if=A `\n a /\n", "A", "3:2-9"},
		{"\xEF\xBB\xBFFROM --if=A scratch\n", "A", "0:8-15"},
		{"FROM scratch\nCOPY --if=A\\ B a /\n", "A B", "1:5-15"},
	} {
		f, err := ParseExpanded("Dockerfile", []byte(tc.in), nil)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var it *Item
		for _, x := range f.Items {
			if x.Cond != nil {
				it = x
			}
		}
		if it == nil || it.Strip() == nil {
			t.Errorf("%q: no guard found", tc.in)
			continue
		}
		got := fmt.Sprintf("%d:%d-%d", it.Strip().Line, it.Strip().From, it.Strip().To)
		if got != tc.span || it.Cond.Text != tc.cond {
			t.Errorf("%q: span %s cond %q, want %s %q", tc.in, got, it.Cond.Text, tc.span, tc.cond)
		}
	}
}

func TestBlocks(t *testing.T) {
	in := "ARG A=1\nIF A\nFROM scratch AS x\nELSE IF !A\nFROM scratch AS x\nELSE\nFROM scratch AS x\nIF A\nCOPY a /\nEND\nEND\n"
	f, err := ParseExpanded("Dockerfile", []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range f.Items {
		kinds = append(kinds, fmt.Sprintf("%s@%d", it.Kind, it.Line))
	}
	if got := strings.Join(kinds, " "); got != "instruction@1 IF@2 instruction@3 ELSE IF@4 instruction@5 ELSE@6 instruction@7 IF@8 instruction@9 END@10 END@11" {
		t.Errorf("items: %s", got)
	}
	outer := f.Items[1].Block()
	if !outer.HasFrom || len(outer.Branches) != 3 || outer.End != f.Items[10] {
		t.Errorf("outer block: %+v", outer)
	}
	inner := f.Items[7].Block()
	if inner.HasFrom || inner.Parent != outer.Branches[2] || f.Items[8].Branch.Depth() != 2 {
		t.Errorf("inner block: %+v", inner)
	}
	if len(f.Stages) != 3 || f.Items[8].LastFrom != 2 {
		t.Errorf("stages: %d, stage of line 9: %d", len(f.Stages), f.Items[8].LastFrom)
	}
}

// TestFlagWordsMatchParser checks the text scan that places flags against
// the flags BuildKit's parser gives, on hand-written cases and on every
// Dockerfile in the module cache.
func TestFlagWordsMatchParser(t *testing.T) {
	files := []string{
		"FROM scratch\nCOPY --from=a --chown=1:1 a /\n",
		"FROM scratch\nRUN --mount=type=cache,target=/x --network=none true\n",
		"FROM scratch\nCOPY \"--chmod=755\" a /\n",
		"FROM scratch\nCOPY --chown='a b' --link a /\n",
		"FROM scratch\nCOPY --from=a\\ b x /\n",
		"FROM scratch\nRUN --mount=type=secret,id=\"a,b\" \\\n  --network=host true\n",
		"# escape=`\nFROM scratch\nCOPY --from=a `\n  --chown=1 x /\n",
		"FROM scratch\nCOPY -- --x /\n",
	}
	if paths, err := llbtest.ModuleCacheDockerfiles(); err == nil {
		for _, p := range paths {
			if dt, err := os.ReadFile(p); err == nil {
				files = append(files, string(dt))
			}
		}
	}
	for _, in := range files {
		// As a large file is read: the items keep few nodes, and Nodes
		// parses the file again.
		f, err := parse("Dockerfile", []byte(in), false, nil)
		if f == nil {
			continue // the parser rejects it: nothing to compare
		}
		_ = err
		nodes, err := f.Nodes()
		if err != nil {
			t.Fatalf("%q: parsed again: %v", firstLine(in), err)
		}
		small, _ := ParseExpanded("Dockerfile", []byte(in), nil)
		kept, err := small.Nodes()
		if err != nil || len(kept) != len(nodes) {
			t.Fatalf("%q: %d nodes kept, %d parsed again (%v)", firstLine(in), len(kept), len(nodes), err)
		}
		for _, it := range f.Items {
			n := nodes[it.Index]
			if kept[it.Index] == nil || kept[it.Index].Original != n.Original {
				t.Errorf("line %d of %q: kept node %v, parsed again %q", it.Line, firstLine(in), kept[it.Index], n.Original)
			}
			if kept := it.Node(); keepsNode(it.Keyword) != (kept != nil) {
				t.Errorf("line %d of %q: %s keeps node %v", it.Line, firstLine(in), it.Keyword, kept)
			} else if kept != nil && (kept.StartLine != n.StartLine || kept.Original != n.Original) {
				t.Errorf("line %d of %q: kept node %q, parsed again %q at line %d", it.Line, firstLine(in), kept.Original, n.Original, n.StartLine)
			}
			if n.StartLine != it.Line {
				t.Errorf("line %d of %q: parsed again, the item's node is at line %d", it.Line, firstLine(in), n.StartLine)
			}
			if len(n.Flags) == 0 {
				continue
			}
			var l logical
			l.join(f, it.Line-1, it.EndLine-1)
			words, _ := flagWords(nil, l.text, f.Escape)
			var got []string
			for _, w := range words {
				got = append(got, w.value)
			}
			if strings.Join(got, "\x00") != strings.Join(n.Flags, "\x00") {
				t.Errorf("line %d of %q: scanned flags %q, the parser's %q", it.Line, firstLine(in), got, n.Flags)
			}
		}
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
