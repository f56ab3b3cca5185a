//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/internal/bkharness"
)

// lintCase is one stagefront rule, a Dockerfile (after the syntax line,
// which is line 1) where it fires, and the line it must point at.
type lintCase struct {
	rule  string
	df    string
	files map[string]string
	line  int
	text  string // the text of that line
}

var lintCases = []lintCase{
	{"FinalStageLatestTag", "FROM busybox\nUSER 1000\n", nil, 2, "FROM busybox"},
	{"FinalStageRunsAsRoot", "FROM busybox\nRUN echo hi\n", nil, 2, "FROM busybox"},
	{"FinalStageCopiesContext", "FROM busybox AS build\nRUN echo hi > /out\nFROM busybox\nCOPY --from=build /out /out\nCOPY . /app/\n", nil, 6, "COPY . /app/"},
	{"ContextCopiedBeforeInstall", "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN npm ci || true\n", nil, 4, "COPY . ."},
	{"PackageInstallWithoutCache", "FROM busybox\nRUN pip install flask || true\n", nil, 3, "RUN pip install flask || true"},
	{"MissingDockerignore", "FROM busybox\nCOPY app.txt /app.txt\n", map[string]string{"app.txt": "app\n"}, 3, "COPY app.txt /app.txt"},
	{"UnreachableStage", "FROM busybox AS test\nRUN echo test\nFROM busybox\nRUN echo app\n", nil, 2, "FROM busybox AS test"},
	{"ConstantCondition", "FROM busybox\nIF true\nRUN echo x\nEND\n", nil, 3, "IF true"},
	{"UnusedGlobalArg", "ARG UNUSED_FLAG=1\nFROM busybox\nRUN echo hi\n", nil, 2, "ARG UNUSED_FLAG=1"},
	{"BuildToolsInFinalStage", "FROM busybox AS build\nRUN echo hi > /out\nFROM busybox\nCOPY --from=build /out /out\nRUN apk add build-base || true\n", nil, 6, "RUN apk add build-base || true"},
	{"StageArgOnlyForConditions", "ARG DOCS=false\nFROM busybox\nARG DOCS\nRUN --if=DOCS echo docs\n", nil, 4, "ARG DOCS"},
	{"StageNotFound", "FROM busybox AS build\nRUN echo hi > /out\nFROM busybox\nCOPY --from=biuld /out /out\n", nil, 5, "COPY --from=biuld /out /out"},
}

func (c lintCase) opts(header, call string) bkharness.Opts {
	files := map[string]string{".dockerignore": "*.log\n"}
	if c.rule == "MissingDockerignore" {
		files = map[string]string{}
	}
	for k, v := range c.files {
		files[k] = v
	}
	return bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\n" + header + c.df, Files: files, BuildContexts: bkharness.Busybox, Call: call, Output: bkharness.OutputNone}
}

// warningBlock returns the text buildx prints for the first warning of
// rule: the header, the message and the source lines.
func warningBlock(out, rule string) string {
	for _, b := range strings.Split(out, "\nWARNING: ")[1:] {
		if strings.HasPrefix(b, rule+" ") {
			return "WARNING: " + b
		}
	}
	return ""
}

// TestCheckRules: `docker buildx build --call=check` prints each rule
// with its docs URL, its message and the user's line, marked.
func TestCheckRules(t *testing.T) {
	for _, c := range lintCases {
		t.Run(c.rule, func(t *testing.T) {
			r := bkharness.Buildx(t, c.opts("", "check"))
			b := warningBlock(r.Stdout, c.rule)
			if b == "" {
				t.Fatalf("no %s warning in:\n%s\n%s", c.rule, r.Stdout, bkharness.Tail(r.Progress, 20))
			}
			url := lint.DocURL(c.rule)
			if !strings.HasPrefix(b, "WARNING: "+c.rule+" - "+url+"\n") {
				t.Errorf("header: %q", bkharness.FirstLine(b))
			}
			if !strings.Contains(b, fmt.Sprintf("Dockerfile:%d\n", c.line)) {
				t.Errorf("not at line %d:\n%s", c.line, b)
			}
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^\s*%d \| >>> %s$`, c.line, regexp.QuoteMeta(c.text))).MatchString(b) {
				t.Errorf("line %d %q not marked:\n%s", c.line, c.text, b)
			}
			if r.Err == nil {
				t.Errorf("--call=check with warnings exited 0")
			}
		})
	}
}

// TestCheckErrorTrueFailsBuild: with `# check=error=true` each rule fails
// a real build of a file that uses an extension, naming the rule. (A file
// without extensions builds exactly as upstream: TestCheckErrorTruePlainFile.)
func TestCheckErrorTrueFailsBuild(t *testing.T) {
	for _, c := range lintCases {
		t.Run(c.rule, func(t *testing.T) {
			o := c.opts("# check=error=true\n", "")
			o.Dockerfile += "IF TARGETOS == 'linux'\nEND\n" // an extension that changes nothing
			out := bkharness.Buildx(t, o).MustFail(t)
			if c.rule == "StageNotFound" {
				// In a file that uses extensions the rewrite finds the typo
				// before anything is pulled, with the same did-you-mean.
				if !strings.Contains(out, `COPY --from=biuld names no stage of this file; did you mean "build"?`) || !strings.Contains(out, ">>> COPY --from=biuld /out /out") {
					t.Errorf("the typo is not reported at its line:\n%s", bkharness.Tail(out, 30))
				}
				return
			}
			if !regexp.MustCompile(`lint violation found for rules: .*\b` + c.rule + `\b`).MatchString(out) {
				t.Errorf("the failure does not name %s:\n%s", c.rule, bkharness.Tail(out, 30))
			}
		})
	}
}

// TestCheckErrorTruePlainFile: a file that uses no extension builds as
// upstream does, `check=error=true` included: stagefront's rules are for
// --call=check there.
func TestCheckErrorTruePlainFile(t *testing.T) {
	for _, c := range lintCases {
		if c.rule == "StageNotFound" || strings.Contains(c.df, "IF ") || strings.Contains(c.df, "--if") {
			continue // the pull of "biuld" fails with upstream too; the others use extensions
		}
		t.Run(c.rule, func(t *testing.T) {
			o := c.opts("# check=error=true\n", "")
			ours := bkharness.Buildx(t, o)
			o.Dockerfile = bkharness.SyntaxUpstream + strings.TrimPrefix(o.Dockerfile, bkharness.SyntaxStagefront)
			up := bkharness.Buildx(t, o)
			if (ours.Err == nil) != (up.Err == nil) {
				t.Errorf("stagefront: %v; upstream: %v", ours.Err, up.Err)
			}
			if strings.Contains(ours.Progress+ours.Stdout, c.rule) {
				t.Errorf("stagefront's rule %s took part in the build of a plain file:\n%s", c.rule, bkharness.Tail(ours.Progress, 20))
			}
		})
	}
}

// TestBuildWarnsStagefrontRules: a normal build shows our rules as build
// warnings, as upstream shows its own, and succeeds.
func TestBuildWarnsStagefrontRules(t *testing.T) {
	df := bkharness.SyntaxStagefront + "\nFROM busybox\nIF true\nRUN echo x\nEND\nUSER 1000\n"
	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone}).Must(t)
	if !strings.Contains(r.Progress, "ConstantCondition: The condition \"true\" is always true") || !strings.Contains(r.Progress, "(line 3)") {
		t.Errorf("no ConstantCondition warning in the build output:\n%s", bkharness.Tail(r.Progress, 30))
	}
}

// TestCopyFromMissingFile: a COPY --from=<stage> of a path the stage does
// not have fails naming the stage, the path and what is there, at the
// COPY line; through the image (buildx) and in-process.
func TestCopyFromMissingFile(t *testing.T) {
	df := bkharness.SyntaxStagefront + "\nFROM busybox AS build\nRUN mkdir -p /app/dist && echo hi > /app/dist/main.js && echo x > /app/dist/main.css\nFROM busybox\nCOPY --from=build /app/dist/mian.js /x\nUSER 1000\n"
	want := "COPY --from=build: /app/dist/mian.js does not exist in stage build (did you mean /app/dist/main.js? /app/dist holds main.css, main.js)"
	out := bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone}).MustFail(t)
	if !strings.Contains(out, want) {
		t.Errorf("buildx: no %q in:\n%s", want, bkharness.Tail(out, 20))
	}
	if !regexp.MustCompile(`(?m)^\s*5 \| >>> COPY --from=build /app/dist/mian.js /x$`).MatchString(out) {
		t.Errorf("buildx: the COPY line is not shown:\n%s", bkharness.Tail(out, 20))
	}
	r := inProcess(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone})
	if r.Err == nil || !strings.Contains(r.Err.Error(), want) {
		t.Errorf("in-process: %v", r.Err)
	}

	// A missing directory along the path: the closest one.
	df = strings.Replace(df, "/app/dist/mian.js", "/app/dsit/main.js", 1)
	out = bkharness.Buildx(t, bkharness.Opts{Dockerfile: df, BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone}).MustFail(t)
	if want := "/app/dsit/main.js does not exist in stage build (did you mean /app/dist/main.js? /app holds dist/)"; !strings.Contains(out, want) {
		t.Errorf("no %q in:\n%s", want, bkharness.Tail(out, 20))
	}
}

// TestCheckReadsBaseImageUser: FinalStageRunsAsRoot does not fire when the
// final stage's base image sets a USER in its config.
func TestCheckReadsBaseImageUser(t *testing.T) {
	img := bkharness.Registry + "/stagefront-test/lint-nonroot:1"
	bkharness.Buildx(t, bkharness.Opts{Dockerfile: bkharness.SyntaxUpstream + "\nFROM busybox\nUSER 65532:65532\n", BuildContexts: bkharness.Busybox, Output: bkharness.OutputNone,
		Args: []string{"--output", "type=image,name=" + img + ",push=true,registry.insecure=true"}}).Must(t)

	r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\nFROM " + img + "\nRUN echo hi\n", Call: "check", Output: bkharness.OutputNone, Files: map[string]string{".dockerignore": "x\n"}})
	if strings.Contains(r.Stdout, "WARNING: FinalStageRunsAsRoot") {
		t.Errorf("the base image runs as 65532:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "Check complete, no warnings found.") {
		t.Errorf("want no warnings:\n%s\n%s", r.Stdout, bkharness.Tail(r.Progress, 20))
	}
}
