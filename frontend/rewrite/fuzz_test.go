package rewrite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/fuzzseed"
)

// FuzzRewrite runs parse, evaluate and rewrite on any input (as a build
// does, and as the CLI does: REQUIRE annotated, flags listed): it must
// never panic, must keep the line count, must leave a file without extensions
// byte-identical, must leave no extension in what it returns, and every
// error must point at a line of the input: an ErrorList whose errors all
// have a line of the file (and a column inside it, when they have one),
// or BuildKit's parser's own error. Whether a parser error carries a line
// is recorded (see recordLineless), not asserted.
//
// When generated is set, dt is not the file but a program for
// fuzzseed.Generate, so that the fuzzer's byte mutations become line
// mutations of a file made of extension constructs (blocks around
// stages, guarded references, REQUIREs, heredocs, continuations).
//
// Seeds: the cases of testdata/rewrite with their options, and
// package fuzzseed's hostile shapes and generated files, and
// testdata/fuzz/FuzzRewrite (inputs that once broke an invariant).
func FuzzRewrite(f *testing.F) {
	f.Add([]byte("ARG X=1\nFROM scratch\nIF X\nCOPY a /\nELSE IF X == 'y'\nCOPY b /\nELSE\nCOPY c /\nEND\n"), "X=0", true, false)
	f.Add([]byte("FROM --if=\"TARGETARCH == 'arm64'\" busybox AS a\nRUN --if=A \\\n  echo\nREQUIRE a\n"), "", false, false)
	f.Add([]byte("# escape=`\r\nFROM scratch\r\nCOPY --if=true `\r\n  a /\r\n"), "", true, false)
	f.Add([]byte("FROM busybox\nRUN <<EOF\nIF x\nEND\nEOF\n"), "", false, false)
	for _, s := range fuzzseed.GoldenSeeds(f, filepath.Join("testdata", "rewrite")) {
		f.Add(s.Dockerfile, s.Arg, s.Arm, false)
	}
	for _, dt := range fuzzseed.HostileSeeds("scratch") {
		f.Add(dt, "A=1", false, false)
		f.Add(dt, "A=off", true, false)
	}
	for _, prog := range fuzzseed.GeneratedSeeds() {
		f.Add(prog, "S=b", false, true)
		f.Add(prog, "A=0", true, true)
	}
	f.Fuzz(func(t *testing.T, dt []byte, arg string, arm, generated bool) {
		if generated {
			dt = fuzzseed.Generate(dt)
		}
		opt := Options{BuildArgs: map[string]string{}, Context: fakeContext{"a": true}}
		if k, v, ok := strings.Cut(arg, "="); ok {
			opt.BuildArgs[k] = v
		}
		if arm {
			opt.TargetPlatform = platforms.MustParse("linux/arm64")
		}
		res, err := Rewrite(context.Background(), dt, opt)
		checkErrorLines(t, "FuzzRewrite", dt, res != nil, err)
		if res == nil {
			return
		}
		if got, want := bytes.Count(res.Dockerfile, []byte("\n")), bytes.Count(dt, []byte("\n")); got != want {
			t.Fatalf("line count %d, want %d", got, want)
		}
		if !res.Extended && !bytes.Equal(res.Dockerfile, dt) {
			t.Fatalf("a file without extensions changed")
		}
		// The CLI's rewrite: REQUIRE annotated, flags listed.
		opt.Annotate, opt.ListFlags = true, true
		if ann, err := Rewrite(context.Background(), dt, opt); ann != nil {
			checkErrorLines(t, "FuzzRewrite", dt, true, err)
			if got, want := bytes.Count(ann.Dockerfile, []byte("\n")), bytes.Count(dt, []byte("\n")); got != want {
				t.Fatalf("annotated: line count %d, want %d", got, want)
			}
		}
		if err != nil || !res.Extended {
			return
		}
		// The stage a build puts a live line in is one of those the
		// analysis says it may belong to.
		var owners []int
		for _, it := range res.Analysis.Syntax.Items {
			if o := res.Owner(it); res.Live(it) {
				if owners = res.Analysis.Owners(owners[:0], it); !slices.Contains(owners, o) {
					t.Fatalf("line %d is in stage %d, not one of %v\n%s", it.Line, o, owners, dt)
				}
			}
		}
		out, perr := parser.Parse(bytes.NewReader(res.Dockerfile))
		if perr != nil {
			if strings.Contains(perr.Error(), "no instructions") {
				return
			}
			t.Fatalf("the rewrite does not parse: %v\n%s", perr, res.Dockerfile)
		}
		for _, n := range out.AST.Children {
			switch strings.ToLower(n.Value) {
			case "if", "else", "end", "require":
				t.Fatalf("line %d: %s left in the rewrite\n%s", n.StartLine, n.Value, res.Dockerfile)
			}
			for _, fl := range n.Flags {
				if fl == "--if" || strings.HasPrefix(fl, "--if=") {
					t.Fatalf("line %d: %s left in the rewrite\n%s", n.StartLine, fl, res.Dockerfile)
				}
			}
		}
	})
}

// checkErrorLines asserts that err (of a rewrite of dt) points at the
// input: an ErrorList of errors on lines of dt, or, when the rewrite gave
// no result, an error of BuildKit's parser (recorded when it has no line).
func checkErrorLines(t *testing.T, target string, dt []byte, hasResult bool, err error) {
	t.Helper()
	if err == nil {
		if !hasResult {
			t.Fatalf("no result and no error")
		}
		return
	}
	var list *syntax.ErrorList
	if errors.As(err, &list) {
		errs := list.Errors()
		if len(errs) == 0 {
			t.Fatalf("an empty ErrorList is an error: %q", err)
		}
		lines := splitLines(dt)
		for _, e := range errs {
			if e.Line < 1 || e.Line > len(lines) {
				t.Fatalf("error at line %d of a file of %d lines: %v", e.Line, len(lines), e)
			}
			if n := len(bytes.TrimRight(lines[e.Line-1], "\r\n")); e.Column < 0 || e.Column > n+1 {
				t.Fatalf("error at column %d of line %d, which has %d bytes: %v", e.Column, e.Line, n, e)
			}
		}
		return
	}
	if hasResult {
		t.Fatalf("a result with an error that is a %T, not an ErrorList: %v", err, err)
	}
	if _, perr := parser.Parse(bytes.NewReader(dt)); perr == nil {
		t.Fatalf("an error (%T) that is neither an ErrorList nor BuildKit's parser's, on a file the parser reads: %v", err, err)
	}
	if !fuzzseed.HasLine(err) {
		fuzzseed.RecordLineless(target, "parser", err, dt)
	}
}

// splitLines splits dt after each "\n" (a last line without one counts).
func splitLines(dt []byte) [][]byte {
	lines := bytes.SplitAfter(dt, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}
