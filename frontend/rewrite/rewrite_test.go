package rewrite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/org/stagefront/frontend/analysis"
)

// df joins lines into a Dockerfile, one "\n" after each.
func df(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

type fakeContext map[string]bool

func (f fakeContext) Exists(_ context.Context, p string) (bool, error) { return f[p], nil }

func run(t *testing.T, in string, args map[string]string, platform string, mod func(*Options)) (*Result, error) {
	t.Helper()
	opt := Options{BuildArgs: args, BuildPlatform: platforms.MustParse("linux/amd64"), TargetPlatform: platforms.MustParse("linux/amd64"), ListFlags: true}
	if platform != "" {
		opt.TargetPlatform = platforms.MustParse(platform)
	}
	if mod != nil {
		mod(&opt)
	}
	return Rewrite(context.Background(), []byte(in), opt)
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		args     map[string]string
		platform string
		mod      func(*Options)
		want     string
	}{{
		name: "no extension is byte-identical",
		in:   df("FROM busybox AS a", "RUN if true; then \\", "  echo hi; \\", "fi", "FROM a", "COPY --from=a / /"),
		want: df("FROM busybox AS a", "RUN if true; then \\", "  echo hi; \\", "fi", "FROM a", "COPY --from=a / /"),
	}, {
		name: "IF true keeps the body, blanks the keywords",
		in:   df("ARG X=1", "FROM scratch", "IF X", "COPY a /a", "END", "COPY b /b"),
		want: df("ARG X=1", "FROM scratch", "#", "COPY a /a", "#", "COPY b /b"),
	}, {
		name: "IF false blanks the body",
		in:   df("ARG X=off", "FROM scratch", "IF X", "COPY a /a", "END", "COPY b /b"),
		want: df("ARG X=off", "FROM scratch", "#", "#", "#", "COPY b /b"),
	}, {
		name: "ELSE IF and ELSE pick one branch",
		in:   df("ARG E=stage", "FROM scratch", "IF E == 'dev'", "COPY d /", "ELSE IF E == 'stage'", "COPY s /", "ELSE", "COPY p /", "END"),
		want: df("ARG E=stage", "FROM scratch", "#", "#", "#", "COPY s /", "#", "#", "#"),
	}, {
		name: "first true branch wins",
		in:   df("ARG E=x", "FROM scratch", "IF E == 'x'", "COPY 1 /", "ELSE IF E startsWith 'x'", "COPY 2 /", "END"),
		want: df("ARG E=x", "FROM scratch", "#", "COPY 1 /", "#", "#", "#"),
	}, {
		name: "ELSE when nothing holds",
		in:   df("ARG E=prod", "FROM scratch", "IF E == 'dev'", "COPY d /", "ELSE", "COPY p /", "END"),
		want: df("ARG E=prod", "FROM scratch", "#", "#", "#", "COPY p /", "#"),
	}, {
		name: "keywords are case-insensitive",
		in:   df("ARG E=b", "FROM scratch", "if E == 'a'", "COPY a /", "Else If E == 'b'", "COPY b /", "else", "COPY c /", "end"),
		want: df("ARG E=b", "FROM scratch", "#", "#", "#", "COPY b /", "#", "#", "#"),
	}, {
		name: "nested blocks",
		in:   df("ARG A=1", "ARG B=0", "FROM scratch", "IF A", "IF B", "COPY ab /", "ELSE", "COPY a /", "END", "END"),
		want: df("ARG A=1", "ARG B=0", "FROM scratch", "#", "#", "#", "#", "COPY a /", "#", "#"),
	}, {
		name: "nested block under a false IF is not evaluated",
		in:   df("ARG A=0", "ARG B=notabool", "FROM scratch", "IF A", "IF B", "COPY x /", "END", "END"),
		want: df("ARG A=0", "ARG B=notabool", "FROM scratch", "#", "#", "#", "#", "#"),
	}, {
		name: "--if stripped in place, quoted or not",
		in:   df("ARG DOCS=true", "FROM scratch", "COPY --if=DOCS --chown=1 a /a", `RUN --if="TARGETARCH == 'amd64'" echo amd`, "RUN --if='TARGETARCH == \"arm64\"' echo arm"),
		want: df("ARG DOCS=true", "FROM scratch", "COPY --chown=1 a /a", "RUN echo amd", "#"),
	}, {
		name:     "per-platform: arm64 keeps the other line",
		platform: "linux/arm64",
		in:       df("FROM scratch", `RUN --if="TARGETARCH == 'amd64'" echo amd`, "RUN --if='TARGETARCH == \"arm64\"' echo arm"),
		want:     df("FROM scratch", "#", "RUN echo arm"),
	}, {
		name:     "TARGETPLATFORM and variants",
		platform: "linux/arm/v7",
		in:       df("FROM scratch", "IF TARGETPLATFORM == 'linux/arm/v7' && TARGETVARIANT == 'v7' && defined(TARGETVARIANT)", "COPY v7 /", "END"),
		want:     df("FROM scratch", "#", "COPY v7 /", "#"),
	}, {
		name: "a guarded FROM turns off its whole stage",
		in:   df("ARG DOCS=false", "FROM --if=DOCS busybox AS docs", "RUN make docs", "COPY x /", "FROM scratch", "COPY --if=DOCS --from=docs /site /docs"),
		want: df("ARG DOCS=false", "#", "#", "#", "FROM scratch", "#"),
	}, {
		name: "alternative stages with one name in exclusive branches",
		in:   df("ARG BUILD_ENV=production", "IF BUILD_ENV == 'development'", "FROM busybox AS final", "RUN echo dev", "ELSE", "FROM scratch AS final", "COPY app /", "END"),
		want: df("ARG BUILD_ENV=production", "#", "#", "#", "#", "FROM scratch AS final", "COPY app /", "#"),
	}, {
		name: "instructions after END belong to the stage before",
		args: map[string]string{"BUILD_ENV": "development"},
		in:   df("ARG BUILD_ENV=production", "IF BUILD_ENV == 'development'", "FROM busybox AS final", "ELSE", "FROM scratch AS final", "END", "COPY app /"),
		want: df("ARG BUILD_ENV=production", "#", "FROM busybox AS final", "#", "#", "#", "#"),
	}, {
		name: "a build arg overrides the default",
		args: map[string]string{"DOCS": "yes"},
		in:   df("ARG DOCS=no", "FROM scratch", "COPY --if=DOCS a /"),
		want: df("ARG DOCS=no", "FROM scratch", "COPY a /"),
	}, {
		name: "defaults expand like upstream",
		in:   df("ARG A=1", "ARG B=${A:+on}", "ARG C=${UNSET:-off}", "FROM scratch", "COPY --if=B b /", "COPY --if=C c /"),
		want: df("ARG A=1", "ARG B=${A:+on}", "ARG C=${UNSET:-off}", "FROM scratch", "COPY b /", "#"),
	}, {
		name: "global ARGs expand in global defaults, with the platform ARGs",
		in:   df("ARG P=${TARGETARCH}-x", "FROM scratch", "COPY --if=\"P == 'amd64-x'\" a /"),
		want: df("ARG P=${TARGETARCH}-x", "FROM scratch", "COPY a /"),
	}, {
		name: "stage ARGs shadow globals; a bare stage ARG inherits the global",
		in:   df("ARG A=1", "ARG B=1", "FROM scratch", "ARG A=0", "ARG B", "COPY --if=A a /", "COPY --if=B b /"),
		want: df("ARG A=1", "ARG B=1", "FROM scratch", "ARG A=0", "ARG B", "#", "COPY b /"),
	}, {
		name: "conditions see globals in stages without redeclaring",
		in:   df("ARG DOCS=1", "FROM scratch", "IF DOCS", "COPY d /", "END"),
		want: df("ARG DOCS=1", "FROM scratch", "#", "COPY d /", "#"),
	}, {
		name: "defined() and empty values",
		args: map[string]string{"B": ""},
		in:   df("ARG A", "ARG B", "FROM scratch", "COPY --if=defined(A) a /", "COPY --if=defined(B) b /", "COPY --if=!A c /"),
		want: df("ARG A", "ARG B", "FROM scratch", "#", "COPY b /", "COPY c /"),
	}, {
		name: "operators: in, matches, endsWith, contains, !, ||, parentheses",
		in:   df("ARG V=1.22.3", "FROM scratch", "COPY --if=\"V in ['1.22.3', '1.23']\" a /", "COPY --if=\"V matches '^1[.]2[0-9]'\" b /", "COPY --if=\"!(V endsWith '.3') || V contains 'x'\" c /"),
		want: df("ARG V=1.22.3", "FROM scratch", "COPY a /", "COPY b /", "#"),
	}, {
		name: "exists() asks the context",
		mod:  func(o *Options) { o.Context = fakeContext{"docs": true} },
		in:   df("FROM scratch", "COPY --if='exists(\"docs/\")' docs /docs", "COPY --if='exists(\"missing\")' missing /m"),
		want: df("FROM scratch", "COPY docs /docs", "#"),
	}, {
		name: "shell if/else/end inside RUN continuations and heredocs is shell",
		in: df("ARG X=0", "FROM busybox", "IF X", "RUN echo x", "END", "RUN if [ -f a ]; then \\", "if true; then echo; fi; \\", "else \\", "  end; \\", "fi",
			"RUN <<EOF", "IF something", "END", "else", "EOF"),
		want: df("ARG X=0", "FROM busybox", "#", "#", "#", "RUN if [ -f a ]; then \\", "if true; then echo; fi; \\", "else \\", "  end; \\", "fi",
			"RUN <<EOF", "IF something", "END", "else", "EOF"),
	}, {
		name: "a dead heredoc instruction is blanked whole",
		in:   df("ARG X=0", "FROM busybox", "RUN --if=X <<EOF", "IF inside", "END", "EOF", "RUN true"),
		want: df("ARG X=0", "FROM busybox", "#", "#", "#", "#", "RUN true"),
	}, {
		name: "--if on a continuation line, with comments inside the continuation",
		in:   df("ARG X=1", "FROM busybox", "COPY \\", "  # a comment", "  --if=X \\", "  --chown=1 \\", "", "  a /a"),
		want: df("ARG X=1", "FROM busybox", "COPY \\", "  # a comment", "  \\", "  --chown=1 \\", "", "  a /a"),
	}, {
		name: "a dead instruction with comments inside its continuation",
		in:   df("ARG X=0", "FROM busybox", "RUN --if=X echo \\", "# comment", "  more", "RUN true"),
		want: df("ARG X=0", "FROM busybox", "#", "#", "#", "RUN true"),
	}, {
		name: "CRLF line endings are kept",
		in:   "ARG X=0\r\nFROM scratch\r\nIF X\r\nCOPY a /\r\nEND\r\nCOPY --if=!X b /\r\n",
		want: "ARG X=0\r\nFROM scratch\r\n#\r\n#\r\n#\r\nCOPY b /\r\n",
	}, {
		name: "a BOM is kept",
		in:   "\xEF\xBB\xBFIF TARGETOS == 'linux'\nFROM scratch\nEND\n",
		want: "\xEF\xBB\xBF#\nFROM scratch\n#\n",
	}, {
		name: "the escape directive and backtick continuations",
		in:   df("# escape=`", "ARG X=1", "FROM scratch", "COPY --if=X `", "  --chown=1 a /a", "IF !X", "COPY b /", "END"),
		want: df("# escape=`", "ARG X=1", "FROM scratch", "COPY `", "  --chown=1 a /a", "#", "#", "#"),
	}, {
		name: "directives stay",
		in:   df("# syntax=org/stagefront", "# check=skip=all", "ARG X=0", "FROM scratch", "COPY --if=X a /"),
		want: df("# syntax=org/stagefront", "# check=skip=all", "ARG X=0", "FROM scratch", "#"),
	}, {
		name: "a dead ARG declares nothing",
		in:   df("ARG A=1", "FROM scratch", "ARG --if=false B=1", "ARG C=1", "COPY --if=defined(B) b /", "COPY --if=C c /"),
		want: df("ARG A=1", "FROM scratch", "#", "ARG C=1", "#", "COPY c /"),
	}, {
		name: "no final newline",
		in:   "ARG X=0\nFROM scratch\nCOPY --if=X a /",
		want: "ARG X=0\nFROM scratch\n#",
	}, {
		name: "REQUIRE is blanked for the converter",
		in:   df("FROM busybox AS test", "RUN true", "FROM scratch", "REQUIRE test", "COPY a /"),
		want: df("FROM busybox AS test", "RUN true", "FROM scratch", "#", "COPY a /"),
	}, {
		name: "REQUIRE is annotated for people",
		mod:  func(o *Options) { o.Annotate = true },
		in:   df("FROM busybox AS test", "FROM busybox AS lint", "FROM scratch", "REQUIRE test lint", "REQUIRE --if=false lint", "COPY a /"),
		want: df("FROM busybox AS test", "FROM busybox AS lint", "FROM scratch", "# REQUIRE test lint (stagefront: these stages must pass)", "#", "COPY a /"),
	}, {
		name: "a numbered reference is fine when nothing before it is off",
		in:   df("ARG X=0", "FROM busybox", "FROM busybox", "COPY --from=0 / /", "FROM --if=X scratch"),
		want: df("ARG X=0", "FROM busybox", "FROM busybox", "COPY --from=0 / /", "#"),
	}, {
		name: "COPY --from=${VAR} is resolved in place (upstream does not expand it)",
		args: map[string]string{"SRC": "build-dev"},
		in:   df("ARG SRC=build-prod", "FROM busybox AS build-dev", "FROM busybox AS build-prod", "FROM scratch", "COPY --if=true --from=${SRC} /out /out", "COPY --from=$SRC --chown=1 /a /a"),
		want: df("ARG SRC=build-prod", "FROM busybox AS build-dev", "FROM busybox AS build-prod", "FROM scratch", "COPY --from=build-dev /out /out", "COPY --from=build-dev --chown=1 /a /a"),
	}, {
		name: "RUN --mount=from=${VAR} is resolved in place",
		in:   df("ARG DEPS=deps-prod", "FROM busybox AS deps-prod", "FROM busybox", "RUN --mount=type=bind,from=${DEPS},target=/d ls /d", `RUN --mount="type=bind,from=$DEPS,source=/a,target=/b" true`),
		want: df("ARG DEPS=deps-prod", "FROM busybox AS deps-prod", "FROM busybox", "RUN --mount=type=bind,from=deps-prod,target=/d ls /d", "RUN --mount=type=bind,from=deps-prod,source=/a,target=/b true"),
	}, {
		name: "FROM ${BUILD_ENV} that names a stage is left to the converter",
		in:   df("ARG BUILD_ENV=production", "FROM busybox AS development", "FROM scratch AS production", "IF true", "END", "FROM ${BUILD_ENV} AS final"),
		want: df("ARG BUILD_ENV=production", "FROM busybox AS development", "FROM scratch AS production", "#", "#", "FROM ${BUILD_ENV} AS final"),
	}, {
		name: "a standard file's FROM ${BUILD_ENV} selecting a stage, or an image, is untouched",
		args: map[string]string{"BASE": "alpine:3.20"},
		in:   df("ARG BUILD_ENV=production", "ARG BASE", "FROM busybox AS development", "FROM scratch AS production", "FROM ${BASE} AS img", "FROM ${BUILD_ENV} AS final"),
		want: df("ARG BUILD_ENV=production", "ARG BASE", "FROM busybox AS development", "FROM scratch AS production", "FROM ${BASE} AS img", "FROM ${BUILD_ENV} AS final"),
	}, {
		name: "a stage the target does not reach is not checked",
		in:   df("ARG V=x", "FROM busybox AS builder", "FROM buildr-${V} AS unused", "FROM scratch", "COPY --if=true --from=builder / /"),
		want: df("ARG V=x", "FROM busybox AS builder", "FROM buildr-${V} AS unused", "FROM scratch", "COPY --from=builder / /"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, tc.in, tc.args, tc.platform, tc.mod)
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			if got := string(res.Dockerfile); got != tc.want {
				t.Errorf("rewrite mismatch\n--- got\n%s--- want\n%s", got, tc.want)
			}
			if strings.Count(string(res.Dockerfile), "\n") != strings.Count(tc.in, "\n") {
				t.Errorf("line count changed")
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	deep := "ARG X=1\nFROM scratch\n" + strings.Repeat("IF X\n", 65) + strings.Repeat("END\n", 65)
	for _, tc := range []struct {
		name string
		in   string
		args map[string]string
		mod  func(*Options)
		// want are "LINE: substring" pairs, one per expected error, in order.
		want []string
	}{
		{"ELSE without IF", df("FROM scratch", "ELSE"), nil, nil, []string{"2: ELSE without IF"}},
		{"END without IF", df("FROM scratch", "END"), nil, nil, []string{"2: END without IF"}},
		{"ELSE after ELSE", df("FROM scratch", "IF true", "ELSE", "ELSE", "END"), nil, nil, []string{"4: ELSE after ELSE (line 3)"}},
		{"ELSE IF after ELSE", df("FROM scratch", "IF true", "ELSE", "ELSE IF true", "END"), nil, nil, []string{"4: ELSE IF after ELSE (line 3)"}},
		{"unclosed IF reported at the IF", df("FROM scratch", "IF true", "IF false", "END", "COPY a /"), nil, nil, []string{"2: IF without END"}},
		{"empty IF", df("FROM scratch", "IF", "END"), nil, nil, []string{"2: empty condition"}},
		{"empty ELSE IF", df("FROM scratch", "IF true", "ELSE IF", "END"), nil, nil, []string{"3: empty condition"}},
		{"empty --if", df("FROM scratch", "COPY --if= a /"), nil, nil, []string{"2: empty condition in --if="}},
		{"text after ELSE", df("FROM scratch", "IF true", "ELSE true", "END"), nil, nil, []string{`3: unexpected "true" after ELSE`}},
		{"syntax error with its column", df("ARG A=1", "FROM scratch", "IF A == 'x' &&", "END"), nil, nil, []string{"3:14: IF A == 'x' &&: syntax error in condition: unexpected token EOF"}},
		{"syntax error inside --if", df("ARG A=1", "FROM scratch", "COPY --if=A=='x' a /"), nil, nil, []string{"3:"}},
		{"unknown function", df("ARG A=1", "FROM scratch", "IF exist('a')", "END"), nil, nil, []string{"3:4: IF exist('a'): unknown function exist(); did you mean exists()?"}},
		{"builtins are not functions", df("ARG A=1", "FROM scratch", "IF len(A) > 1", "END"), nil, nil, []string{"3:4: IF len(A) > 1: unknown function len()"}},
		{"type error", df("ARG A=1", "FROM scratch", "IF A == 1", "END"), nil, nil, []string{"3:6: IF A == 1: type error in condition: invalid operation: == (mismatched types string and int)"}},
		{"undeclared name with did-you-mean", df("ARG INCLUDE_DOCS=1", "FROM scratch", "COPY --if=INCLUDE_DOC a /"), nil, nil, []string{"3:11: --if=INCLUDE_DOC: undeclared name INCLUDE_DOC; did you mean INCLUDE_DOCS?"}},
		{"platform ARG typo", df("FROM scratch", "IF TARGETARC == 'arm64'", "END"), nil, nil, []string{"2:4: IF TARGETARC == 'arm64': undeclared name TARGETARC; did you mean TARGETARCH?"}},
		{"name declared below", df("FROM scratch", "IF LATE", "END", "ARG LATE=1"), nil, nil, []string{"2:4: IF LATE: LATE is declared at line 4, below this condition"}},
		{"name declared in another stage", df("FROM scratch AS a", "ARG ONLY_A=1", "FROM scratch", "IF ONLY_A", "END"), nil, nil, []string{"4:4: IF ONLY_A: ONLY_A is declared at line 2, in another stage"}},
		{"non-boolean flag quotes the value", df("ARG DOCS", "FROM scratch", "COPY --if=DOCS a /"), map[string]string{"DOCS": "maybe"}, nil, []string{`3: --if=DOCS: DOCS="maybe" is not a boolean flag`}},
		{"two live stages with one name", df("ARG X=1", "FROM scratch AS a", "FROM --if=X scratch AS a"), nil, nil, []string{`3: stage "a" is already defined at line 2`}},
		{"COPY --from a stage that is off", df("ARG DOCS=false", "IF DOCS", "FROM busybox AS docs", "END", "FROM scratch", "COPY --from=docs /site /"), nil, nil,
			[]string{`6: COPY --from=docs refers to stage "docs" (line 3), which is turned off by IF DOCS (line 2) with DOCS="false"`}},
		{"RUN --mount from a stage that is off", df("ARG X=0", "FROM --if=X busybox AS src", "FROM busybox", "RUN --mount=type=bind,from=src,target=/s true"), nil, nil,
			[]string{`4: RUN --mount from=src refers to stage "src" (line 2), which is turned off by --if=X (line 2) with X="0"`}},
		{"FROM a stage that is off", df("ARG X=0", "FROM --if=X busybox AS base", "FROM base"), nil, nil, []string{`3: FROM=base refers to stage "base"`}},
		{"a target that is off", df("ARG X=0", "FROM --if=X busybox AS t", "FROM scratch"), nil, func(o *Options) { o.Target = "t" }, []string{`2: target stage "t" is turned off by --if=X (line 2)`}},
		{"a numbered reference that would shift", df("ARG X=0", "FROM --if=X busybox", "FROM busybox", "FROM scratch", "COPY --from=1 / /"), nil, nil, []string{"5: COPY --from=1 refers to stage 1 by number, but 1 stage(s) before it are turned off"}},
		{"nesting deeper than 64", deep, nil, nil, []string{"67: IF blocks nest 65 deep; the limit is 64"}},
		{"a condition longer than 4 KiB", df("ARG A=1", "FROM scratch", "IF A == '"+strings.Repeat("x", 4100)+"'", "END"), nil, nil, []string{"3: IF A == 'xxx"}},
		{"REQUIRE an unknown stage", df("FROM busybox AS tester", "FROM scratch", "REQUIRE testr"), nil, nil, []string{`3: REQUIRE names "testr", which is not a stage of this file; did you mean "tester"?`}},
		{"REQUIRE before FROM", df("REQUIRE x", "FROM scratch AS x"), nil, nil, []string{"1: REQUIRE before the first FROM"}},
		{"REQUIRE a stage that is off", df("ARG T=0", "FROM --if=T busybox AS test", "FROM scratch", "REQUIRE test"), nil, nil, []string{`4: REQUIRE test: stage "test" (line 2) is turned off by --if=T`}},
		{"REQUIRE cycle", df("FROM busybox AS a", "REQUIRE b", "FROM busybox AS b", "COPY --from=a / /", "FROM scratch", "REQUIRE a"), nil, nil, []string{"1: REQUIRE cycle: a -> b -> a"}},
		{"exists() outside the context", df("FROM scratch", "IF exists('../etc')", "END"), nil, func(o *Options) { o.Context = fakeContext{} }, []string{"2: IF exists('../etc'): exists(\"../etc\") looks outside the build context"}},
		{"exists() without a context", df("FROM scratch", "IF exists('a')", "END"), nil, nil, []string{"2: IF exists('a'): exists(\"a\") needs the build context"}},
		{"flags on keywords", df("ARG A=1", "FROM scratch", "IF --x A", "END"), nil, nil, []string{"3: IF takes no flags"}},
		{"two --if flags", df("FROM scratch", "COPY --if=true --if=false a /"), nil, nil, []string{"2: more than one --if= flag"}},
		{"FROM ${BUILD_ENV} with a typo gets a did-you-mean, not a pull", df("ARG BUILD_ENV=developmnt", "FROM busybox AS development", "FROM scratch AS production", "IF true", "END", "FROM ${BUILD_ENV} AS final"), nil, nil,
			[]string{`6: FROM=${BUILD_ENV} ("developmnt") names no stage of this file; did you mean "development"? The stages are: development, production`}},
		{"a standard file's FROM ${BUILD_ENV} with a typo gets the did-you-mean too", df("ARG BUILD_ENV=production", "FROM busybox AS development", "FROM scratch AS production", "FROM ${BUILD_ENV} AS final"), map[string]string{"BUILD_ENV": "prodution"}, nil,
			[]string{`4: FROM=${BUILD_ENV} ("prodution") names no stage of this file; did you mean "production"?`}},
		{"REQUIRE cycle through COPY --from=${X}", df("ARG X=a", "FROM busybox AS a", "REQUIRE b", "FROM busybox AS b", "COPY --from=${X} / /", "FROM scratch", "REQUIRE a"), nil, nil, []string{"2: REQUIRE cycle: a -> b -> a"}},
		{"COPY --from with a typo", df("FROM busybox AS builder", "FROM scratch", "COPY --if=true --from=buidler / /"), nil, nil, []string{`3: COPY --from=buidler names no stage of this file; did you mean "builder"?`}},
		{"RUN --mount from=${X} with a typo", df("ARG X=cache-stage", "FROM busybox AS cache-stag", "FROM busybox", "RUN --if=true --mount=from=${X},target=/c true"), nil, nil, []string{`4: RUN --mount from=${X} ("cache-stage") names no stage of this file; did you mean "cache-stag"?`}},
		{"COPY --from=${VAR} without a value", df("FROM busybox AS a", "FROM scratch", "COPY --from=${NOPE} / /"), nil, nil, []string{"3: COPY --from=${NOPE}: NOPE has no value here"}},
		{"all errors in one pass", df("ARG A=1", "FROM scratch", "IF B", "END", "COPY --if=C a /", "END"), nil, nil,
			[]string{"3:4: IF B: undeclared name B", "5:11: --if=C: undeclared name C", "6: END without IF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.in, tc.args, "", tc.mod)
			var el ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("want an ErrorList, got %v", err)
			}
			if len(el) != len(tc.want) {
				t.Fatalf("want %d errors, got %d:\n%v", len(tc.want), len(el), err)
			}
			for i, w := range tc.want {
				got := strings.TrimPrefix(el[i].Error(), "Dockerfile:")
				if !strings.HasPrefix(got, w) && !strings.Contains(got, w) || !strings.HasPrefix(got, strings.SplitN(w, ":", 2)[0]+":") {
					t.Errorf("error %d:\n got %s\nwant %s", i, got, w)
				}
			}
		})
	}
}

func TestFlagsOnTargetPath(t *testing.T) {
	in := df(
		"# INCLUDE_DOCS adds the docs site.",
		"ARG INCLUDE_DOCS=false",
		"ARG BUILD_ENV=production",
		"ARG UNRELATED=1",
		"FROM busybox AS docs",
		"FROM busybox AS other",
		"COPY --if=UNRELATED a /",
		"IF BUILD_ENV == 'development'",
		"FROM busybox AS final",
		"ELSE",
		"FROM scratch AS final",
		"END",
		"COPY --if=INCLUDE_DOCS --from=docs /site /docs",
	)
	res, err := run(t, in, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Flags {
		got = append(got, fmt.Sprintf("%s=%s doc=%q line=%d used=%v", f.Name, f.Value, f.Doc, f.Line, f.UsedAt))
	}
	want := []string{
		`BUILD_ENV=production doc="" line=3 used=[8]`,
		`INCLUDE_DOCS=false doc="adds the docs site." line=2 used=[13]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("flags:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := res.Stages[2]; s.Live || !strings.Contains(s.OffBy, "IF BUILD_ENV == 'development' (line 8)") {
		t.Errorf("stage 2: %+v", s)
	}
	if s := res.Stages[3]; !s.Live || len(s.Conditions) != 1 {
		t.Errorf("stage 3: %+v", s)
	}
	res, err = run(t, in, nil, "", func(o *Options) { o.Target = "other" })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flags) != 1 || res.Flags[0].Name != "UNRELATED" {
		t.Errorf("flags for target other: %+v", res.Flags)
	}
	// A build does not ask for the flags, and does not pay for them.
	res, err = run(t, in, nil, "", func(o *Options) { o.ListFlags = false })
	if err != nil {
		t.Fatal(err)
	}
	if res.Flags != nil {
		t.Errorf("flags listed without ListFlags: %+v", res.Flags)
	}
}

func TestGates(t *testing.T) {
	in := df("ARG RUN_TESTS=true",
		"FROM busybox AS lint", "FROM busybox AS unit", "REQUIRE lint",
		"FROM busybox AS scan", "FROM busybox AS unused-gate",
		"FROM busybox AS build", "REQUIRE --if=RUN_TESTS unit",
		"FROM scratch AS other", "REQUIRE unused-gate",
		"FROM scratch", "REQUIRE scan", "COPY --from=build / /")
	res, err := run(t, in, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Gates, ","); got != "unit,lint,scan" {
		t.Errorf("gates: %s", got)
	}
	res, err = run(t, in, map[string]string{"RUN_TESTS": "0"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Gates, ","); got != "scan" {
		t.Errorf("gates with RUN_TESTS=0: %s", got)
	}
	res, err = run(t, in, nil, "", func(o *Options) { o.Target = "other" })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Gates, ","); got != "unused-gate" {
		t.Errorf("gates of target other: %s", got)
	}
}

// TestGatesThroughStageArgRef: a COPY --from=${SRC} is resolved with the
// ARGs of its own stage, not those of the last stage of the file, so the
// gates of the stage it names are built (issue 11: with a trailing stage
// that does not declare SRC, the gate of lib was silently skipped).
func TestGatesThroughStageArgRef(t *testing.T) {
	body := []string{"FROM busybox AS unit", "RUN false",
		"FROM busybox AS lib", "REQUIRE unit", "RUN echo lib > /lib.txt",
		"FROM busybox AS app", "ARG SRC=lib", "COPY --from=${SRC} /lib.txt /x"}
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"trailing stage", append(slices.Clone(body), "FROM busybox AS tools", "RUN echo tools")},
		{"trailing stage with another SRC", append(slices.Clone(body), "FROM busybox AS tools", "ARG SRC=unit", "RUN echo tools")},
		{"app last", body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, df(tc.lines...), nil, "", func(o *Options) { o.Target = "app" })
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(res.Gates, ","); got != "unit" {
				t.Errorf("gates of app: %q, want unit", got)
			}
		})
	}
}

func TestRequires(t *testing.T) {
	in := df("ARG RUN_TESTS=true", "FROM busybox AS test", "FROM busybox AS scan", "FROM scratch", "REQUIRE --if=RUN_TESTS test scan", "REQUIRE test")
	res, err := run(t, in, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Stages[2].Requires); got != "[{test 5} {scan 5}]" {
		t.Errorf("requires: %s", got)
	}
	res, err = run(t, in, map[string]string{"RUN_TESTS": "false"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Stages[2].Requires); got != "[{test 6}]" {
		t.Errorf("requires with RUN_TESTS=false: %s", got)
	}
}

// TestConcurrentPlatforms: the gateway rewrites one file for several
// platforms at once; each must get its own answer (run with -race).
func TestConcurrentPlatforms(t *testing.T) {
	in := []byte(df("FROM scratch", "COPY --if=\"TARGETARCH == 'amd64'\" amd /", "COPY --if=\"TARGETARCH == 'arm64'\" arm /"))
	want := map[string]string{
		"linux/amd64": df("FROM scratch", "COPY amd /", "#"),
		"linux/arm64": df("FROM scratch", "#", "COPY arm /"),
	}
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		plat := "linux/amd64"
		if i%2 == 1 {
			plat = "linux/arm64"
		}
		go func() {
			res, err := Rewrite(context.Background(), in, Options{TargetPlatform: platforms.MustParse(plat)})
			if err == nil && string(res.Dockerfile) != want[plat] {
				err = fmt.Errorf("%s: got\n%s", plat, res.Dockerfile)
			}
			errs <- err
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestRefBeforeFirstFrom: an instruction before the first FROM that names
// a stage belongs to no stage; the rewrite leaves it for the converter to
// reject, as upstream does.
func TestRefBeforeFirstFrom(t *testing.T) {
	in := df("ARG A=1", "COPY --from=x a /", "IF A", "FROM scratch AS x", "END")
	res, err := run(t, in, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := df("ARG A=1", "COPY --from=x a /", "#", "FROM scratch AS x", "#"); string(res.Dockerfile) != want {
		t.Errorf("rewrite:\n%s\nwant:\n%s", res.Dockerfile, want)
	}
}

func TestCopiesFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		args map[string]string
		want bool
	}{
		{"standard file", df("FROM busybox AS a", "FROM scratch", "COPY --from=a /x /x"), nil, true},
		{"no --from", df("FROM scratch", "COPY x /x"), nil, false},
		{"live guarded copy", df("ARG D=1", "FROM busybox AS a", "FROM scratch", "COPY --if=D --from=a /x /x"), nil, true},
		{"guard off", df("ARG D=1", "FROM busybox AS a", "FROM scratch", "COPY --if=D --from=a /x /x"), map[string]string{"D": "0"}, false},
		{"in a dead branch", df("ARG D=1", "FROM busybox AS a", "FROM scratch", "IF !D", "COPY --FROM=a /x /x", "END"), nil, false},
		{"from a variable", df("ARG S=a", "FROM busybox AS a", "FROM scratch", "ARG S", "COPY --from=${S} /x /x"), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run(t, tc.in, tc.args, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.CopiesFrom(); got != tc.want {
				t.Errorf("CopiesFrom = %v, want %v", got, tc.want)
			}
			if res.Analysis == nil || len(res.Analysis.Syntax.Items) == 0 {
				t.Error("no parsed file in the result")
			}
		})
	}
}

// TestCompileInParallel: a file compiled by several goroutines gives the
// same rewrite, flags and errors, in the same order, as by one.
func TestCompileInParallel(t *testing.T) {
	good := GenerateExtended(400)
	bad := []byte(strings.Replace(string(good), "V3 != ''", "V4 != ''", 1) + "FROM scratch\nRUN --if=UNKNOWN true\nARG LATE=1\nRUN --if=INCLUDE_DOSC true\n")
	procs := runtime.GOMAXPROCS(4) // several workers even on one CPU
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	for _, dt := range [][]byte{good, bad} {
		var got [2]string
		for i, per := range []int{1 << 30, 1} {
			res, err := rewriteWith(dt, analysis.Options{ConditionsPerWorker: per}, Options{ListFlags: true})
			got[i] = fmt.Sprintf("%v\n%s\n%+v\n%+v\n%v", err, res.Dockerfile, res.Flags, res.Stages, res.Gates)
		}
		if got[0] != got[1] {
			t.Errorf("one compiler:\n%.2000s\nseveral:\n%.2000s", got[0], got[1])
		}
	}
}

// TestLiteralWords checks literal's shortcut against the shell lexer it
// stands in for.
func TestLiteralWords(t *testing.T) {
	for _, escape := range []rune{'\\', '`'} {
		lex := shell.NewLex(escape)
		env := &env{}
		env.set("X", "x")
		for _, w := range []string{"1", "a b", "1.2.3", "v1-rc.2", "/usr/local/bin", "a=b,c", "${X}", "$X", "'q'", `"q"`, `a\b`, "a`b", "\tt", "é", "a#b", "~/x", "*"} {
			got, _, err := lex.ProcessWord(w, env)
			if literal(w, escape) && (err != nil || got != w) {
				t.Errorf("escape %q: %q is taken as literal, but the lexer gives %q (%v)", escape, w, got, err)
			}
		}
	}
}

// expectingContext records what the rewrite tells it and asks it.
type expectingContext struct {
	expected, asked []string
}

func (c *expectingContext) Expect(patterns []string) { c.expected = append(c.expected, patterns...) }
func (c *expectingContext) Exists(_ context.Context, p string) (bool, error) {
	c.asked = append(c.asked, p)
	return p == "docs", nil
}

// TestExpectedPaths: the context hears every literal exists() path of the
// file, cleaned as the questions will be, before the first question, even
// those of conditions that are never evaluated.
func TestExpectedPaths(t *testing.T) {
	in := df("ARG OFF=false",
		"FROM scratch",
		`COPY --if='exists("docs/") || exists("./site")' a /`,
		`COPY --if='OFF && exists("never")' b /`,
		`COPY --if='exists("docs")' c /`)
	c := &expectingContext{}
	if _, err := run(t, in, nil, "", func(o *Options) { o.Context = c }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.expected, " "); got != "docs site never" {
		t.Errorf("expected %q, want %q", got, "docs site never")
	}
	if got := strings.Join(c.asked, " "); got != "docs" {
		t.Errorf("asked %q, want only docs (answers are kept)", got)
	}
}
