package lint

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/org/stagefront/frontend/lint/internal/docgen"
)

// The rules, declared as BuildKit declares its own (linter/ruleset.go).
// The docs in docs/rules/ are generated from these declarations and from
// the text in docs/<Name>.md: run `go generate ./frontend/lint`.
var (
	RuleFinalStageLatestTag = linter.LinterRule[func(stage, image string) string]{
		Name:        "FinalStageLatestTag",
		Description: "The final stage should start from an image with a fixed tag or digest, not latest or untagged",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/final-stage-latest-tag.md",
		Format: func(stage, image string) string {
			return fmt.Sprintf("The final stage %s is FROM %s, which follows 'latest': pin a version tag or a digest so that rebuilds ship the same base", stage, image)
		},
	}
	RuleFinalStageRunsAsRoot = linter.LinterRule[func(stage string) string]{
		Name:        "FinalStageRunsAsRoot",
		Description: "The final stage should set a USER other than root",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/final-stage-runs-as-root.md",
		Format: func(stage string) string {
			return fmt.Sprintf("The final stage %s runs as root: add USER with an unprivileged user (for example USER 65532:65532) after the steps that need root", stage)
		},
	}
	RuleFinalStageCopiesContext = linter.LinterRule[func(stage, src string) string]{
		Name:        "FinalStageCopiesContext",
		Description: "The final stage of a multi-stage build should copy only what the image needs, not the whole build context",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/final-stage-copies-context.md",
		Format: func(stage, src string) string {
			return fmt.Sprintf("The final stage %s copies the whole build context (%s): copy the built artifacts from an earlier stage (COPY --from=...) and only the files the image needs", stage, src)
		},
	}
	RuleContextCopiedBeforeInstall = linter.LinterRule[func(install string, line int) string]{
		Name:        "ContextCopiedBeforeInstall",
		Description: "Copy the dependency manifests and install dependencies before copying the whole build context",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/context-copied-before-install.md",
		Format: func(install string, line int) string {
			return fmt.Sprintf("The whole build context is copied before '%s' (line %d): any source change re-runs the install; copy only the manifests (for example COPY package*.json ./), install, then copy the rest", install, line)
		},
	}
	RulePackageInstallWithoutCache = linter.LinterRule[func(install, target string) string]{
		Name:        "PackageInstallWithoutCache",
		Description: "Package manager installs should use a cache mount",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/package-install-without-cache.md",
		Format: func(install, target string) string {
			return fmt.Sprintf("'%s' runs without a cache mount: add --mount=type=cache,target=%s to this RUN so that rebuilds reuse downloaded packages", install, target)
		},
	}
	RuleMissingDockerignore = linter.LinterRule[func() string]{
		Name:        "MissingDockerignore",
		Description: "A build context that is copied should have a .dockerignore",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/missing-dockerignore.md",
		Format: func() string {
			return "The build context has no .dockerignore (or it excludes nothing): .git, node_modules, build output and secrets are sent and copied; add one"
		},
	}
	RuleUnreachableStage = linter.LinterRule[func(stage string) string]{
		Name:        "UnreachableStage",
		Description: "A stage that runs steps should be reached from a target through FROM, COPY --from, RUN --mount from= or REQUIRE",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/unreachable-stage.md",
		Format: func(stage string) string {
			return fmt.Sprintf("Stage %s runs steps that no build reaches: neither the default target nor any image stage leads to it through FROM, COPY --from, RUN --mount from= or REQUIRE, so they never run; if they must pass (tests, scans), add REQUIRE %s to the stage that ships, otherwise build it with --target %s or remove it", stage, stage, stage)
		},
	}
	RuleConstantCondition = linter.LinterRule[func(cond string, value bool) string]{
		Name:        "ConstantCondition",
		Description: "A condition should read a build ARG or the build context; a constant one always takes the same branch",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/constant-condition.md",
		Format: func(cond string, value bool) string {
			return fmt.Sprintf("The condition %q is always %t: it reads no ARG and no file; remove the condition (and the branch it never takes) or make it read a flag", cond, value)
		},
	}
	RuleUnusedGlobalArg = linter.LinterRule[func(name string) string]{
		Name:        "UnusedGlobalArg",
		Description: "A global ARG should be read by a condition, a FROM, or an ARG of a stage",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/unused-global-arg.md",
		Format: func(name string) string {
			return fmt.Sprintf("The global ARG %s is read by no condition, no FROM and no stage (a stage sees it only after its own ARG %s): remove it, or use it", name, name)
		},
	}
	RuleBuildToolsInFinalStage = linter.LinterRule[func(tools, stage string) string]{
		Name:        "BuildToolsInFinalStage",
		Description: "Build tools should be installed in a build stage, not in the final stage of a multi-stage build",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/build-tools-in-final-stage.md",
		Format: func(tools, stage string) string {
			return fmt.Sprintf("Build tools (%s) are installed into the final image through stage %s: build in an earlier stage and COPY --from only the result", tools, stage)
		},
	}
	RuleStageArgOnlyForConditions = linter.LinterRule[func(name, stage string, global bool) string]{
		Name:        "StageArgOnlyForConditions",
		Description: "An ARG in a stage that only conditions read should be a global ARG",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/stage-arg-only-for-conditions.md",
		Format: func(name, stage string, global bool) string {
			fix := fmt.Sprintf("declare ARG %s before the first FROM and remove it here", name)
			if global {
				fix = fmt.Sprintf("remove it: conditions already see the global ARG %s", name)
			}
			return fmt.Sprintf("ARG %s in stage %s is read only by conditions, yet it puts %s into the environment of every later RUN, whose cache it busts when it changes; %s", name, stage, name, fix)
		},
	}
	RuleStageDependsOnBranch = linter.LinterRule[func(stages string) string]{
		Name:        "StageDependsOnBranch",
		Description: "Lines after END should continue the same stage whichever branch is taken",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/stage-depends-on-branch.md",
		Format: func(stages string) string {
			return fmt.Sprintf("The lines from here continue %s, whichever the branches above leave live: if the stages are alternatives, give them one name in every branch of an IF ... ELSE; otherwise start a stage (FROM) here, or move these lines into the branches", stages)
		},
	}
	RuleStageNotFound = linter.LinterRule[func(ref, instruction, suggestion string) string]{
		Name:        "StageNotFound",
		Description: "A stage reference that is not a stage but is close to one is most likely a typo",
		URL:         "https://github.com/org/stagefront/blob/main/docs/rules/stage-not-found.md",
		Format: func(ref, instruction, suggestion string) string {
			sep := " "
			if strings.HasSuffix(instruction, "=") {
				sep = ""
			}
			return fmt.Sprintf("%s%s%s: there is no stage %q (did you mean %s?); as written, %q is pulled as an image", instruction, sep, ref, ref, suggestion, ref)
		},
	}
)

// DocURL is the URL of the page of a rule of this package, as its
// declaration names it (the page generated in docs/rules/).
func DocURL(rule string) string {
	return "https://github.com/org/stagefront/blob/main/docs/rules/" + docgen.CamelToKebab(rule) + ".md"
}

// Rules lists every rule of this package, in declaration order.
var Rules = []linter.LinterRuleI{
	&RuleFinalStageLatestTag,
	&RuleFinalStageRunsAsRoot,
	&RuleFinalStageCopiesContext,
	&RuleContextCopiedBeforeInstall,
	&RulePackageInstallWithoutCache,
	&RuleMissingDockerignore,
	&RuleUnreachableStage,
	&RuleConstantCondition,
	&RuleUnusedGlobalArg,
	&RuleBuildToolsInFinalStage,
	&RuleStageArgOnlyForConditions,
	&RuleStageDependsOnBranch,
	&RuleStageNotFound,
}

// stageLabel names a stage in messages: its name, or its index.
func stageLabel(name string, index int) string {
	if name != "" {
		return strings.ToLower(name)
	}
	return fmt.Sprintf("#%d", index)
}
