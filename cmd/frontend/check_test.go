package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	write := func(dir, name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const df = "# syntax=org/stagefront\nFROM busybox:1.36 as build\nRUN echo hi\nFROM biuld AS tool\nFROM busybox:1.36\nIF true\nCOPY --from=tool /x /x\nEND\nCOPY . /app\nUSER 1000\n"
	withIgnore := t.TempDir()
	write(withIgnore, ".dockerignore", ".git\n")
	noIgnore := t.TempDir()
	clean := t.TempDir()
	write(clean, ".dockerignore", ".git\n")
	write(clean, "Dockerfile", "FROM busybox:1.36 AS build\nRUN echo hi > /x\nFROM busybox:1.36\nCOPY --from=build /x /x\nUSER 1000\n")

	for _, tc := range []struct {
		name   string
		dir    string
		df     string
		args   []string
		code   int
		out    []string
		notOut []string
		errOut []string
	}{
		{name: "warnings, upstream's and ours, at the lines", dir: withIgnore, df: df, code: 0,
			out: []string{
				"WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/\n",
				"WARNING: ConstantCondition - https://github.com/org/stagefront/blob/main/docs/rules/constant-condition.md\nThe condition \"true\" is always true",
				"WARNING: StageNotFound - https://github.com/org/stagefront/blob/main/docs/rules/stage-not-found.md\nFROM biuld: there is no stage \"biuld\" (did you mean build?)",
				"Dockerfile:4\n", "   4 | >>> FROM biuld AS tool\n",
				"WARNING: FinalStageCopiesContext",
				"Check complete, ",
			},
			notOut: []string{"MissingDockerignore"}},
		{name: "no .dockerignore", dir: noIgnore, df: df, out: []string{"WARNING: MissingDockerignore"}},
		{name: "error=true fails", dir: withIgnore, df: strings.Replace(df, "\n", "\n# check=error=true\n", 1), code: 1,
			errOut: []string{"lint violation found for rules: "}},
		{name: "error=true from the build arg", dir: withIgnore, df: df, args: []string{"--build-arg", "BUILDKIT_DOCKERFILE_CHECK=error=true"}, code: 1},
		{name: "skip", dir: withIgnore, df: strings.Replace(df, "\n", "\n# check=skip=ConstantCondition,StageNotFound;error=true\n", 1), code: 1,
			notOut: []string{"WARNING: ConstantCondition", "WARNING: StageNotFound"}},
		{name: "clean", dir: clean, args: []string{"--build-arg", "BUILDKIT_DOCKERFILE_CHECK=error=true"}, out: []string{"Check complete, no warnings found.\n"}},
		{name: "a rewrite error", dir: withIgnore, df: "FROM busybox:1.36\nIF NOPE\nEND\nUSER 1\n", code: 1, errOut: []string{"NOPE"}},
		// The converter reports this one without a line: at the COPY, as a
		// build shows it.
		{name: "a converter error at its line", dir: withIgnore, df: "ARG A=1\nFROM busybox:1.36 AS b\nRUN --if=A true\nFROM busybox:1.36\nUSER 1\nCOPY --from=${X} /a /a\n", code: 1,
			errOut: []string{"variable expansion is not supported for --from", "Dockerfile:6\n--------------------\n", ">>> COPY --from=${X} /a /a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(tc.dir, "Dockerfile")
			if tc.df != "" {
				write(tc.dir, "Dockerfile", tc.df)
			}
			var stdout, stderr bytes.Buffer
			code := runCLI(append([]string{"check", "-f", f}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			checkRun(t, code, tc.code, stdout.String(), stderr.String(), tc.out, tc.notOut, tc.errOut)
		})
	}
}
