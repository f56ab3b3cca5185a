package syntax

import (
	"fmt"
	"strings"
	"testing"
)

func TestErrorListKeepsTheFirstByLine(t *testing.T) {
	t.Parallel()
	var l ErrorList
	// Out of order, and far more than are kept.
	for i := 1000; i >= 1; i-- {
		l.Add("Dockerfile", i, 0, "problem %d", i)
	}
	if l.Len() != 1000 {
		t.Fatalf("Len %d, want 1000", l.Len())
	}
	errs := l.Errors()
	if len(errs) != MaxErrors {
		t.Fatalf("%d errors kept, want %d", len(errs), MaxErrors)
	}
	for i, e := range errs {
		if e.Line != i+1 {
			t.Errorf("error %d is at line %d, want %d", i, e.Line, i+1)
		}
	}
	if l.Omitted() != 1000-MaxErrors {
		t.Errorf("Omitted %d, want %d", l.Omitted(), 1000-MaxErrors)
	}
	want := fmt.Sprintf("(and %d more errors)", 1000-MaxErrors)
	if msg := l.Error(); !strings.HasSuffix(msg, want) || strings.Count(msg, "\n") != MaxErrors {
		t.Errorf("message:\n%s\nwant %d lines and %q", msg, MaxErrors, want)
	}
}

func TestErrorListMergeAndOrder(t *testing.T) {
	t.Parallel()
	var a, b ErrorList
	a.Add("Dockerfile", 5, 0, "five")
	a.Add("Dockerfile", 2, 0, "two, found first")
	b.Add("Dockerfile", 2, 0, "two, found second")
	for i := 0; i < 3*MaxErrors; i++ {
		b.Add("Dockerfile", 100+i, 0, "far")
	}
	a.Merge(&b)
	errs := a.Errors()
	if errs[0].Msg != "two, found first" || errs[1].Msg != "two, found second" || errs[2].Msg != "five" {
		t.Errorf("order: %v", a.Error())
	}
	if a.Len() != 3+3*MaxErrors {
		t.Errorf("Len %d", a.Len())
	}
	var empty ErrorList
	if empty.Err() != nil {
		t.Error("an empty list is an error")
	}
	if a.Err() == nil {
		t.Error("a list with errors is no error")
	}
}

// BuildKit's parser attaches to a parser directive's error, and to a
// line too long for it, the line before; ParseExpanded reports the line itself.
func TestParserErrorsAtTheirLine(t *testing.T) {
	t.Parallel()
	long := "RUN " + strings.Repeat("x", 70000)
	for _, tc := range []struct {
		name, file string
		line       int
		msg        string
	}{
		{"second syntax", "# syntax=org/stagefront\n# syntax=docker/dockerfile:1\nFROM busybox\n", 2, "only one syntax parser directive"},
		{"bad escape", "# syntax=org/stagefront\n# escape=x\nFROM busybox\n", 2, "invalid escape token"},
		{"bad escape after a BOM", "\xEF\xBB\xBF# escape=y\nFROM busybox\n", 1, "invalid escape token"},
		{"second check", "# check=skip=all\n# check=error=true\nFROM busybox\n", 2, "only one check parser directive"},
		{"long line", "FROM busybox\nRUN x\n" + long + "\n", 3, "dockerfile line greater than max allowed size"},
		{"long line in a continuation", "FROM busybox\nRUN x \\\n" + long + "\n", 3, "dockerfile line greater than max allowed size"},
		{"unterminated heredoc", "FROM busybox\nRUN <<EOF\necho\n", 2, "unterminated heredoc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExpanded("Dockerfile", []byte(tc.file), nil)
			el, ok := err.(*ErrorList)
			if !ok {
				t.Fatalf("error %v (%T), want an ErrorList", err, err)
			}
			e := el.Errors()[0]
			if e.Line != tc.line || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v, want line %d with %q", e, tc.line, tc.msg)
			}
		})
	}
}

func TestTooManyStages(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ARG A=1\n")
	for i := 0; i <= MaxStages; i++ {
		fmt.Fprintf(&b, "FROM --if=A busybox AS s%d\n", i)
	}
	_, err := ParseExpanded("Dockerfile", []byte(b.String()), nil)
	el, ok := err.(*ErrorList)
	if !ok || el.Len() != 1 || el.Errors()[0].Line != MaxStages+2 {
		t.Fatalf("got %v, want one error at line %d", err, MaxStages+2)
	}
	// A standard file is BuildKit's to judge.
	if _, err := ParseExpanded("Dockerfile", []byte(strings.ReplaceAll(b.String(), "--if=A ", "")), nil); err != nil {
		t.Errorf("standard file: %v", err)
	}
}
