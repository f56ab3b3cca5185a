// Package fuzzseed holds what the fuzz targets of the engine
// (rewrite.FuzzRewrite) and of the gateway (builder.FuzzGatewayConvert)
// share: their seeds (the golden cases, hostile shapes, generated files),
// the generator that turns a fuzzer's bytes into extended Dockerfiles,
// and how they check and record errors without a line.
package fuzzseed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TB is what the seeds need of a test or fuzz target.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// Golden is a case of the rewrite's golden folders: its Dockerfile, the
// first build-arg and the target of its options, and whether it is for
// arm64.
type Golden struct {
	Dockerfile  []byte
	Arg, Target string
	Arm         bool
}

// GoldenSeeds reads every case of dir (frontend/rewrite/testdata/rewrite):
// a seed for each of its options files (options, options.NAME).
func GoldenSeeds(tb TB, dir string) []Golden {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*", "Dockerfile"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no golden cases in %s: %v", dir, err)
	}
	var out []Golden
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		optionFiles, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "options*"))
		if len(optionFiles) == 0 {
			optionFiles = []string{""}
		}
		for _, of := range optionFiles {
			g := Golden{Dockerfile: dt}
			opts, _ := os.ReadFile(of)
			for _, line := range strings.Split(string(opts), "\n") {
				key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
				switch {
				case key == "build-arg" && g.Arg == "":
					g.Arg = value
				case key == "platform":
					g.Arm = strings.Contains(value, "arm")
				case key == "target":
					g.Target = value
				}
			}
			out = append(out, g)
		}
	}
	return out
}

// HostileSeeds are shapes a hostile or careless Dockerfile takes, on the
// base image base ("scratch" where nothing is converted, "busybox" where
// the conversion must go on): deep nesting, stray keywords, huge
// conditions, odd escapes, heredocs, BOMs, CRLF and CR line endings, NULs
// and invalid UTF-8, REQUIRE cycles, stages chosen by variables,
// `# check=` comments.
func HostileSeeds(base string) [][]byte {
	nest := func(n int) string {
		return "ARG A=1\nFROM {base}\n" + strings.Repeat("IF A\n", n) + "RUN x\n" + strings.Repeat("END\n", n)
	}
	long := strings.Repeat("A && ", 1000) + "A"
	shapes := []string{
		nest(64), nest(65), nest(200),
		"ARG A=1\nFROM {base}\n" + strings.Repeat("IF A\nELSE IF !A\nELSE\n", 70),
		"FROM {base}\nEND\nEND if\nELSE\nELSE IF A\nEND\n",
		"END\nELSE\nFROM {base}\n",
		"ARG A=1\nFROM {base}\nIF " + long + "\nRUN x\nEND\n",
		"ARG A=1\nFROM {base}\nRUN --if=\"" + long[:4090] + "\" x\n",
		"ARG A=1\nFROM {base}\nIF " + strings.Repeat("(", 2000) + "A" + strings.Repeat(")", 2000) + "\nEND\n",
		"# escape=`\nARG A=1\nFROM {base}\nIF A `\n  && A\nRUN x `\n\nEND\n",
		"# escape=x\nFROM {base}\nIF A\nEND\n",
		"#escape=`\r\nARG A\r\nFROM {base}\r\nCOPY --if=A `\r\n  a /`",
		"ARG A=1\nFROM {base}\nRUN --if=A \\\n",
		"ARG A=1\nFROM {base}\nCOPY --if=A\\ \\\n&&\\ A a /\n",
		"ARG A=1\nFROM {base}\nIF A\nRUN <<EOF\nEND\nELSE\nEOF\nEND\n",
		"ARG A=1\nFROM {base}\nCOPY --if=A <<EOF /x\nEND\nEOF\n",
		"ARG A=1\nFROM {base}\nRUN --if=!A <<-\"EOF\" <<E2\n\tIF A\n\tEOF\nEND\nE2\n",
		"ARG A=1\nFROM {base}\nIF A\nRUN <<EOF\nEND\n",
		"\xEF\xBB\xBF# syntax=org/stagefront\n# check=error=true\nARG A=1\nFROM {base}\nIF A\nRUN x\nEND\n",
		"\xEF\xBB\xBF\xEF\xBB\xBFIF A\nEND\n",
		"\xEF\xBB\xBF",
		"ARG A=1\r\nFROM {base} AS x\r\nIF A\r\nRUN x\r\nELSE\r\nRUN y\r\nEND\r\n",
		"ARG A=1\rFROM {base}\rIF A\rRUN x\rEND\r",
		"ARG A=1\nFROM {base}\r\nIF A\rRUN x\r\nEND",
		"ARG A=1\nFROM {base}\nIF A == '\x00'\nRUN \x00\nEND\n",
		"ARG A=\xff\nFROM {base}\nIF A == '\xff\xfe' || \xc3\nEND\n",
		"ARG A=1\nFROM {base}\nIF 'é' == A &&\nEND\nRUN --if=\"'ü' == A ==\" x\n",
		"FROM {base} AS a\nREQUIRE b\nFROM {base} AS b\nREQUIRE a\nFROM {base}\nREQUIRE a b c\n",
		"FROM {base} AS a\nREQUIRE b\nFROM {base} AS b\nRUN --if=A true\nFROM {base} AS x\nREQUIRE a b\nCOPY --from=a / /\n",
		"ARG A=1\nIF A\nFROM {base} AS x\nELSE\nFROM {base} AS x\nEND\nFROM x\nCOPY --from=x / /\nRUN --mount=from=$A x\n",
		"ARG A=1\nIF A\nFROM {base} AS x\nELSE\nFROM {base} AS y\nEND\nCOPY --from=x / /\nRUN --if=A x\n",
		"ARG S=x\nFROM {base} AS x\nFROM ${S}\nCOPY --from=${S} / /\nCOPY --from=$S$S / /\nRUN --mount=from=${S:-y},target=/m x\n",
		"FROM {base}\nCOPY --if --if= --if=A --if=B a /\nREQUIRE\nREQUIRE --if=\nIF\nELSE IF\nEND\n",
		"ARG A=1\nFROM {base}\nIF exists(\"../x\") || exists(\"/**/*\") || exists(A) || defined(A)\nEND\n",
		"ARG A=1\nFROM {base}\nIF A matches '(' || A matches A\nEND\n",
		"# check=skip=all\nARG A=1\nFROM {base} AS x\n# check=error=true\nRUN --if=A apt-get install x\nUSER root\nONBUILD RUN --if=A x\n",
	}
	out := make([][]byte, len(shapes))
	for i, s := range shapes {
		out[i] = []byte(strings.ReplaceAll(s, "{base}", base))
	}
	return out
}

// generatedLines are the lines Generate picks from: the extension
// constructs and what they interact with (stages a, b, c; ARGs A, B, S),
// with the shapes that span lines (continuations, heredocs) cut into
// their lines.
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

// Generate turns prog into a Dockerfile, a line per byte: the byte's low
// six bits pick the line, its top bit ends it with CRLF instead of LF.
// The fuzzer's byte mutations of a program are line mutations of a file
// made of extension constructs.
func Generate(prog []byte) []byte {
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

// GeneratedSeeds are programs for Generate: alternative stages, REQUIREs,
// stages chosen by ARGs, continuations and heredocs across blocks.
func GeneratedSeeds() [][]byte {
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
		idx("ARG A=1", "FROM busybox AS a", "IF A", "FROM busybox AS b", "END", "RUN --if=A x", "COPY --from=a / /", "REQUIRE c"),
	}
}

// HasLine reports whether err carries a parser location on a line (>= 1).
func HasLine(err error) bool {
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

// RecordLineless appends an error that carries no line to the file
// $STAGEFRONT_FUZZ_RECORD, when set: one tab-separated line of target,
// kind, message and input (both quoted, cut to 300 bytes). Fuzzing runs
// in several processes; each record is one append.
func RecordLineless(target, kind string, err error, dt []byte) {
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
