package lint

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
)

type finding struct {
	Rule string
	Line int
	Msg  string
}

// check runs the rules on df as a build of target with args would.
func check(t *testing.T, df string, args map[string]string, target string, dockerignore *bool, named ...string) ([]finding, *linter.Linter) {
	t.Helper()
	dt := []byte(df)
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	rw, err := rewrite.Rewrite(context.Background(), dt, rewrite.Options{BuildArgs: args, Target: target, TargetPlatform: p, BuildPlatform: p})
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	cfg, err := Config(dt, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []finding
	lt, err := Run(context.Background(), &Input{Rewrite: rw, BuildArgs: args, Target: target, Dockerignore: dockerignore, NamedContexts: named, FinalImageUser: testImageUser(rw)}, cfg,
		func(rule, _, url, msg string, loc []parser.Range) {
			if url != DocURL(rule) {
				t.Errorf("%s: URL %s", rule, url)
			}
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			out = append(out, finding{rule, line, msg})
		})
	if err != nil {
		t.Fatal(err)
	}
	return out, lt
}

// testImageUser: images tagged nonroot run as 65532, as distroless does;
// the final image is that of the last FROM line of the rewrite that
// names an image, as the conversion would resolve it (good enough for
// these cases, which never chain more than one stage).
func testImageUser(rw *rewrite.Result) func(context.Context) (string, bool) {
	return func(context.Context) (string, bool) {
		user := ""
		for _, st := range rw.Analysis.Stages {
			if rw.StageLive(st.Index) && strings.HasSuffix(st.Base, ":nonroot") {
				user = "65532"
			}
		}
		return user, true
	}
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

// Every case names one rule and the lines it must fire at (none: it must
// not fire). Other rules are ignored.
// ruleCase is a file and where a rule fires on it (nowhere: lines nil).
type ruleCase struct {
	name, rule, df string
	lines          []int
	args           map[string]string
	target         string
	dockerignore   *bool
	msg            string // a part of the first message
	named          []string
}

var ruleCases = []ruleCase{
	// FinalStageLatestTag
	{name: "untagged", rule: "FinalStageLatestTag", df: "FROM alpine\nUSER 1\n", lines: []int{1}, msg: "FROM alpine"},
	{name: "latest", rule: "FinalStageLatestTag", df: "FROM alpine:3 AS b\nFROM alpine:latest\n", lines: []int{2}},
	{name: "through a stage", rule: "FinalStageLatestTag", df: "FROM node AS base\nRUN x\nFROM base AS final\n", lines: []int{1}, msg: "final stage final"},
	{name: "quoted global arg", rule: "FinalStageLatestTag", df: "ARG V=\"3.20\"\nFROM alpine:${V}\n"},
	{name: "global arg", rule: "FinalStageLatestTag", df: "ARG V=latest\nFROM alpine:${V}\n", lines: []int{2}},
	{name: "build arg pins", rule: "FinalStageLatestTag", df: "ARG V=latest\nFROM alpine:${V}\n", args: map[string]string{"V": "3.20"}},
	{name: "tagged", rule: "FinalStageLatestTag", df: "FROM node AS b\nFROM alpine:3.20\n"},
	{name: "digest", rule: "FinalStageLatestTag", df: "FROM alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000\n"},
	{name: "scratch", rule: "FinalStageLatestTag", df: "FROM scratch\n"},
	{name: "target is tagged", rule: "FinalStageLatestTag", df: "FROM alpine:3 AS a\nFROM alpine\n", target: "a"},
	{name: "unknown arg", rule: "FinalStageLatestTag", df: "ARG IMG\nFROM $IMG\n"},

	// FinalStageRunsAsRoot
	{name: "no user", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3\nRUN x\n", lines: []int{1}},
	{name: "user root", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3\nUSER app\nRUN x\nUSER root\n", lines: []int{4}},
	{name: "user 0:0", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3\nUSER 0:0\n", lines: []int{2}},
	{name: "user set", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3\nUSER 65532:65532\n"},
	{name: "user from base stage", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3 AS base\nUSER app\nFROM base\nRUN x\n"},
	{name: "image config sets a user", rule: "FinalStageRunsAsRoot", df: "FROM distroless:nonroot AS b\nRUN x\nFROM b\nRUN y\n"},
	{name: "image config root", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3\nRUN y\n", lines: []int{1}},
	{name: "only the target", rule: "FinalStageRunsAsRoot", df: "FROM alpine:3 AS a\nFROM alpine:3\nUSER app\n", target: "a", lines: []int{1}},

	// FinalStageCopiesContext
	{name: "copy dot", rule: "FinalStageCopiesContext", df: "FROM a:1 AS b\nRUN x\nFROM c:1\nCOPY . .\n", lines: []int{4}},
	{name: "copy dot slash", rule: "FinalStageCopiesContext", df: "FROM a:1 AS b\nFROM c:1\nCOPY ./ /app/\n", lines: []int{3}},
	{name: "single stage", rule: "FinalStageCopiesContext", df: "FROM c:1\nCOPY . .\n"},
	{name: "copy from stage", rule: "FinalStageCopiesContext", df: "FROM a:1 AS b\nFROM c:1\nCOPY --from=b . .\n"},
	{name: "copy files", rule: "FinalStageCopiesContext", df: "FROM a:1 AS b\nFROM c:1\nCOPY app/ /app\n"},
	{name: "dead copy", rule: "FinalStageCopiesContext", df: "ARG X=false\nFROM a:1 AS b\nFROM c:1\nCOPY --if=X . .\n"},

	// ContextCopiedBeforeInstall
	{name: "npm after copy", rule: "ContextCopiedBeforeInstall", df: "FROM n:1\nCOPY . .\nRUN npm ci\n", lines: []int{2}, msg: "'npm ci' (line 3)"},
	{name: "pip after copy", rule: "ContextCopiedBeforeInstall", df: "FROM p:1\nWORKDIR /a\nCOPY . /a\nRUN echo hi\nRUN pip install -r requirements.txt\n", lines: []int{3}},
	{name: "install first", rule: "ContextCopiedBeforeInstall", df: "FROM n:1\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"},
	{name: "other stage", rule: "ContextCopiedBeforeInstall", df: "FROM n:1 AS a\nCOPY . .\nFROM n:1\nRUN npm ci\n"},
	{name: "no install", rule: "ContextCopiedBeforeInstall", df: "FROM n:1\nCOPY . .\nRUN npm run build\n"},

	// PackageInstallWithoutCache
	{name: "npm ci", rule: "PackageInstallWithoutCache", df: "FROM n:1\nRUN npm ci\n", lines: []int{2}, msg: "target=/root/.npm"},
	{name: "apt-get", rule: "PackageInstallWithoutCache", df: "FROM d:1\nRUN apt-get update && \\\n    apt-get install -y curl\n", lines: []int{2}, msg: "apt-get install"},
	{name: "apk", rule: "PackageInstallWithoutCache", df: "FROM a:1\nRUN apk --no-cache add curl\n", lines: []int{2}},
	{name: "go mod download", rule: "PackageInstallWithoutCache", df: "FROM g:1\nRUN go mod download\n", lines: []int{2}},
	{name: "python -m pip", rule: "PackageInstallWithoutCache", df: "FROM p:1\nRUN python3 -m pip install flask\n", lines: []int{2}},
	{name: "heredoc", rule: "PackageInstallWithoutCache", df: "FROM p:1\nRUN <<EOF\nset -e\npip install flask\nEOF\n", lines: []int{2}},
	{name: "cache mount", rule: "PackageInstallWithoutCache", df: "FROM n:1\nRUN --mount=type=cache,target=/root/.npm npm ci\n"},
	{name: "not an install", rule: "PackageInstallWithoutCache", df: "FROM n:1\nRUN npm run build && echo 'npm ci'\n"},
	{name: "go build", rule: "PackageInstallWithoutCache", df: "FROM g:1\nRUN go build ./...\n"},

	// MissingDockerignore
	{name: "missing", rule: "MissingDockerignore", df: "FROM a:1\nRUN x\nCOPY . .\nCOPY b /b\n", dockerignore: no, lines: []int{3}},
	{name: "present", rule: "MissingDockerignore", df: "FROM a:1\nCOPY . .\n", dockerignore: yes},
	{name: "unknown", rule: "MissingDockerignore", df: "FROM a:1\nCOPY . .\n"},
	{name: "no context copy", rule: "MissingDockerignore", df: "FROM a:1 AS b\nFROM a:1\nCOPY --from=b /x /x\n", dockerignore: no},

	// UnreachableStage
	{name: "test stage", rule: "UnreachableStage", df: "FROM a:1 AS build\nFROM build AS test\nRUN t\nFROM a:1\nCOPY --from=build /x /x\n", lines: []int{2}, msg: "add REQUIRE test"},
	{name: "required", rule: "UnreachableStage", df: "FROM a:1 AS build\nFROM build AS test\nRUN t\nFROM a:1\nREQUIRE test\nCOPY --from=build /x /x\n"},
	{name: "mount and index", rule: "UnreachableStage", df: "FROM a:1 AS m\nRUN m\nFROM a:1\nRUN --mount=from=m,target=/m x\nFROM a:1\nCOPY --from=1 /x /x\n"},
	{name: "reached under other flags", rule: "UnreachableStage", df: "ARG DOCS=false\nFROM a:1 AS docs\nRUN d\nFROM a:1\nCOPY --if=DOCS --from=docs /d /d\n"},
	{name: "chosen by arg", rule: "UnreachableStage", df: "ARG V=b\nFROM a:1 AS a\nRUN x\nFROM a:1 AS b\nRUN x\nFROM a:1\nCOPY --from=${V} /x /x\n"},
	{name: "target reaches", rule: "UnreachableStage", df: "FROM a:1 AS t\nRUN t\nFROM a:1 AS dev\nCOPY --from=t / /\nFROM a:1\n", target: "dev"},
	{name: "not from the default", rule: "UnreachableStage", df: "FROM a:1 AS t\nRUN t\nFROM a:1 AS dev\nCOPY --from=t / /\nRUN d\nFROM a:1\n", lines: []int{3}},
	{name: "image stages are targets", rule: "UnreachableStage", df: "FROM a:1 AS b\nRUN b\nFROM a:1 AS api\nCOPY --from=b / /\nCMD [\"api\"]\nFROM a:1 AS t\nRUN t\nFROM a:1\n", lines: []int{6}},
	{name: "export stage runs nothing", rule: "UnreachableStage", df: "FROM a:1 AS b\nRUN b\nFROM scratch AS export\nCOPY --from=b /x /\nFROM a:1\n"},
	{name: "alternatives of the last stage", rule: "UnreachableStage", df: "ARG E=prod\nFROM a:1 AS b\nRUN b\nIF E == 'dev'\nFROM a:1 AS dev\nCOPY --from=b / /\nELSE\nFROM a:1 AS prod\nRUN p\nEND\n"},
	{name: "aggregator", rule: "UnreachableStage", df: "FROM a:1 AS t1\nRUN t\nFROM a:1 AS t2\nRUN t\nFROM scratch AS all\nREQUIRE t1 t2\nFROM a:1\n"},

	// ConstantCondition
	{name: "IF true", rule: "ConstantCondition", df: "FROM a:1\nIF true\nRUN x\nEND\n", lines: []int{2}, msg: "always true"},
	{name: "literal compare", rule: "ConstantCondition", df: "FROM a:1\nRUN --if=\"'a' == 'b'\" x\n", lines: []int{2}, msg: "always false"},
	{name: "else if", rule: "ConstantCondition", df: "ARG X=1\nFROM a:1\nIF X\nRUN x\nELSE IF false\nRUN y\nEND\n", lines: []int{5}},
	{name: "reads a flag", rule: "ConstantCondition", df: "ARG X=1\nFROM a:1\nIF X\nRUN x\nEND\n"},
	{name: "platform", rule: "ConstantCondition", df: "FROM a:1\nIF TARGETARCH == 'arm64'\nRUN x\nEND\n"},

	// UnusedGlobalArg
	{name: "unused", rule: "UnusedGlobalArg", df: "ARG A=1\nFROM a:1\nRUN echo $A\n", lines: []int{1}, msg: "ARG A "},
	{name: "read by condition", rule: "UnusedGlobalArg", df: "ARG A=1\nFROM a:1\nRUN --if=A x\n"},
	{name: "read by dead condition", rule: "UnusedGlobalArg", df: "ARG A=0\nARG B=0\nFROM a:1\nIF A\nRUN --if=B x\nEND\n"},
	{name: "read by FROM", rule: "UnusedGlobalArg", df: "ARG V=3\nFROM a:${V}\n"},
	{name: "redeclared", rule: "UnusedGlobalArg", df: "ARG A=1\nFROM a:1\nARG A\nRUN echo $A\n"},
	{name: "comment words", rule: "UnusedGlobalArg", df: "ARG BASE # no default\nFROM ${BASE}\n"},
	{name: "buildkit arg", rule: "UnusedGlobalArg", df: "ARG BUILDKIT_SBOM_SCAN_STAGE=true\nFROM a:1\n"},
	{name: "read by another arg", rule: "UnusedGlobalArg", df: "ARG A=1 B=${A}\nFROM a:$B\n"},

	// BuildToolsInFinalStage
	{name: "apk build-base", rule: "BuildToolsInFinalStage", df: "FROM a:1 AS x\nFROM p:1\nRUN apk add --no-cache build-base && pip install y\n", lines: []int{3}, msg: "(build-base)"},
	{name: "apt gcc make", rule: "BuildToolsInFinalStage", df: "FROM a:1 AS x\nFROM d:1\nRUN apt-get install -y --no-install-recommends gcc=12 make curl\n", lines: []int{3}, msg: "(gcc, make)"},
	{name: "in base stage", rule: "BuildToolsInFinalStage", df: "FROM d:1 AS base\nRUN apt-get install -y g++\nFROM base\n", lines: []int{2}},
	{name: "build stage", rule: "BuildToolsInFinalStage", df: "FROM d:1 AS build\nRUN apt-get install -y gcc\nFROM d:1\nCOPY --from=build /a /a\n"},
	{name: "single stage", rule: "BuildToolsInFinalStage", df: "FROM d:1\nRUN apt-get install -y gcc\n"},
	{name: "runtime packages", rule: "BuildToolsInFinalStage", df: "FROM d:1 AS b\nFROM d:1\nRUN apt-get install -y libgcc-s1 makedepend\n"},

	// StageArgOnlyForConditions
	{name: "global exists", rule: "StageArgOnlyForConditions", df: "ARG DOCS=false\nFROM a:1\nARG DOCS\nRUN npm ci\nRUN --if=DOCS x\n", lines: []int{3}, msg: "remove it"},
	{name: "no global", rule: "StageArgOnlyForConditions", df: "FROM a:1\nARG DOCS=false\nIF DOCS\nRUN x\nEND\n", lines: []int{2}, msg: "before the first FROM"},
	{name: "used by RUN", rule: "StageArgOnlyForConditions", df: "FROM a:1\nARG DOCS=false\nRUN --if=DOCS echo $DOCS\n"},
	{name: "no condition", rule: "StageArgOnlyForConditions", df: "FROM a:1\nARG V=1\nRUN echo hi\n"},

	// StageNotFound
	{name: "typo in copy", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM a:1\nCOPY --from=biulder /x /x\n", lines: []int{3}, msg: "did you mean builder?"},
	{name: "typo in from", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM buidler\n", lines: []int{2}},
	{name: "typo in mount", rule: "StageNotFound", df: "FROM a:1 AS deps\nFROM a:1\nRUN --mount=from=dpes,target=/d x\n", lines: []int{3}},
	{name: "case differs", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM a:1\nCOPY --from=Builder /x /x\n"},
	{name: "an image", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM a:1\nCOPY --from=golang:1.22 /x /x\nCOPY --from=nginx /x /x\n"},
	{name: "named context", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM a:1\nCOPY --from=biulder /x /x\n", named: []string{"biulder"}},
	{name: "stage chosen by a quoted arg", rule: "StageNotFound", df: "ARG S=\"false\"\nFROM a:1 AS dev-false\nFROM a:1 AS dev-true\nFROM dev-${S}\n"},
	{name: "index", rule: "StageNotFound", df: "FROM a:1 AS builder\nFROM a:1\nCOPY --from=0 /x /x\n"},

	// StageDependsOnBranch
	{name: "one branch starts a stage", rule: "StageDependsOnBranch", df: "ARG DEBUG=false\nFROM a:1 AS app\nRUN x\nIF DEBUG\nFROM a:1 AS debug\nEND\nCOPY b /b\nCMD [\"b\"]\n", lines: []int{7}, msg: `stage "app" (line 2) or stage "debug" (line 5)`},
	{name: "two names", rule: "StageDependsOnBranch", df: "ARG E=dev\nIF E == 'dev'\nFROM a:1 AS dev\nELSE\nFROM a:1 AS prod\nEND\nCOPY b /b\n", lines: []int{7}},
	{name: "no stage in one branch", rule: "StageDependsOnBranch", df: "ARG X=true\nIF X\nFROM a:1 AS a\nEND\nRUN x\n", lines: []int{5}, msg: "no stage at all"},
	{name: "unnamed alternatives", rule: "StageDependsOnBranch", df: "ARG X=true\nIF X\nFROM a:1\nELSE\nFROM b:1\nEND\nRUN x\n", lines: []int{7}, msg: "the unnamed stage of line 3"},
	{name: "guarded from in a branch", rule: "StageDependsOnBranch", df: "ARG X=true\nARG Y=true\nFROM a:1 AS final\nIF X\nFROM --if=Y b:1 AS other\nEND\nRUN x\n", lines: []int{7}},
	{name: "an else after a branch that starts one", rule: "StageDependsOnBranch", df: "ARG X=true\nFROM a:1 AS base\nIF X\nFROM b:1 AS b\nELSE\nRUN in-base\nEND\nRUN x\n", lines: []int{8}},
	{name: "alternatives of one name", rule: "StageDependsOnBranch", df: "ARG E=dev\nIF E == 'dev'\nFROM a:1 AS final\nELSE IF E == 'qa'\nFROM b:1 AS final\nELSE\nFROM c:1 AS final\nEND\nCOPY b /b\nCMD [\"b\"]\n"},
	// The analysis does not know that !DEV and DEV are exclusive: an
	// IF ... ELSE says so.
	{name: "one name, guarded alternatives", rule: "StageDependsOnBranch", df: "ARG DEV=false\nFROM --if=!DEV a:1 AS final\nIF DEV\nFROM a:1 AS final\nRUN tools\nEND\nCOPY b /b\n", lines: []int{7}, msg: "no stage at all"},
	{name: "a stage after END", rule: "StageDependsOnBranch", df: "ARG X=true\nIF X\nFROM a:1 AS a\nEND\nFROM b:1\nRUN x\n"},
	{name: "blocks inside a stage", rule: "StageDependsOnBranch", df: "ARG X=true\nFROM a:1\nIF X\nRUN x\nELSE\nRUN y\nEND\nRUN z\n"},

	// The stage of the lines after END, in the other rules
	{name: "after END in the live stage", rule: "UnreachableStage", df: "ARG E=dev\nFROM a:1 AS t\nRUN t\nIF E == 'dev'\nFROM a:1 AS final\nELSE\nFROM b:1 AS final\nEND\nREQUIRE t\n"},
	{name: "after END, read by conditions only", rule: "StageArgOnlyForConditions", df: "ARG E=dev\nIF E == 'dev'\nFROM a:1 AS final\nARG V=1\nELSE\nFROM b:1 AS final\nARG V=0\nEND\nRUN --if=V x\n", lines: []int{4, 7}},
	{name: "after END, read by a RUN", rule: "StageArgOnlyForConditions", df: "ARG E=dev\nIF E == 'dev'\nFROM a:1 AS final\nARG V=1\nELSE\nFROM b:1 AS final\nARG V=0\nEND\nRUN --if=V echo $V\n"},
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			got, _ := check(t, tc.df, tc.args, tc.target, tc.dockerignore, tc.named...)
			var lines []int
			var msgs []string
			for _, f := range got {
				if f.Rule == tc.rule {
					lines = append(lines, f.Line)
					msgs = append(msgs, f.Msg)
				}
			}
			if !slices.Equal(lines, tc.lines) {
				t.Errorf("%s fired at lines %v, want %v\n%s\nall: %v", tc.rule, lines, tc.lines, tc.df, got)
			}
			if tc.msg != "" && (len(msgs) == 0 || !strings.Contains(msgs[0], tc.msg)) {
				t.Errorf("message %q does not contain %q", msgs, tc.msg)
			}
		})
	}
}

// Every rule has at least one case that fires and one that does not.
func TestEveryRuleTested(t *testing.T) {
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range ruleCases {
		if len(tc.lines) > 0 {
			fires[tc.rule] = true
		} else {
			quiet[tc.rule] = true
		}
	}
	for _, r := range Rules {
		if !fires[r.RuleName()] || !quiet[r.RuleName()] {
			t.Errorf("rule %s needs a case in ruleCases where it fires and one where it does not", r.RuleName())
		}
	}
}

func TestCheckDirective(t *testing.T) {
	df := "# check=skip=ConstantCondition,FinalStageRunsAsRoot;error=true\nFROM a:1\nIF true\nRUN x\nEND\n"
	got, lt := check(t, df, nil, "", nil)
	for _, f := range got {
		if f.Rule == "ConstantCondition" || f.Rule == "FinalStageRunsAsRoot" {
			t.Errorf("skipped rule fired: %v", f)
		}
	}
	if lt.Error() != nil {
		t.Errorf("error with nothing reported: %v", lt.Error())
	}

	df = "# check=error=true\nFROM a:1\nIF true\nRUN x\nEND\n"
	_, lt = check(t, df, nil, "", nil)
	if err := lt.Error(); err == nil || !strings.Contains(err.Error(), "ConstantCondition") {
		t.Errorf("error=true: %v", err)
	}

	// A comment above an instruction skips a rule there only.
	df = "FROM a:1\nUSER 1\n# check=skip=PackageInstallWithoutCache\nRUN npm ci\nRUN pip install x\n"
	got, _ = check(t, df, nil, "", nil)
	var lines []int
	for _, f := range got {
		if f.Rule == "PackageInstallWithoutCache" {
			lines = append(lines, f.Line)
		}
	}
	if !slices.Equal(lines, []int{5}) {
		t.Errorf("comment skip: fired at %v, want [5]", lines)
	}

	// BUILDKIT_DOCKERFILE_CHECK wins over the directive.
	cfg, err := Config([]byte("# check=skip=all\nFROM a\n"), &linter.Config{ReturnAsError: true})
	if err != nil || cfg.SkipAll || !cfg.ReturnAsError {
		t.Errorf("arg config not used: %+v %v", cfg, err)
	}
	if _, err := Config([]byte("# check=bogus=1\nFROM a\n"), nil); err == nil {
		t.Errorf("bad directive accepted")
	}
}

func TestSimpleCommands(t *testing.T) {
	got := simpleCommands("set -e; apt-get update && apt-get install -y \"gcc\" 'make' \\\n  curl # comment && apk add x\nnpm ci")
	want := [][]string{{"set", "-e"}, {"apt-get", "update"}, {"apt-get", "install", "-y", "gcc", "make", "curl"}, {"npm", "ci"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
