package builder

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
)

// extended is an extended Dockerfile and, line for line, the rewrite a
// build with INCLUDE_DOCS=false and BUILD_ENV=prod gets.
const (
	extended = `# syntax=org/stagefront
# INCLUDE_DOCS ship the docs in the image
ARG INCLUDE_DOCS=true
ARG BUILD_ENV=prod
ARG VERSION=1

# docs builds the documentation
FROM busybox AS docs
RUN echo docs > /index.html

IF BUILD_ENV == 'dev'
# dev the development image
FROM --platform=linux/amd64 busybox:${VERSION} AS dev
RUN echo dev
END

FROM scratch AS final
ARG VERSION
LABEL version=$VERSION
COPY --if=INCLUDE_DOCS --from=docs /index.html /docs/
`
	extendedRewrite = `# syntax=org/stagefront
# INCLUDE_DOCS ship the docs in the image
ARG INCLUDE_DOCS=true
ARG BUILD_ENV=prod
ARG VERSION=1

# docs builds the documentation
FROM busybox AS docs
RUN echo docs > /index.html

#
#
#
#
#

FROM scratch AS final
ARG VERSION
LABEL version=$VERSION
#
`
)

// extendedResult is what the engine says of extended, with analysis f.
func extendedResult(f *analysis.File) *rewrite.Result {
	return &rewrite.Result{
		Analysis:   f,
		Dockerfile: []byte(extendedRewrite),
		Extended:   true,
		Flags: []rewrite.Flag{
			{Name: "INCLUDE_DOCS", Doc: "ship the docs in the image", Default: "true", Value: "false", Defined: true, Line: 3, UsedAt: []int{20}},
			{Name: "VERSION", Default: "1", Value: "1", Defined: true, Line: 5, UsedAt: []int{30}},
			{Name: "TARGETARCH", Value: "amd64", Defined: true, Automatic: true, UsedAt: []int{25, 31}},
		},
		Stages: []rewrite.Stage{
			{Name: "docs", Index: 0, Line: 8, Live: true},
			{Name: "dev", Index: 1, Line: 13, Live: false, Conditions: []string{"IF BUILD_ENV == 'dev' (line 11)"}, OffBy: `IF BUILD_ENV == 'dev' (line 11) with BUILD_ENV="prod"`},
			{Name: "final", Index: 2, Line: 17, Live: true, Requires: []rewrite.Requirement{{Stage: "docs", Line: 19}}},
		},
	}
}

// fakeEngine returns extendedResult, whatever the values, with the real
// analysis of extended.
func fakeEngine(t *testing.T) func(context.Context, rewrite.Options) (*rewrite.Result, error) {
	f, err := analysis.Analyze(context.Background(), "Dockerfile", []byte(extended), analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return func(context.Context, rewrite.Options) (*rewrite.Result, error) {
		return extendedResult(f), nil
	}
}

func TestOutlineAddsFlags(t *testing.T) {
	t.Parallel()
	dt := []byte(extended)
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, map[string]string{"INCLUDE_DOCS": "false"}, "", nil), engine: fakeEngine(t)}

	// What upstream says about the rewrite: our additions go after it.
	up, err := dockerfile2llb.Dockerfile2Outline(context.Background(), []byte(extendedRewrite), cv.requestOpt())
	if err != nil {
		t.Fatal(err)
	}
	o, err := cv.outline(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Sources) != 1 || string(o.Sources[0]) != extended {
		t.Errorf("outline sources are not the original file")
	}
	if len(o.Args) < len(up.Args) {
		t.Fatalf("outline lost upstream args: %v", o.Args)
	}
	for i, a := range up.Args {
		if o.Args[i].Name != a.Name || o.Args[i].Value != a.Value {
			t.Errorf("arg %d = %+v, upstream %+v", i, o.Args[i], a)
		}
	}
	args := map[string]outline.Arg{}
	for _, a := range o.Args {
		args[a.Name] = a
	}
	docs, ok := args["INCLUDE_DOCS"]
	if !ok {
		t.Fatalf("INCLUDE_DOCS missing from outline: %+v", o.Args)
	}
	if docs.Value != "false" || !strings.HasPrefix(docs.Description, "ship the docs in the image") ||
		!strings.Contains(docs.Description, "stagefront condition flag") || !strings.Contains(docs.Description, "line 20") {
		t.Errorf("INCLUDE_DOCS = %+v", docs)
	}
	if locationLine(docs.Location) != 3 || docs.Location.SourceIndex != 0 {
		t.Errorf("INCLUDE_DOCS location %v, want line 3 of source 0", docs.Location)
	}
	arch := args["TARGETARCH"]
	if arch.Value != "amd64" || arch.Location != nil || !strings.Contains(arch.Description, "automatic") || !strings.Contains(arch.Description, "lines 25, 31") {
		t.Errorf("TARGETARCH = %+v", arch)
	}
	// VERSION is used by the target (LABEL) so upstream lists it: noted once, not added twice.
	n := 0
	for _, a := range o.Args {
		if a.Name == "VERSION" {
			n++
			if !strings.Contains(a.Description, "stagefront condition flag") {
				t.Errorf("VERSION not noted as a flag: %+v", a)
			}
		}
	}
	if n != 1 {
		t.Errorf("VERSION listed %d times", n)
	}
	if _, err := o.ToResult(); err != nil {
		t.Errorf("outline does not print: %v", err)
	}
}

func TestTargetsListsEveryStage(t *testing.T) {
	t.Parallel()
	dt := []byte(extended + "REQUIRE docs\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
	l, err := cv.targets(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []targets.Target{
		{Name: "docs", Description: "builds the documentation", Base: "busybox"},
		{Name: "dev", Description: `the development image [conditional: IF BUILD_ENV == 'dev' (line 11); off in this build: IF BUILD_ENV == 'dev' (line 11) with BUILD_ENV="prod"]`, Base: "busybox:${VERSION}", Platform: "linux/amd64"},
		{Name: "final", Default: true, Description: "requires: docs (line 21)", Base: "scratch"},
	}
	lines := []int{8, 13, 17}
	if len(l.Targets) != len(want) {
		t.Fatalf("targets = %+v", l.Targets)
	}
	for i, w := range want {
		g := l.Targets[i]
		if g.Name != w.Name || g.Default != w.Default || g.Base != w.Base || g.Platform != w.Platform || g.Description != w.Description {
			t.Errorf("target %d:\n got  %+v\n want %+v", i, g, w)
		}
		if locationLine(g.Location) != lines[i] {
			t.Errorf("target %s at line %d, want %d", g.Name, locationLine(g.Location), lines[i])
		}
	}
	if len(l.Sources) != 1 || string(l.Sources[0]) != string(dt) {
		t.Errorf("targets sources are not the original file")
	}
	if _, err := l.ToResult(); err != nil {
		t.Errorf("targets do not print: %v", err)
	}
}

func TestSubrequestsStandardParity(t *testing.T) {
	for _, tc := range standardDockerfiles {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			subrequestParity(t, tc.dt, tc.args, tc.target)
		})
	}
}

func subrequestParity(t *testing.T, src string, args map[string]string, target string) {
	ctx := context.Background()
	{
		{
			dt := []byte(src)
			cv := &converter{orig: dt, opt: testConvertOpt(t, dt, args, target, nil)}

			upO, err := dockerfile2llb.Dockerfile2Outline(ctx, dt, cv.requestOpt())
			if err != nil {
				t.Fatal(err)
			}
			o, err := cv.outline(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSameResult(t, "outline", upO, o)

			upT, err := dockerfile2llb.ListTargets(ctx, dt)
			if err != nil {
				t.Fatal(err)
			}
			l, err := cv.targets(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSameResult(t, "targets", upT, l)

			upL, err := dockerfile2llb.DockerfileLint(ctx, dt, cv.requestOpt())
			if err != nil {
				t.Fatal(err)
			}
			lr, err := cv.lint(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertSameResult(t, "lint", upL, upstreamOnly(lr))

			upC, err := dockerfile2llb.DockerfileConvertLLB(ctx, dt, cv.requestOpt())
			if err != nil {
				t.Fatal(err)
			}
			c, err := cv.convertLLB(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(upC.Def) != len(c.Def) {
				t.Errorf("convertllb: %d ops, upstream %d", len(c.Def), len(upC.Def))
			}
		}
	}
}

func assertSameResult(t *testing.T, what string, want, got any) {
	t.Helper()
	w, g := mustJSON(t, want), mustJSON(t, got)
	if w != g {
		t.Errorf("%s differs from upstream:\nupstream:   %s\nstagefront: %s", what, w, g)
	}
}

func TestLintReportsRewriteError(t *testing.T) {
	t.Parallel()
	dt := []byte("FROM scratch\nCOPY --if=FLAG a /a\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
	lr, err := cv.lint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if lr.Error == nil || !strings.Contains(lr.Error.Message, "undeclared name FLAG") {
		t.Fatalf("lint error = %+v", lr.Error)
	}
	if len(lr.Sources) != 1 || string(lr.Sources[0].Data) != string(dt) {
		t.Errorf("lint source is not the original")
	}
	if l := lr.Error.Location.Ranges[0].Start.Line; l != 2 || lr.Error.Location.SourceIndex != 0 {
		t.Errorf("lint error at %v", lr.Error.Location.Ranges)
	}
}

// TestEngineOutlineAndTargets runs the subrequests through the real engine.
func TestEngineOutlineAndTargets(t *testing.T) {
	dt := []byte(extended)
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, map[string]string{"INCLUDE_DOCS": "false"}, "", nil)}
	o, err := cv.outline(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range o.Args {
		if a.Name == "INCLUDE_DOCS" {
			found = true
			if a.Value != "false" || !strings.HasPrefix(a.Description, "ship the docs in the image") || locationLine(a.Location) != 3 {
				t.Errorf("INCLUDE_DOCS = %+v", a)
			}
		}
	}
	if !found {
		t.Errorf("INCLUDE_DOCS not in outline: %+v", o.Args)
	}
	l, err := cv.targets(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range l.Targets {
		names = append(names, tg.Name)
		if tg.Name == "dev" && (!strings.Contains(tg.Description, "conditional") || tg.Base != "busybox:${VERSION}") {
			t.Errorf("dev target = %+v", tg)
		}
	}
	if strings.Join(names, ",") != "docs,dev,final" {
		t.Errorf("targets = %v", names)
	}
}

// TestSubrequestsAfterEnd: a REQUIRE and a condition after the END of
// alternative finals belong to the final that holds: --call=targets
// gives that final the gate, and --call=outline the ARG of that final.
func TestSubrequestsAfterEnd(t *testing.T) {
	dt := []byte(`# syntax=org/stagefront
ARG BUILD_ENV=production
FROM busybox AS test
RUN echo ok
IF BUILD_ENV == "development"
FROM busybox AS final
# VERBOSE prints what the image does
ARG VERBOSE=true
ELSE
FROM busybox AS final
# VERBOSE stays quiet in production
ARG VERBOSE=false
END
REQUIRE test
RUN --if=VERBOSE echo verbose
`)
	for env, want := range map[string]struct {
		finalLine, verboseLine int
		doc, value             string
	}{
		"development": {6, 8, "prints what the image does", "true"},
		"production":  {10, 12, "stays quiet in production", "false"},
	} {
		t.Run(env, func(t *testing.T) {
			cv := &converter{orig: dt, opt: testConvertOpt(t, dt, map[string]string{"BUILD_ENV": env}, "", nil)}
			l, err := cv.targets(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range l.Targets {
				if tg.Name != "final" {
					continue
				}
				gated := strings.Contains(tg.Description, "requires: test (line 14)")
				if live := locationLine(tg.Location) == want.finalLine; live != gated {
					t.Errorf("final of line %d: %q (the live one has the gate)", locationLine(tg.Location), tg.Description)
				}
			}
			o, err := cv.outline(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range o.Args {
				if a.Name == "VERBOSE" {
					found = true
					if a.Value != want.value || !strings.HasPrefix(a.Description, want.doc) || locationLine(a.Location) != want.verboseLine {
						t.Errorf("VERBOSE = %+v, want the ARG of line %d", a, want.verboseLine)
					}
				}
			}
			if !found {
				t.Errorf("VERBOSE not in the outline: %+v", o.Args)
			}
		})
	}
}

// TestCheckCommentAboveInstruction: a `# check=` comment directly above an
// instruction needs a linter in BuildKit's instruction parser; without
// one, it panics on files upstream builds.
func TestCheckCommentAboveInstruction(t *testing.T) {
	t.Parallel()
	for _, df := range []string{
		"ARG base=busybox\nFROM ${base}\n# check=skip=all\nARG password\nRUN echo ok\n",
		"# syntax=org/stagefront\nARG ON=false\nFROM --if=ON busybox AS off\n# check=skip=all\nARG password\nFROM busybox\n# check=skip=all\nRUN --if=!ON echo ok\n",
	} {
		dt := []byte(df)
		cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
		ctx := context.Background()
		if _, _, err := cv.toLLB(ctx, nil, true); err != nil {
			t.Errorf("build: %v\n%s", err, df)
		}
		if _, err := cv.outline(ctx, nil); err != nil {
			t.Errorf("outline: %v", err)
		}
		if _, err := cv.targets(ctx, nil); err != nil {
			t.Errorf("targets: %v", err)
		}
		if lr, err := cv.lint(ctx, nil); err != nil || lr.Error != nil {
			t.Errorf("lint: %v %+v", err, lr)
		}
	}
}
