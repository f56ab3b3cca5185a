//go:build e2e

package e2e

// A table of malformed extended Dockerfiles, each built for real with
// `docker buildx build` through the frontend image (`# syntax=org/stagefront`
// on line 1, as users write it; `FROM busybox` resolved through the local
// registry, no named context). Every case must:
//
//   - fail (a non-zero exit);
//   - show `Dockerfile:<line>` (buildx's source header) for the line of the
//     problem, with that line marked `>>>`, and no header for another line;
//   - say the intended message (distinctive substrings of the ERROR line);
//   - export nothing (--output type=local,dest=<dir>: dir absent or empty);
//   - show no error step in the progress stream (rawjson) except at most
//     one step whose error is the reported one.
//
// Cases that are plain BuildKit errors are also built with upstream's
// frontend (docker/dockerfile:upstream) and must not be worse than it: where
// upstream shows the right line or the message, so must stagefront.
//
// TestMalformedAdversarial builds generated files (100,000 nested IFs, a
// million stray ENDs, a million ELSEs after ELSE) that must fail within 20 s
// at the right line, and then a normal build on the same daemon.
//
//	hack/e2e -run 'TestMalformed'
//	go test -tags e2e -run 'TestMalformed' ./e2e/

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// malformedCase is one malformed file.
type malformedCase struct {
	name string
	// df is the whole file; line 1 is `# syntax=org/stagefront` (see sf).
	df string
	// line is the 1-based line of the problem: buildx must mark it `>>>`
	// and show the header Dockerfile:<line> (or Dockerfile:<alt>, when the
	// problem sits inside an instruction that starts on an alt line).
	line int
	alt  []int
	// also are more problems of the same file, each shown and marked
	// (errors are reported in one pass).
	also []int
	// want are substrings of the error message (the text buildx prints
	// from its ERROR line on; not the source listing).
	want []string

	buildArgs map[string]string
	target    string
	files     map[string]string
	// upstream: a plain BuildKit error; compare with upstream's frontend.
	upstream bool
}

// sf is a Dockerfile with the stagefront syntax line as line 1 and then
// lines, one per argument (so line n of the file is lines[n-2]).
func stagefrontFile(lines ...string) string {
	return bkharness.SyntaxStagefront + "\n" + strings.Join(lines, "\n") + "\n"
}

func repeatLines(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var malformedCases = []malformedCase{
	// --- blocks -------------------------------------------------------------
	{name: "unclosed IF", line: 4, want: []string{"IF without END"}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=true",
		"FROM busybox",
		"IF INCLUDE_DOCS",
		"RUN echo docs",
	)},
	{name: "unclosed outer IF around a closed inner one", line: 4, want: []string{"IF without END"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"IF A",
		"RUN echo inner",
		"END",
		"RUN echo outer",
	)},
	{name: "stray END", line: 4, want: []string{"END without IF"}, df: stagefrontFile(
		"FROM busybox",
		"RUN echo hi",
		"END",
	)},
	{name: "stray ELSE", line: 3, want: []string{"ELSE without IF"}, df: stagefrontFile(
		"FROM busybox",
		"ELSE",
		"RUN echo hi",
	)},
	{name: "ELSE after ELSE", line: 8, want: []string{"ELSE after ELSE (line 6)"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"ELSE",
		"RUN echo b",
		"ELSE",
		"RUN echo c",
		"END",
	)},
	{name: "ELSE IF after ELSE", line: 8, want: []string{"ELSE IF after ELSE (line 6)"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"ELSE",
		"RUN echo b",
		"ELSE IF A",
		"RUN echo c",
		"END",
	)},
	{name: "ELSE IF without condition", line: 6, want: []string{"empty condition", "ELSE IF"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"ELSE IF",
		"RUN echo b",
		"END",
	)},
	{name: "IF without condition", line: 3, want: []string{"empty condition", "IF"}, df: stagefrontFile(
		"FROM busybox",
		"IF",
		"RUN echo a",
		"END",
	)},
	{name: "text after ELSE", line: 6, want: []string{`unexpected "A" after ELSE`}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"ELSE A",
		"RUN echo b",
		"END",
	)},
	{name: "text after END", line: 6, want: []string{`unexpected "A" after END`}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"END A",
	)},
	{name: "END --if=A", line: 6, want: []string{"END takes no flags"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"END --if=A",
	)},
	{name: "ELSE --if=A", line: 6, want: []string{"ELSE takes no flags"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUN echo a",
		"ELSE --if=A",
		"RUN echo b",
		"END",
	)},
	{name: "IF with flags", line: 4, want: []string{"IF takes no flags"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF --platform=linux/arm64 A",
		"RUN echo a",
		"END",
	)},
	{name: "IF nesting 65 deep", line: 3 + 65, want: []string{"nest 65 deep", "the limit is 64"}, df: stagefrontFile(concat(
		[]string{"ARG X=1", "FROM busybox"},
		repeatLines("IF X", 65),
		[]string{"RUN echo deep"},
		repeatLines("END", 65),
	)...)},

	// --- guards -------------------------------------------------------------
	{name: "empty --if=", line: 4, want: []string{"empty condition in --if="}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=true",
		"FROM busybox",
		"COPY --if= docs/ /docs/",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "--if without =", line: 4, want: []string{"--if="}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=true",
		"FROM busybox",
		"COPY --if INCLUDE_DOCS docs/ /docs/",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "two --if= flags", line: 5, want: []string{"more than one --if= flag"}, df: stagefrontFile(
		"ARG A=true",
		"ARG B=true",
		"FROM busybox",
		"RUN --if=A --if=B echo hi",
	)},
	// The trigger's guard cannot be decided when this file is built (it
	// runs in a later build that may not use stagefront): an error at its
	// line that says so, not a trigger that keeps "--if=A" as text.
	{name: "ONBUILD RUN --if=A", line: 4, want: []string{"ONBUILD", "--if"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"ONBUILD RUN --if=A echo hi",
		"RUN echo after",
	)},
	// The guard is written after the arguments, on the continuation line:
	// BuildKit reads it as COPY's destination (a directory named
	// "--if=INCLUDE_DOCS"). It must be reported as a misplaced guard at its
	// line (the COPY's first line may head the listing, with line 5 marked).
	{name: "guard after the arguments on a continuation line", line: 5, alt: []int{4}, want: []string{"--if=INCLUDE_DOCS"}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=false",
		"FROM busybox",
		"COPY docs/ /usr/share/docs/ \\",
		"    --if=INCLUDE_DOCS",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "--if= split over a continuation", line: 5, want: []string{"spans several lines"}, df: stagefrontFile(
		"ARG A=x",
		"ARG B=y",
		"FROM busybox",
		`RUN --if="A == 'x' && \`,
		`    B == 'y'" echo hi`,
	)},

	// --- conditions ---------------------------------------------------------
	{name: "undeclared name", line: 3, want: []string{"undeclared name DEBUG"}, df: stagefrontFile(
		"FROM busybox",
		"RUN --if=DEBUG echo debug",
	)},
	{name: "an ENV is not a condition name", line: 4, want: []string{"undeclared name DEBUG"}, df: stagefrontFile(
		"FROM busybox",
		"ENV DEBUG=1",
		"RUN --if=DEBUG echo debug",
	)},
	{name: "did-you-mean for a misspelt ARG", line: 4, want: []string{"undeclared name INCLUDE_DOC", "did you mean INCLUDE_DOCS?"}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=true",
		"FROM busybox",
		"COPY --if=INCLUDE_DOC docs/ /docs/",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "did-you-mean for a misspelt platform ARG", line: 3, want: []string{"undeclared name TARGETARC", "did you mean TARGETARCH?"}, df: stagefrontFile(
		"FROM busybox",
		"IF TARGETARC == 'arm64'",
		"RUN echo arm",
		"END",
	)},
	{name: "ARG declared in another stage", line: 6, want: []string{"ONLY_A is declared at line 3, in another stage"}, df: stagefrontFile(
		"FROM busybox AS a",
		"ARG ONLY_A=1",
		"RUN echo a",
		"FROM busybox",
		"IF ONLY_A",
		"RUN echo b",
		"END",
	)},
	{name: "ARG declared below the condition", line: 3, want: []string{"LATE is declared at line 6, below this condition"}, df: stagefrontFile(
		"FROM busybox",
		"IF LATE",
		"RUN echo late",
		"END",
		"ARG LATE=1",
	)},
	{name: "syntax error in a condition with its column", line: 4, want: []string{"Dockerfile:4:16:", "syntax error in condition"}, df: stagefrontFile(
		"ARG A=x",
		"FROM busybox",
		"IF A == 'x' && && A",
		"RUN echo x",
		"END",
	)},
	{name: "syntax error in a condition of a branch that is off", line: 5, want: []string{"syntax error in condition"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"IF A",
		`RUN --if="A ==" echo`,
		"END",
	)},
	{name: "unknown function", line: 3, want: []string{"unknown function exist()", "did you mean exists()?"}, df: stagefrontFile(
		"FROM busybox",
		`IF exist("docs/")`,
		"RUN echo docs",
		"END",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "exists() with 2 args", line: 3, want: []string{"exists", "2 arguments"}, df: stagefrontFile(
		"FROM busybox",
		`IF exists("docs/", "site/")`,
		"RUN echo docs",
		"END",
	), files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "exists() outside the context", line: 3, want: []string{"looks outside the build context"}, df: stagefrontFile(
		"FROM busybox",
		`RUN --if='exists("../etc/passwd")' echo leak`,
	)},
	{name: "non-boolean flag value", line: 4, want: []string{`A="maybe" is not a boolean flag`}, df: stagefrontFile(
		"ARG A=maybe",
		"FROM busybox",
		"RUN --if=A echo hi",
	)},
	{name: "non-boolean flag value from --build-arg", line: 5, want: []string{`INCLUDE_DOCS="maybe" is not a boolean flag`}, df: stagefrontFile(
		"# INCLUDE_DOCS puts the docs into the image.",
		"ARG INCLUDE_DOCS=true",
		"FROM busybox",
		"COPY --if=INCLUDE_DOCS docs/ /docs/",
	), buildArgs: map[string]string{"INCLUDE_DOCS": "maybe"}, files: map[string]string{"docs/index.md": "docs\n"}},
	{name: "type error A == 1", line: 4, want: []string{"numbers are not supported", "quote the number"}, df: stagefrontFile(
		"ARG A=1",
		"FROM busybox",
		"IF A == 1",
		"RUN echo one",
		"END",
	)},
	{name: "invalid regexp in matches", line: 4, want: []string{"not a valid regular expression"}, df: stagefrontFile(
		"ARG VERSION=1.2",
		"FROM busybox",
		"RUN --if=\"VERSION matches '['\" echo v",
	)},
	{name: "condition over 4096 bytes", line: 4, want: []string{"bytes long; the limit is 4096"}, df: stagefrontFile(
		"ARG A=1",
		"FROM busybox",
		"IF A == '"+strings.Repeat("x", 4100)+"'",
		"RUN echo long",
		"END",
	)},
	{name: "all errors in one pass", line: 3, also: []int{5, 6}, want: []string{"undeclared name A", "undeclared name C", "END without IF"}, df: stagefrontFile(
		"FROM busybox",
		"IF A",
		"END",
		"COPY --if=C a.txt /",
		"END",
	), files: map[string]string{"a.txt": "a\n"}},

	// --- REQUIRE --------------------------------------------------------------
	{name: "REQUIRE before FROM", line: 2, want: []string{"REQUIRE before the first FROM"}, df: stagefrontFile(
		"REQUIRE test",
		"FROM busybox AS test",
		"RUN echo test",
		"FROM busybox",
		"RUN echo app",
	)},
	{name: "REQUIRE with no stage", line: 5, want: []string{"REQUIRE names no stage"}, df: stagefrontFile(
		"FROM busybox AS test",
		"RUN echo test",
		"FROM busybox",
		"REQUIRE",
	)},
	{name: "REQUIRE of an unknown stage", line: 5, want: []string{`REQUIRE names "testr"`, `did you mean "tester"?`}, df: stagefrontFile(
		"FROM busybox AS tester",
		"RUN echo test",
		"FROM busybox",
		"REQUIRE testr",
	)},
	{name: "REQUIRE of a turned-off stage", line: 6, want: []string{"REQUIRE test", `stage "test" (line 3) is turned off`}, df: stagefrontFile(
		"ARG RUN_TESTS=false",
		"FROM --if=RUN_TESTS busybox AS test",
		"RUN echo test",
		"FROM busybox",
		"REQUIRE test",
	)},
	// The cycle is made of the two REQUIRE lines; either may be reported.
	{name: "REQUIRE cycle", line: 3, alt: []int{5}, want: []string{"REQUIRE cycle", "a -> b -> a"}, df: stagefrontFile(
		"FROM busybox AS a",
		"REQUIRE b",
		"FROM busybox AS b",
		"REQUIRE a",
		"FROM busybox",
		"REQUIRE a",
	)},
	{name: "REQUIRE of its own stage", line: 3, want: []string{"REQUIRE cycle", "a -> a"}, df: stagefrontFile(
		"FROM busybox AS a",
		"REQUIRE a",
		"RUN echo a",
	)},

	// --- stages -------------------------------------------------------------
	{name: "two live stages with the same name", line: 5, want: []string{`stage "app" is already defined at line 3`}, df: stagefrontFile(
		"ARG SLIM=true",
		"FROM busybox AS app",
		"RUN echo full",
		"FROM --if=SLIM busybox AS app",
		"RUN echo slim",
	)},
	{name: "target turned off", line: 3, want: []string{`target stage "docs" is turned off`}, target: "docs", df: stagefrontFile(
		"ARG INCLUDE_DOCS=false",
		"FROM --if=INCLUDE_DOCS busybox AS docs",
		"RUN echo docs",
		"FROM busybox",
		"RUN echo app",
	)},
	{name: "COPY --from= a turned-off stage", line: 8, want: []string{`COPY --from=docs refers to stage "docs" (line 4), which is turned off by IF INCLUDE_DOCS`}, df: stagefrontFile(
		"ARG INCLUDE_DOCS=false",
		"IF INCLUDE_DOCS",
		"FROM busybox AS docs",
		"RUN mkdir /site",
		"END",
		"FROM busybox",
		"COPY --from=docs /site /usr/share/docs",
	)},
	{name: "RUN --mount=from= a turned-off stage", line: 6, want: []string{`from=cache refers to stage "cache"`, "turned off"}, df: stagefrontFile(
		"ARG WARM=false",
		"FROM --if=WARM busybox AS cache",
		"RUN mkdir /c",
		"FROM busybox",
		"RUN --mount=type=bind,from=cache,target=/c ls /c",
	)},
	{name: "COPY --from=<number> shifted by a turned-off stage", line: 7, want: []string{"COPY --from=1 refers to stage 1 by number", "turned off"}, df: stagefrontFile(
		"ARG X=false",
		"FROM --if=X busybox",
		"FROM busybox",
		"RUN echo one > /one",
		"FROM busybox",
		"COPY --from=1 /one /one",
	)},
	{name: "COPY --from=${X} typo of a stage", line: 7, want: []string{`COPY --from=${X} ("biuld") names no stage of this file`, `did you mean "build"?`}, df: stagefrontFile(
		"ARG X=biuld",
		"FROM busybox AS build",
		"RUN echo out > /out",
		"FROM busybox",
		"RUN --if=true echo extended",
		"COPY --from=${X} /out /out",
	)},
	{name: "COPY --from= typo of a stage in an extended file", line: 6, want: []string{"COPY --from=biuld names no stage of this file", `did you mean "build"?`}, df: stagefrontFile(
		"FROM busybox AS build",
		"RUN echo out > /out",
		"FROM busybox",
		"RUN --if=true echo extended",
		"COPY --from=biuld /out /out",
	)},
	{name: "FROM ${X} typo of a stage", line: 7, want: []string{`FROM=${BUILD_ENV} ("developmnt") names no stage of this file`, `did you mean "development"?`}, df: stagefrontFile(
		"ARG BUILD_ENV=developmnt",
		"FROM busybox AS development",
		"RUN echo dev",
		"FROM busybox AS production",
		"RUN echo prod",
		"FROM ${BUILD_ENV} AS final",
		"RUN echo final",
	)},

	// --- directives and file format ---------------------------------------------
	{name: "a second # syntax= directive", line: 2, upstream: true, want: []string{"only one syntax parser directive"}, df: stagefrontFile(
		"# syntax=docker/dockerfile:1",
		"FROM busybox",
		"RUN echo hi",
	)},
	{name: "# escape=x", line: 2, upstream: true, want: []string{"invalid escape token 'x'"}, df: stagefrontFile(
		"# escape=x",
		"FROM busybox",
		"RUN echo hi",
	)},
	{name: "a line over 64 KiB", line: 3, upstream: true, want: []string{"65535"}, df: stagefrontFile(
		"FROM busybox",
		"RUN echo "+strings.Repeat("x", 70000),
		"RUN echo after",
	)},
	{name: "a line over 64 KiB in an extended file", line: 5, want: []string{"65535"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"RUN --if=A echo hi",
		"RUN echo "+strings.Repeat("x", 70000),
		"RUN echo after",
	)},
	{name: "CRLF line endings - stray END", line: 6, want: []string{"END without IF"},
		df: strings.ReplaceAll(stagefrontFile(
			"ARG A=true",
			"FROM busybox",
			"RUN --if=A echo a",
			"RUN echo b",
			"END",
			"RUN echo c",
		), "\n", "\r\n")},
	{name: "CRLF line endings - unknown instruction after a continuation", line: 6, upstream: true, want: []string{"unknown instruction: RUNN"},
		df: strings.ReplaceAll(stagefrontFile(
			"FROM busybox",
			"RUN echo one \\",
			"    two \\",
			"    three",
			"RUNN echo four",
		), "\n", "\r\n")},
	{name: "UTF-8 BOM - stray END", line: 5, want: []string{"END without IF"}, df: "\ufeff" + stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"RUN --if=A echo a",
		"END",
	)},
	{name: "UTF-8 BOM - COPY with no args", line: 3, upstream: true, want: []string{"COPY requires at least two arguments"}, df: "\ufeff" + stagefrontFile(
		"FROM busybox",
		"COPY",
	)},

	// --- BuildKit's own errors, at the user's line --------------------------------
	{name: "unknown instruction", line: 4, upstream: true, want: []string{"unknown instruction: RUNN"}, df: stagefrontFile(
		"FROM busybox",
		"RUN echo hi",
		"RUNN echo typo",
	)},
	{name: "unknown instruction in a live block", line: 5, want: []string{"unknown instruction: RUNN"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"IF A",
		"RUNN echo typo",
		"END",
	)},
	// A typo in a branch that is off for these build args fails the day
	// the flag flips: report it now, as upstream reports every line.
	{name: "unknown instruction in a branch that is off", line: 5, want: []string{"unknown instruction: RUNN"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"IF A",
		"RUNN echo typo",
		"END",
		"RUN echo hi",
	)},
	{name: "COPY with no args", line: 3, upstream: true, want: []string{"COPY requires at least two arguments"}, df: stagefrontFile(
		"FROM busybox",
		"COPY",
	)},
	{name: "COPY with only a guard", line: 4, want: []string{"COPY requires at least two arguments"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox",
		"COPY --if=A",
	)},
	{name: "FROM with no args inside a live block", line: 4, want: []string{"FROM requires either one or three arguments"}, df: stagefrontFile(
		"ARG A=true",
		"IF A",
		"FROM",
		"END",
	)},
	{name: "unknown flag on a guarded instruction", line: 6, want: []string{"unknown flag: --frm"}, df: stagefrontFile(
		"ARG A=true",
		"FROM busybox AS build",
		"RUN echo out > /out",
		"FROM busybox",
		"COPY --if=A --frm=build /out /out",
	)},
	{name: "error on a line after a heredoc", line: 7, upstream: true, want: []string{"COPY requires at least two arguments"}, df: stagefrontFile(
		"FROM busybox",
		"RUN <<EOF",
		"echo one",
		"echo two",
		"EOF",
		"COPY",
	)},
	{name: "error after a dead heredoc and a dead block", line: 10, want: []string{"COPY requires at least two arguments"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"RUN --if=A <<EOF",
		"echo one",
		"EOF",
		"IF A",
		"RUN echo x",
		"END",
		"COPY",
	)},
	{name: "stray END after a heredoc holding IF and END", line: 8, want: []string{"END without IF"}, df: stagefrontFile(
		"FROM busybox",
		"COPY <<EOF /notes.txt",
		"IF this is text",
		"END",
		"EOF",
		"RUN cat /notes.txt",
		"END",
	)},
	{name: "error on a line after a multi-line continuation", line: 6, upstream: true, want: []string{"unknown instruction: RUNN"}, df: stagefrontFile(
		"FROM busybox",
		"RUN echo one \\",
		"    two \\",
		"    three",
		"RUNN echo four",
	)},
	{name: "stray END after a guarded continuation with a comment and a blank line", line: 10, want: []string{"END without IF"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"RUN --if=A echo one \\",
		"    # a comment",
		"    two \\",
		"",
		"    three",
		"RUN echo four",
		"END",
	)},
	{name: "BuildKit error after a dead multi-line continuation", line: 9, want: []string{"COPY requires at least two arguments"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"RUN --if=A echo one \\",
		"    two \\",
		"    three",
		"IF A",
		"END",
		"COPY",
	)},
	// dockerfile2llb gives these no location; stagefront finds the COPY.
	{name: "COPY --from= an index past the last stage", line: 5, want: []string{"invalid stage index 7"}, df: stagefrontFile(
		"ARG A=false",
		"FROM busybox",
		"COPY --if=A --from=7 / /",
		"COPY --from=7 / /",
	)},
	{name: "COPY --from= a variable left unset", line: 5, want: []string{"variable expansion is not supported for --from"}, df: stagefrontFile(
		"ARG X",
		"FROM busybox AS a",
		"FROM busybox",
		"COPY --from=${X} / /",
	)},
}

var (
	header = regexp.MustCompile(`(?m)^Dockerfile:(\d+)\r?$`)
)

// outcome is what one buildx run of a malformed file showed.
type outcome struct {
	failed   bool
	headers  []int  // the Dockerfile:<n> headers buildx printed
	message  string // from buildx's ERROR line to the end
	exported []string
	errSteps []string // steps with an error
	took     time.Duration
	out      string // stderr, lines trimmed for reading
}

func runMalformed(t *testing.T, c malformedCase, df string) outcome {
	t.Helper()
	r := bkharness.Buildx(t, bkharness.Opts{
		Dockerfile: df,
		Files:      c.files,
		BuildArgs:  c.buildArgs,
		Target:     c.target,
		Progress:   "rawjson",
		Timeout:    2 * time.Minute,
	})
	o := outcome{failed: r.Err != nil, took: r.Took, out: trimmed(r.Progress)}
	for _, m := range header.FindAllStringSubmatch(r.Progress, -1) {
		n, _ := strconv.Atoi(m[1])
		o.headers = append(o.headers, n)
	}
	o.message = messageOf(r.Progress)
	if _, err := os.Stat(r.Dir); err == nil {
		o.exported = r.Files(t) // an empty directory is no export
	}
	for _, v := range r.Vertices() {
		if v.Error != "" {
			o.errSteps = append(o.errSteps, v.Name+": "+v.Error)
		}
	}
	return o
}

// messageOf is buildx's error: from the first line that starts with
// "ERROR: " to the end (the source listings come before it).
func messageOf(stderr string) string {
	i := strings.Index(stderr, "\nERROR: ")
	if strings.HasPrefix(stderr, "ERROR: ") {
		i = 0
	} else if i < 0 {
		return ""
	} else {
		i++
	}
	return stderr[i:]
}

// trimmed keeps what a person reads of buildx's stderr: no rawjson lines,
// long lines cut.
func trimmed(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "{") {
			continue
		}
		if max := 160; len(l) > max && !strings.HasPrefix(l, "ERROR: ") || len(l) > 2000 {
			if strings.HasPrefix(l, "ERROR: ") {
				max = 2000
			}
			l = l[:max] + fmt.Sprintf("...(%d bytes)", len(l))
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// marked reports whether buildx printed line n of df marked ">>>".
func marked(out string, df string, n int) bool {
	lines := strings.Split(strings.TrimPrefix(df, "\ufeff"), "\n")
	text := ""
	if n-1 < len(lines) {
		text = strings.TrimRight(lines[n-1], "\r")
	}
	if len(text) > 40 {
		text = text[:40]
	}
	re := regexp.MustCompile(`(?m)^\s*` + strconv.Itoa(n) + ` \| >>> ` + regexp.QuoteMeta(text))
	return re.MatchString(out)
}

// problem is one thing wrong with an outcome: kind says which
// assertion (to compare with upstream's outcome), text what was seen.
type problem struct{ kind, text string }

// problemsOf lists what is wrong with an outcome for case c.
func problemsOf(c malformedCase, df string, o outcome) []problem {
	var p []problem
	add := func(kind, format string, args ...any) {
		p = append(p, problem{kind, fmt.Sprintf(format, args...)})
	}
	if !o.failed {
		add("exit", "the build succeeded (exit 0)")
	}
	allowed := map[int]bool{}
	headerOK := false
	for _, n := range append([]int{c.line}, c.alt...) {
		allowed[n] = true
		for _, h := range o.headers {
			headerOK = headerOK || h == n
		}
	}
	if !headerOK {
		want := "Dockerfile:" + strconv.Itoa(c.line)
		for _, a := range c.alt {
			want += " or Dockerfile:" + strconv.Itoa(a)
		}
		if len(o.headers) == 0 {
			add("line", "no line: no Dockerfile:<line> header (want %s)", want)
		} else {
			add("line", "wrong line: headers %v, want %s", o.headers, want)
		}
	}
	if !marked(o.out, df, c.line) {
		add("mark", "line %d is not marked >>>", c.line)
	}
	for _, n := range c.also {
		allowed[n] = true
		found := false
		for _, h := range o.headers {
			found = found || h == n
		}
		if !found || !marked(o.out, df, n) {
			add("also", "the problem at line %d is not shown (Dockerfile:%d, marked >>>)", n, n)
		}
	}
	var stray []int
	for _, h := range o.headers {
		if !allowed[h] {
			stray = append(stray, h)
		}
	}
	if len(stray) > 0 && headerOK {
		add("stray", "also points at other lines: %v", stray)
	}
	for _, w := range c.want {
		if !strings.Contains(o.message, w) {
			add("message "+w, "wrong message: lacks %q", w)
		}
	}
	if len(o.exported) > 0 {
		add("export", "exported anyway: %v", firstN(o.exported, 10))
	}
	// The step that reports the error may carry it; nothing else may fail.
	reported := 0
	for _, s := range o.errSteps {
		if reported == 0 && len(c.want) > 0 && strings.Contains(s, c.want[0]) {
			reported++
			continue
		}
		add("step", "unexpected error step: %s", cutTo(s, 300))
	}
	return p
}

func cutTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func TestMalformed(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("table of %d cases took %s", len(malformedCases), time.Since(start).Round(100*time.Millisecond))
	})
	seen := map[string]bool{}
	for _, c := range malformedCases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		if strings.ContainsAny(c.name, ",\"") {
			t.Fatalf("%s: no commas or quotes in case names (the export directory holds the name and buildx's --output is CSV)", c.name)
		}
		if lines := strings.Count(c.df, "\n"); c.line < 1 || c.line > lines {
			t.Fatalf("%s: line %d outside the file (%d lines)", c.name, c.line, lines)
		}
	}
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := runMalformed(t, c, c.df)
			problems := problemsOf(c, c.df, o)
			if c.upstream {
				udf := strings.Replace(c.df, bkharness.SyntaxStagefront, bkharness.SyntaxUpstream, 1)
				u := runMalformed(t, c, udf)
				up := problemsOf(c, udf, u)
				t.Logf("upstream (%s): headers %v; %s", u.took.Round(time.Millisecond), u.headers, bkharness.FirstLine(u.message))
				upKinds := map[string]bool{}
				for _, q := range up {
					upKinds[q.kind] = true
					t.Logf("upstream's own shortcoming on this case: %s", q.text)
				}
				// Not worse than upstream: whatever upstream gets right,
				// stagefront must get right too.
				for _, q := range problems {
					if !upKinds[q.kind] {
						problems = append(problems, problem{"upstream", "worse than upstream, which gets this right: " + q.text})
					}
				}
			}
			t.Logf("stagefront: %s, headers %v", o.took.Round(time.Millisecond), o.headers)
			if len(problems) > 0 {
				var texts []string
				for _, q := range problems {
					texts = append(texts, q.text)
				}
				sort.Strings(texts)
				t.Errorf("%s\n--- buildx output (trimmed):\n%s", strings.Join(texts, "\n"), cutTo(o.out, 6000))
			}
		})
	}
}

// TestMalformedAdversarial: files made to be slow or huge fail fast, at a
// line, and leave the daemon able to build a normal file right after.
func TestMalformedAdversarial(t *testing.T) {
	for _, c := range []struct {
		name  string
		df    func() string
		line  int
		want  string
		limit time.Duration
	}{
		{
			name: "100000 nested IFs",
			df: func() string {
				return stagefrontFile(concat([]string{"ARG X=1", "FROM busybox"}, repeatLines("IF X", 100000), []string{"RUN echo deep"}, repeatLines("END", 100000))...)
			},
			line: 3 + 65, want: "the limit is 64", limit: 20 * time.Second,
		},
		{
			name: "a million stray ENDs",
			df: func() string {
				return stagefrontFile(concat([]string{"FROM busybox", "RUN echo hi"}, repeatLines("END", 1000000))...)
			},
			line: 4, want: "END without IF", limit: 20 * time.Second,
		},
		{
			name: "a million ELSEs after ELSE",
			df: func() string {
				return stagefrontFile(concat([]string{"ARG A=1", "FROM busybox", "IF A", "ELSE"}, repeatLines("ELSE", 1000000), []string{"END"})...)
			},
			line: 6, want: "ELSE after ELSE", limit: 20 * time.Second,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			df := c.df()
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, Progress: "rawjson", Timeout: time.Minute})
			t.Logf("%d-byte file: %s, %d bytes of output", len(df), r.Took.Round(time.Millisecond), len(r.Progress))
			if r.Err == nil {
				t.Errorf("the build succeeded")
			}
			if r.Took > c.limit {
				t.Errorf("took %s, want under %s", r.Took.Round(time.Millisecond), c.limit)
			}
			var headers []int
			for _, m := range header.FindAllStringSubmatch(r.Progress, -1) {
				n, _ := strconv.Atoi(m[1])
				headers = append(headers, n)
			}
			if len(headers) == 0 || headers[0] != c.line {
				t.Errorf("want the header Dockerfile:%d first, got %v", c.line, firstN(headers, 5))
			}
			msg := messageOf(r.Progress)
			if !strings.Contains(msg, c.want) {
				t.Errorf("the message lacks %q", c.want)
			}
			if len(r.Progress) > 1<<20 {
				t.Errorf("%d bytes of error output: the report of one mistake repeated a million times should be bounded", len(r.Progress))
			}
			if files := r.Files(t); len(files) > 0 {
				t.Errorf("exported anyway: %v", firstN(files, 5))
			}
			if t.Failed() {
				t.Logf("buildx output (trimmed):\n%s", cutTo(trimmed(r.Progress), 3000))
			}

			// The daemon still builds a normal file right after.
			ok := bkharness.Buildx(t, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + runInBusybox, Files: runInBusyboxFiles, Timeout: 2 * time.Minute})
			if ok.Err != nil {
				t.Errorf("a normal build right after failed: %v", ok.Err)
			} else {
				checkRunInBusybox(t, ok, "hello")
				t.Logf("normal build right after: %s", ok.Took.Round(time.Millisecond))
			}
		})
	}
}

func firstN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
