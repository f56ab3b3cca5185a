package rewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/syntax"
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
// GenerateDockerfile, so that the fuzzer's byte mutations become line
// mutations of a file made of extension constructs (blocks around
// stages, guarded references, REQUIREs, heredocs, continuations).
//
// Seeds: the cases of testdata/rewrite with their options, hostileSeeds,
// generatedSeeds, and testdata/fuzz/FuzzRewrite (inputs that once broke
// an invariant).
func FuzzRewrite(f *testing.F) {
	f.Add([]byte("ARG X=1\nFROM scratch\nIF X\nCOPY a /\nELSE IF X == 'y'\nCOPY b /\nELSE\nCOPY c /\nEND\n"), "X=0", true, false)
	f.Add([]byte("FROM --if=\"TARGETARCH == 'arm64'\" busybox AS a\nRUN --if=A \\\n  echo\nREQUIRE a\n"), "", false, false)
	f.Add([]byte("# escape=`\r\nFROM scratch\r\nCOPY --if=true `\r\n  a /\r\n"), "", true, false)
	f.Add([]byte("FROM busybox\nRUN <<EOF\nIF x\nEND\nEOF\n"), "", false, false)
	for _, s := range goldenSeeds(f, filepath.Join("testdata", "rewrite")) {
		f.Add(s.dt, s.arg, s.arm, false)
	}
	for _, dt := range hostileSeeds() {
		f.Add(dt, "A=1", false, false)
		f.Add(dt, "A=off", true, false)
	}
	for _, prog := range generatedSeeds() {
		f.Add(prog, "S=b", false, true)
		f.Add(prog, "A=0", true, true)
	}
	f.Fuzz(func(t *testing.T, dt []byte, arg string, arm, generated bool) {
		if generated {
			dt = GenerateDockerfile(dt)
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
	if !hasLine(err) {
		recordLineless(target, "parser", err, dt)
	}
}

// hasLine reports whether err carries a parser location on a line (>= 1).
func hasLine(err error) bool {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return false
	}
	for _, loc := range le.Locations {
		for _, r := range loc {
			if r.Start.Line >= 1 {
				return true
			}
		}
	}
	return false
}

// splitLines splits dt after each "\n" (a last line without one counts).
func splitLines(dt []byte) [][]byte {
	lines := bytes.SplitAfter(dt, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// recordLineless appends an error that carries no line to the file
// $STAGEFRONT_FUZZ_RECORD, when set: one tab-separated line of target,
// kind, message and input (both quoted, cut to 300 bytes). Fuzzing runs
// in several processes; each record is one append.
func recordLineless(target, kind string, err error, dt []byte) {
	path := os.Getenv("STAGEFRONT_FUZZ_RECORD")
	if path == "" {
		return
	}
	fh, ferr := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if ferr != nil {
		return
	}
	defer fh.Close()
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if len(dt) > 300 {
		dt = dt[:300]
	}
	fmt.Fprintf(fh, "%s\t%s\t%q\t%q\n", target, kind, msg, dt)
}

type goldenSeed struct {
	dt  []byte
	arg string
	arm bool
}

// goldenSeeds reads every case of dir (testdata/rewrite): its Dockerfile
// with the first build-arg of its options, and whether it is for arm64.
func goldenSeeds(f *testing.F, dir string) []goldenSeed {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "Dockerfile"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden cases in %s: %v", dir, err)
	}
	var out []goldenSeed
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		s := goldenSeed{dt: dt}
		opts, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "options"))
		for _, line := range strings.Split(string(opts), "\n") {
			key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch {
			case key == "build-arg" && s.arg == "":
				s.arg = value
			case key == "platform":
				s.arm = strings.Contains(value, "arm")
			}
		}
		out = append(out, s)
	}
	return out
}

// hostileSeeds are shapes a hostile or careless Dockerfile takes: deep
// nesting, stray keywords, huge conditions, odd escapes, heredocs, BOMs,
// CRLF and CR line endings, NULs and invalid UTF-8.
func hostileSeeds() [][]byte {
	nest := func(n int) []byte {
		return []byte("ARG A=1\nFROM scratch\n" + strings.Repeat("IF A\n", n) + "RUN x\n" + strings.Repeat("END\n", n))
	}
	long := strings.Repeat("A && ", 1000) + "A"
	return [][]byte{
		nest(64), nest(65), nest(200),
		[]byte("ARG A=1\nFROM scratch\n" + strings.Repeat("IF A\nELSE IF !A\nELSE\n", 70)),
		[]byte("FROM scratch\nEND\nEND if\nELSE\nELSE IF A\nEND\n"),
		[]byte("END\nELSE\nFROM scratch\n"),
		[]byte("ARG A=1\nFROM scratch\nIF " + long + "\nRUN x\nEND\n"),
		[]byte("ARG A=1\nFROM scratch\nRUN --if=\"" + long[:4090] + "\" x\n"),
		[]byte("ARG A=1\nFROM scratch\nIF " + strings.Repeat("(", 2000) + "A" + strings.Repeat(")", 2000) + "\nEND\n"),
		[]byte("# escape=`\nARG A=1\nFROM scratch\nIF A `\n  && A\nRUN x `\n\nEND\n"),
		[]byte("# escape=x\nFROM scratch\nIF A\nEND\n"),
		[]byte("#escape=`\r\nARG A\r\nFROM scratch\r\nCOPY --if=A `\r\n  a /`"),
		[]byte("ARG A=1\nFROM scratch\nRUN --if=A \\\n"),
		[]byte("ARG A=1\nFROM scratch\nCOPY --if=A\\ \\\n&&\\ A a /\n"),
		[]byte("ARG A=1\nFROM scratch\nIF A\nRUN <<EOF\nEND\nELSE\nEOF\nEND\n"),
		[]byte("ARG A=1\nFROM scratch\nCOPY --if=A <<EOF /x\nEND\nEOF\n"),
		[]byte("ARG A=1\nFROM scratch\nRUN --if=!A <<-\"EOF\" <<E2\n\tIF A\n\tEOF\nEND\nE2\n"),
		[]byte("ARG A=1\nFROM scratch\nIF A\nRUN <<EOF\nEND\n"),
		[]byte("\xEF\xBB\xBF# syntax=org/stagefront\nARG A=1\nFROM scratch\nIF A\nRUN x\nEND\n"),
		[]byte("\xEF\xBB\xBF\xEF\xBB\xBFIF A\nEND\n"),
		[]byte("\xEF\xBB\xBF"),
		[]byte("ARG A=1\r\nFROM scratch\r\nIF A\r\nRUN x\r\nELSE\r\nRUN y\r\nEND\r\n"),
		[]byte("ARG A=1\rFROM scratch\rIF A\rRUN x\rEND\r"),
		[]byte("ARG A=1\nFROM scratch\r\nIF A\rRUN x\r\nEND"),
		[]byte("ARG A=1\nFROM scratch\nIF A == '\x00'\nRUN \x00\nEND\n"),
		[]byte("ARG A=\xff\nFROM scratch\nIF A == '\xff\xfe' || \xc3\nEND\n"),
		[]byte("ARG A=1\nFROM scratch\nIF 'é' == A &&\nEND\nRUN --if=\"'ü' == A ==\" x\n"),
		[]byte("FROM scratch AS a\nREQUIRE b\nFROM scratch AS b\nREQUIRE a\nFROM scratch\nREQUIRE a b c\n"),
		[]byte("ARG A=1\nIF A\nFROM scratch AS x\nELSE\nFROM scratch AS x\nEND\nFROM x\nCOPY --from=x / /\nRUN --mount=from=$A x\n"),
		[]byte("ARG S=x\nFROM scratch AS x\nFROM ${S}\nCOPY --from=${S} / /\nCOPY --from=$S$S / /\nRUN --mount=from=${S:-y},target=/m x\n"),
		[]byte("FROM scratch\nCOPY --if --if= --if=A --if=B a /\nREQUIRE\nREQUIRE --if=\nIF\nELSE IF\nEND\n"),
		[]byte("ARG A=1\nFROM scratch\nIF exists(\"../x\") || exists(\"/**/*\") || exists(A) || defined(A)\nEND\n"),
		[]byte("ARG A=1\nFROM scratch\nIF A matches '(' || A matches A\nEND\n"),
	}
}

// generatedLines are the lines GenerateDockerfile picks from: the
// extension constructs and what they interact with (stages a, b, c;
// ARGs A, B, S), with the shapes that span lines (continuations,
// heredocs) cut into their lines.
var generatedLines = []string{
	"ARG A=1", "ARG B=0", "ARG S=a", "ARG S", "ARG A", "ARG T=${S:-b}", "ARG S=c",
	"FROM busybox AS a", "FROM busybox AS b", "FROM a AS c", "FROM ${S} AS c", "FROM --if=A busybox AS b",
	"FROM scratch", "FROM --platform=$BUILDPLATFORM busybox AS a", "FROM --if=\"S == 'a'\" b",
	"IF A", "IF !A", "IF S == 'a'", "IF exists(\"a\")", "IF defined(S)", "IF T matches S", "IF A ? B : A",
	"ELSE IF B", "ELSE IF S in ['a', 'b']", "ELSE", "END", "END", "END",
	"RUN x", "RUN --if=A x", "RUN --if=B \\", "RUN --mount=from=${S},target=/m x", "RUN --mount=from=b,target=/m x",
	"COPY --from=a / /", "COPY --from=${S} / /", "COPY --if=\"B || A\" --from=c / /", "COPY --from=0 / /",
	"COPY --from=2 / /", "COPY --if=A \\", "  --from=b / /",
	"REQUIRE a", "REQUIRE --if=A b c", "REQUIRE c", "REQUIRE --if=S b",
	"RUN <<EOF", "COPY --if=A <<EOF /x", "EOF", "  && if true; then \\", "fi",
	"# comment", "", "ENV S=b", "USER root", "ONBUILD RUN --if=A x", "# check=error=true",
	"# escape=`", "WORKDIR /x", "RUN --if=A x `", "\ufeffFROM busybox AS a", "end", "else if !B",
}

// GenerateDockerfile turns prog into a Dockerfile, a line per byte: the
// byte's low six bits pick the line (see generatedLines), its top bit
// ends it with CRLF instead of LF.
func GenerateDockerfile(prog []byte) []byte {
	var b bytes.Buffer
	for _, c := range prog {
		b.WriteString(generatedLines[int(c&0x3f)%len(generatedLines)])
		if c&0x80 != 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// generatedSeeds are programs for GenerateDockerfile.
func generatedSeeds() [][]byte {
	idx := func(lines ...string) []byte {
		var prog []byte
		for _, l := range lines {
			i := slices.Index(generatedLines, l)
			if i < 0 {
				panic("no generated line " + l)
			}
			prog = append(prog, byte(i))
		}
		return prog
	}
	return [][]byte{
		idx("ARG A=1", "ARG S=a", "IF A", "FROM busybox AS a", "ELSE", "FROM busybox AS a", "END", "FROM busybox AS b",
			"REQUIRE a", "COPY --from=${S} / /", "FROM scratch", "REQUIRE --if=A b c", "COPY --from=a / /"),
		idx("ARG S=c", "FROM busybox AS a", "RUN --if=B \\", "  && if true; then \\", "fi", "FROM a AS c",
			"RUN <<EOF", "END", "EOF", "FROM ${S} AS c", "IF S == 'a'", "REQUIRE c", "END"),
		idx("ARG A=1", "FROM --if=A busybox AS b", "REQUIRE c", "FROM a AS c", "REQUIRE --if=S b", "IF defined(S)",
			"ELSE IF B", "COPY --if=A \\", "  --from=b / /", "ELSE", "RUN --mount=from=${S},target=/m x", "END"),
	}
}
