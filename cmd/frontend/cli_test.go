package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("Dockerfile", "# syntax=org/stagefront\n# INCLUDE_DOCS ships the docs.\nARG INCLUDE_DOCS=true\nFROM scratch\nCOPY --if=INCLUDE_DOCS docs /docs\nCOPY --if='exists(\"extra/\")' extra /extra\nRUN --if=\"TARGETARCH == 'arm64'\" echo arm\n")
	write("docs/index.html", "hi")
	write("extra/x", "x")
	write(".dockerignore", "extra\n")
	bad := write("bad/Dockerfile", "ARG INCLUDE_DOCS\nFROM scratch\nCOPY --if=INCLUDE_DOC a /\nEND\n")
	// exists() as a build answers it ("**" at any depth), and never
	// outside the context.
	globs := write("globs/Dockerfile", "FROM scratch\nCOPY --if='exists(\"**/*.md\")' a /md\nCOPY --if='exists(\"a/*/doc.md\")' a /one-level\nCOPY --if='exists(\"*.md\")' a /top\nCOPY --if='exists(\"out/passwd\")' a /outside\n")
	write("globs/a/b/doc.md", "x")
	if err := os.Symlink("/etc", filepath.Join(dir, "globs", "out")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		args       []string
		stdin      string
		code       int
		out, err   []string
		notOut     []string
		exactLines int // when > 0, stdout must have this many lines
	}{
		{name: "help", args: []string{"--help"}, out: []string{"stagefront rewrite", "stagefront outline"}},
		{name: "help for a command", args: []string{"help", "rewrite"}, err: []string{"Usage: stagefront rewrite", "-build-arg", "-platform", "-target"}},
		{name: "command --help", args: []string{"outline", "--help"}, err: []string{"Usage: stagefront outline"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, err: []string{`unknown command "frobnicate"`}},
		{name: "rewrite, defaults", args: []string{"rewrite", "-f", good, "--platform", "linux/amd64"},
			out: []string{"COPY docs /docs\n", "#\n"}, notOut: []string{"--if", "COPY extra"}, exactLines: 7},
		{name: "rewrite with build args and platform", args: []string{"rewrite", "-f", good, "--build-arg", "INCLUDE_DOCS=false", "--platform", "linux/arm64"},
			out: []string{"RUN echo arm\n"}, notOut: []string{"COPY docs"}},
		{name: "rewrite from stdin", args: []string{"rewrite", "-f", "-"}, stdin: "ARG X=1\nFROM scratch\nIF X\nCOPY a /\nEND\n", out: []string{"#\nCOPY a /\n#\n"}},
		{name: "a bad value is an error with file and line", args: []string{"rewrite", "-f", good, "--build-arg", "INCLUDE_DOCS=perhaps"}, code: 1,
			err: []string{good + `:5: --if=INCLUDE_DOCS: INCLUDE_DOCS="perhaps" is not a boolean flag`}},
		{name: "every error, one per line", args: []string{"rewrite", "-f", bad}, code: 1,
			err: []string{bad + ":3:11: --if=INCLUDE_DOC: undeclared name INCLUDE_DOC; did you mean INCLUDE_DOCS?", bad + ":4: END without IF"}},
		{name: "exists() globs as a build does", args: []string{"rewrite", "-f", globs},
			out: []string{"COPY a /md\n", "COPY a /one-level\n"}, notOut: []string{"COPY a /top", "COPY a /outside"}},
		{name: "a missing file", args: []string{"rewrite", "-f", filepath.Join(dir, "nope")}, code: 2, err: []string{"no such file"}},
		{name: "a bad platform", args: []string{"rewrite", "-f", good, "--platform", "linux/"}, code: 2, err: []string{"--platform"}},
		{name: "outline", args: []string{"outline", "-f", good, "--build-arg", "INCLUDE_DOCS=0"},
			out: []string{"INCLUDE_DOCS\n  ships the docs.\n  declared: line 3, default \"true\"\n  value:    \"0\"\n  guards:   line 5", "TARGETARCH\n  automatic platform ARG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCLI(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			checkRun(t, code, tc.code, stdout.String(), stderr.String(), tc.out, tc.notOut, tc.err)
			if tc.exactLines > 0 && strings.Count(stdout.String(), "\n") != tc.exactLines {
				t.Errorf("stdout has %d lines, want %d", strings.Count(stdout.String(), "\n"), tc.exactLines)
			}
		})
	}
}

// checkRun reports how a CLI run differs from what a case wants: its exit
// code, the texts stdout must and must not hold, and those stderr must.
func checkRun(t *testing.T, code, wantCode int, stdout, stderr string, out, notOut, errOut []string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, wantCode, stdout, stderr)
	}
	for _, s := range out {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	for _, s := range notOut {
		if strings.Contains(stdout, s) {
			t.Errorf("stdout has %q:\n%s", s, stdout)
		}
	}
	for _, s := range errOut {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
}

// TestCLIInclude: the CLI reads fragments from disk beside the
// Dockerfile and from --build-context directories, never through a
// symlink out of them, and names each line's own file.
func TestCLIInclude(t *testing.T) {
	dir, shared := t.TempDir(), t.TempDir()
	write := func(root, name, content string) string {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write(dir, "Dockerfile", "# syntax=org/stagefront\nARG ENV=dev\nINCLUDE stages/${ENV}.Dockerfile\nFROM base\nINCLUDE --from=shared test.Dockerfile\n")
	write(dir, "stages/dev.Dockerfile", "# SLOW runs the slow tests too.\nARG SLOW=false\nFROM busybox AS base\n")
	write(dir, "stages/prod.Dockerfile", "FROM busybox AS base\nRUN --if=UNDECLARED true\n")
	write(shared, "test.Dockerfile", "RUN --if=SLOW echo slow\n")
	outside := write(t.TempDir(), "evil.Dockerfile", "FROM busybox AS evil\n")
	abs := write(dir, "abs/Dockerfile", "# syntax=org/stagefront\nINCLUDE link.Dockerfile\n")
	if err := os.Symlink(outside, filepath.Join(dir, "abs", "link.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	rel := write(dir, "rel/Dockerfile", "# syntax=org/stagefront\nINCLUDE up/evil.Dockerfile\n")
	if err := os.Symlink("../../"+filepath.Base(filepath.Dir(outside)), filepath.Join(dir, "rel", "up")); err != nil {
		t.Fatal(err)
	}
	inside := write(dir, "in/Dockerfile", "# syntax=org/stagefront\nINCLUDE link.Dockerfile\n")
	if err := os.Symlink("../stages/dev.Dockerfile", filepath.Join(dir, "in", "link.Dockerfile")); err != nil {
		t.Fatal(err)
	}
	checked := write(dir, "check/Dockerfile", "# syntax=org/stagefront\nFROM busybox:1.37\nINCLUDE meta.Dockerfile\nRUN true\n")
	write(dir, "check/meta.Dockerfile", "RUN echo one\nMAINTAINER me\n")
	ctx := "shared=" + shared
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err []string
		notOut   []string
		stdin    string
	}{
		{name: "rewrite", args: []string{"rewrite", "-f", main, "--build-context", ctx},
			out: []string{"ARG ENV=dev\n#\n# SLOW runs the slow tests too.\nARG SLOW=false\nFROM busybox AS base\nFROM base\n#\n#\n"}},
		{name: "rewrite with markers", args: []string{"rewrite", "-f", main, "--build-context", ctx, "--build-arg", "SLOW=1", "--markers"},
			out: []string{"# " + main + ":1\n", "# " + filepath.Join(dir, "stages/dev.Dockerfile") + ":1\n# SLOW runs the slow tests too.\n", "# shared:test.Dockerfile:1\nRUN echo slow\n"}},
		{name: "outline names a fragment's lines", args: []string{"outline", "-f", main, "--build-context", ctx},
			out: []string{"SLOW\n  runs the slow tests too.\n  declared: line 2 of " + filepath.Join(dir, "stages/dev.Dockerfile") + ", default \"false\"\n  value:    \"false\"\n  guards:   line 1 of shared:test.Dockerfile"}},
		{name: "an error in a fragment", args: []string{"rewrite", "-f", main, "--build-context", ctx, "--build-arg", "ENV=prod"}, code: 1,
			err: []string{filepath.Join(dir, "stages/prod.Dockerfile") + ":2:10: --if=UNDECLARED: undeclared name UNDECLARED"}},
		{name: "a context not given", args: []string{"rewrite", "-f", main}, code: 1,
			err: []string{main + `:5: INCLUDE test.Dockerfile: no build context "shared": give it with --build-context shared=DIR`}},
		{name: "an absolute symlink out", args: []string{"rewrite", "-f", abs}, code: 1,
			err: []string{abs + ":2: INCLUDE link.Dockerfile: link.Dockerfile is a symlink to " + outside + ", outside its directory"}},
		{name: "a relative symlink out", args: []string{"rewrite", "-f", rel}, code: 1,
			err: []string{rel + ":2: INCLUDE up/evil.Dockerfile: up is a symlink to ../../", "outside its directory"}},
		{name: "a symlink out of its directory but inside the Dockerfile's", args: []string{"rewrite", "-f", inside}, code: 1,
			err: []string{"link.Dockerfile is a symlink to ../stages/dev.Dockerfile, outside its directory"}},
		{name: "check names a fragment's line", args: []string{"check", "-f", checked},
			out: []string{"WARNING: MaintainerDeprecated", filepath.Join(dir, "check/meta.Dockerfile") + ":2\n--------------------\n   1 |     RUN echo one\n   2 | >>> MAINTAINER me\n"}},
		{name: "standard input reads the context's root", args: []string{"rewrite", "-f", "-", "--context", dir}, stdin: "# syntax=org/stagefront\nINCLUDE stages/dev.Dockerfile\n",
			out: []string{"#\n# SLOW runs the slow tests too.\nARG SLOW=false\nFROM busybox AS base\n"}},
		{name: "standard input and a named context", args: []string{"rewrite", "-f", "-", "--context", dir, "--build-context", ctx}, stdin: "# syntax=org/stagefront\nARG SLOW=true\nFROM busybox\nINCLUDE --from=shared test.Dockerfile\n",
			out: []string{"ARG SLOW=true\nFROM busybox\n#\nRUN echo slow\n"}},
		{name: "standard input, a fragment the context lacks", args: []string{"rewrite", "-f", "-", "--context", dir}, code: 1,
			err: []string{"Dockerfile:2: INCLUDE x: no file x in the build context's root (the Dockerfile came from standard input)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			stdin := tc.stdin
			if stdin == "" {
				stdin = "# syntax=org/stagefront\nINCLUDE x\n"
			}
			code := runCLI(tc.args, strings.NewReader(stdin), &stdout, &stderr)
			checkRun(t, code, tc.code, stdout.String(), stderr.String(), tc.out, tc.notOut, tc.err)
		})
	}
}
