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
// gates of the stage it names are built, even with a trailing stage that
// does not declare SRC.
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
	good := generateExtended(400)
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

// A cancelled build stops the rewrite: Analyze and Evaluate return the
// context's cause instead of finishing the file.
func TestCancelledContextStopsTheRewrite(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ARG A=1\nFROM busybox\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "RUN --if=A echo %d\n", i)
	}
	dt := []byte(b.String())
	cause := errors.New("the build was cancelled")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if _, err := Rewrite(ctx, dt, Options{}); !errors.Is(err, cause) {
		t.Errorf("Rewrite with a cancelled context: %v, want %v", err, cause)
	}
	f, err := analysis.Analyze(context.Background(), "Dockerfile", dt, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(ctx, f, Options{}); !errors.Is(err, cause) {
		t.Errorf("Evaluate with a cancelled context: %v, want %v", err, cause)
	}
}
