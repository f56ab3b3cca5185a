package lint

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
	"golang.org/x/sys/unix"
)

// A Dockerfile is untrusted input in a shared builder: every check must
// cost time linear (or n log n) in the size of the file. Each scaleCase
// generates, for a size n, the worst case of one check or of one loop of
// the checker: about n of something that used to be compared with each
// of n of something else. TestChecksLinear measures the checks (not the
// analysis and the rewrite they read, which hack/bench's hostile_growth
// measures) on files of size n and 8n; BenchmarkChecks times them.

type scaleCase struct {
	name string
	gen  func(n int) string
	// named are the --build-context names of the build, if any.
	named func(n int) []string
	// fires is a rule the file must set off, to show that the case
	// reaches the check it is about.
	fires string
}

func lines(n int, format string, args ...func(i int) any) string {
	var b strings.Builder
	for i := range n {
		vals := make([]any, len(args))
		for k, a := range args {
			vals[k] = a(i)
		}
		fmt.Fprintf(&b, format, vals...)
	}
	return b.String()
}

func idx(i int) any  { return i }
func next(i int) any { return i + 1 }
func prev(i int) any { return max(i-1, 0) }

var scaleCases = []scaleCase{
	// UnusedGlobalArg: every global ARG against every item and every
	// condition.
	{name: "UnusedGlobalArg/globals", fires: "UnusedGlobalArg", gen: func(n int) string {
		return "ARG A=1\n" + lines(n, "ARG G%d=1\n", idx) +
			lines(n, "FROM --if=A busybox AS s%d\nRUN echo $G%d\n", idx, idx)
	}},
	// ... in fewer stages (an extended file may have at most
	// syntax.MaxStages).
	{name: "UnusedGlobalArg/globalsFewStages", fires: "UnusedGlobalArg", gen: func(n int) string {
		return "ARG A=1\n" + lines(n, "ARG G%d=1\n", idx) +
			lines(n/8, "FROM --if=A busybox AS s%d\n"+strings.Repeat("RUN --if=A echo\n", 8), idx)
	}},
	// UnusedGlobalArg: one global ARG of n names (comment words, and
	// names read by the other names of the same ARG).
	{name: "UnusedGlobalArg/oneArg", fires: "UnusedGlobalArg", gen: func(n int) string {
		return "ARG G0=1" + lines(n, " \\\n G%d=$G%d", next, idx) + " # a comment\nFROM busybox\n"
	}},
	// UnusedGlobalArg: globals against stage names chosen by variables.
	{name: "UnusedGlobalArg/varFlags", fires: "UnusedGlobalArg", gen: func(n int) string {
		return "ARG UNUSED=1\n" + lines(n, "ARG G%d=s0\n", idx) + "FROM busybox AS s0\nRUN true\nFROM busybox\n" +
			lines(n, "COPY --from=$G%d /x /x\n", idx)
	}},
	// StageArgOnlyForConditions: every stage ARG against the rest of its
	// stage.
	{name: "StageArgOnlyForConditions/stageArgs", fires: "StageArgOnlyForConditions", gen: func(n int) string {
		return "FROM busybox\n" + lines(n, "ARG X%d=1\n", idx) + lines(n, "RUN --if=X%d echo\n", idx)
	}},
	// ... and against the global ARGs, each with a global of its name.
	{name: "StageArgOnlyForConditions/withGlobals", fires: "StageArgOnlyForConditions", gen: func(n int) string {
		return lines(n, "ARG X%d=1\n", idx) + "FROM busybox\n" + lines(n, "ARG X%d\n", idx) + lines(n, "RUN --if=X%d echo\n", idx)
	}},
	// ... declared by one ARG, redeclared by another: each name against
	// every name of the next ARG.
	{name: "StageArgOnlyForConditions/oneArg", fires: "StageArgOnlyForConditions", gen: func(n int) string {
		return "FROM busybox\nARG" + lines(n, " \\\n X%d=1", idx) + "\nARG" + lines(n, " \\\n X%d", idx) + "\nRUN --if=X0 echo\n"
	}},
	// ... with names that are not identifiers (read by defined("...")).
	{name: "StageArgOnlyForConditions/oddNames", fires: "StageArgOnlyForConditions", gen: func(n int) string {
		return "FROM busybox\n" + lines(n, "ARG x-%d=1\n", idx) + lines(n, "RUN --if='defined(\"x-%d\")' echo ${x-%d}\n", idx, prev)
	}},
	// ... with names that hold a $ (and text full of them).
	{name: "StageArgOnlyForConditions/dollarNames", fires: "StageArgOnlyForConditions", gen: func(n int) string {
		return "FROM busybox\n" + lines(n, "ARG $$x%d=1\n", idx) + lines(n, "RUN --if='defined(\"$$x%d\")' echo $$$$$$$$$$$$$$$$$$x%d\n", idx, prev)
	}},
	// UnreachableStage and StageNotFound: n stages, each copying from
	// the one before.
	{name: "UnreachableStage/copyFrom", fires: "UnreachableStage", gen: func(n int) string {
		return "FROM busybox AS t\nRUN t\nFROM busybox AS s0\nRUN true\n" + lines(n, "FROM busybox AS s%d\nRUN true\nCOPY --from=s%d /a /a\nCOPY --from=%d /b /b\n",
			next, idx, next) // s<i> is stage i+1
	}},
	// StageNotFound: n misspelt stage names (a did-you-mean each).
	{name: "StageNotFound/typos", fires: "StageNotFound", gen: func(n int) string {
		return lines(n, "FROM busybox AS stage%d\nRUN true\n", idx) + "FROM busybox\n" + lines(n, "COPY --from=stgae%d /a /a\n", idx)
	}},
	// StageNotFound: n references that are no stage against n named
	// contexts.
	{name: "StageNotFound/namedContexts", fires: "StageNotFound", gen: func(n int) string {
		return "FROM busybox AS builder\nRUN true\nFROM busybox\n" + lines(n, "COPY --from=ctx%d /a /a\n", idx) + "COPY --from=biulder /a /a\n"
	}, named: func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("CTX%d", i)
		}
		return out
	}},
	// UnreachableStage, StageNotFound: n stages of one name, each FROM
	// the one before.
	{name: "UnreachableStage/sameName", fires: "UnreachableStage", gen: func(n int) string {
		return "FROM busybox AS x\n" + lines(n, "FROM x AS x\nRUN true\n") + "FROM busybox AS t\nRUN t\nFROM x\n"
	}},
	// The final stage's rules: a chain of n stages, each FROM the one
	// before, each installing build tools.
	{name: "FinalStage/chain", fires: "BuildToolsInFinalStage", gen: func(n int) string {
		return "FROM busybox AS s0\n" + lines(n, "FROM s%d AS s%d\nRUN apt-get install -y gcc\nCOPY . .\n", idx, next)
	}},
	// PackageInstallWithoutCache, ContextCopiedBeforeInstall: n installs
	// in a stage with n comment lines above its FROM.
	{name: "PackageInstallWithoutCache/stageComments", fires: "PackageInstallWithoutCache", gen: func(n int) string {
		return lines(n, "# comment %d\n", idx) + "# check=skip=FinalStageRunsAsRoot\nFROM node:20\nCOPY . .\n" + lines(n, "RUN npm ci\n")
	}},
	// Every rule reported under a `# check=` comment of its own, with a
	// `# check=skip=` directive of n rules.
	{name: "PackageInstallWithoutCache/skipList", fires: "PackageInstallWithoutCache", gen: func(n int) string {
		return "# check=skip=" + strings.TrimSuffix(lines(n, "R%d,", idx), ",") + "\nFROM node:20\n" +
			lines(n, "# check=skip=ConstantCondition\nRUN npm ci\n")
	}},
	// ConstantCondition: n conditions without names.
	{name: "ConstantCondition/conditions", fires: "ConstantCondition", gen: func(n int) string {
		return "FROM busybox\n" + lines(n, "RUN --if=\"'a' == 'b'\" echo %d\n", idx)
	}},
	// StageDependsOnBranch, StageArgOnlyForConditions, UnreachableStage:
	// n blocks that each start one of two stages, the lines after each
	// END in either.
	{name: "StageDependsOnBranch/joins", fires: "StageDependsOnBranch", gen: func(n int) string {
		return "ARG A=1\n" + lines(n/2, "IF A\nFROM busybox AS a%d\nELSE\nFROM busybox AS b%d\nEND\nARG Y%d=1\nRUN --if=Y%d echo\nRUN echo\n", idx, idx, idx, idx)
	}},
	// MissingDockerignore: n stages that copy the context.
	{name: "MissingDockerignore/stages", fires: "MissingDockerignore", gen: func(n int) string {
		return lines(n, "FROM busybox AS s%d\nRUN true\nCOPY a /a\n", idx)
	}},
}

// scaleInput is the checks' input for a generated file.
func scaleInput(tb testing.TB, c scaleCase, n int) (*Input, *linter.Config) {
	tb.Helper()
	dt := []byte("# syntax=org/stagefront\n" + c.gen(n))
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	rw, err := rewrite.Rewrite(context.Background(), dt, rewrite.Options{TargetPlatform: p, BuildPlatform: p})
	if err != nil {
		tb.Fatalf("%s: rewrite: %v", c.name, err)
	}
	cfg, err := Config(dt, nil)
	if err != nil {
		tb.Fatal(err)
	}
	no := false
	in := &Input{Rewrite: rw, Dockerignore: &no, FinalImageUser: func(context.Context) (string, bool) { return "", true }}
	if c.named != nil {
		in.NamedContexts = c.named(n)
	}
	return in, cfg
}

// cost runs the checks on in and returns what they cost: the least CPU
// time of five runs, each after a collection (so that none pays for the
// garbage of another), and the mallocs of one, and how often each rule
// fired.
func cost(tb testing.TB, in *Input, cfg *linter.Config) (nanos time.Duration, mallocs uint64, fired map[string]int) {
	tb.Helper()
	c := *cfg
	run := func() {
		fired = map[string]int{}
		c.Warn = func(rule, _, _, _ string, _ []parser.Range) { fired[rule]++ }
		if err := runChecks(context.Background(), in, linter.New(&c)); err != nil {
			tb.Fatal(err)
		}
	}
	run() // warm: the analysis' and the rewrite's lazy parts
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	// The checks run on this goroutine: its thread's CPU time is theirs,
	// whatever other processes and the other tests take.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	nanos = time.Duration(math.MaxInt64)
	for range 5 {
		runtime.GC()
		t0 := threadTime()
		run()
		nanos = min(nanos, threadTime()-t0)
	}
	return nanos, after.Mallocs - before.Mallocs, fired
}

// threadTime is the CPU time the calling thread has used.
func threadTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// TestChecksLinear fails when the checks on a file of size 8n cost far
// more than 8 times what they cost on size n: in mallocs, which are
// exact, more than 12 times; in time, which a busy machine blurs, more
// than 24 times in each of three measures of both sizes (a lucky short
// run of the small file makes one ratio large; a quadratic rule is 64
// times in all of them). Linear is 8 times.
func TestChecksLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("rewrites generated files of thousands of lines")
	}
	const n = 600
	for _, c := range scaleCases {
		t.Run(c.name, func(t *testing.T) {
			in, cfg := scaleInput(t, c, n)
			smallTime, smallAllocs, fired := cost(t, in, cfg)
			if fired[c.fires] == 0 {
				t.Errorf("%s never fired: the file does not reach the check (fired: %v)", c.fires, fired)
			}
			large, largeCfg := scaleInput(t, c, 8*n)
			largeTime, largeAllocs, _ := cost(t, large, largeCfg)
			allocs := float64(largeAllocs) / float64(max(smallAllocs, 1))
			times := float64(largeTime) / float64(max(smallTime, 1))
			t.Logf("n=%d: %d mallocs, %s; 8n: %d mallocs, %s: x%.1f, x%.1f", n, smallAllocs, smallTime, largeAllocs, largeTime, allocs, times)
			if allocs > 12 {
				t.Errorf("the checks' mallocs grow x%.1f from n=%d to 8n: quadratic", allocs, n)
			}
			for try := 2; times > 24 && try <= 3; try++ {
				smallTime, _, _ = cost(t, in, cfg)
				largeTime, _, _ = cost(t, large, largeCfg)
				times = min(times, float64(largeTime)/float64(max(smallTime, 1)))
				t.Logf("measure %d: n=%d %s, 8n %s: x%.1f", try, n, smallTime, largeTime, float64(largeTime)/float64(max(smallTime, 1)))
			}
			if times > 24 {
				t.Errorf("the checks' time grows x%.1f (the least of three measures) from n=%d to 8n: quadratic", times, n)
			}
		})
	}
}

func BenchmarkChecks(b *testing.B) {
	for _, c := range scaleCases {
		for _, n := range []int{1000, 8000} {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				in, cfg := scaleInput(b, c, n)
				for b.Loop() {
					if _, err := Run(context.Background(), in, cfg, func(string, string, string, string, []parser.Range) {}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
