package builder

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/fuzzseed"
)

// fuzzContext answers exists() for the gateway fuzz target: "a" and
// "docs" exist, a pattern holding "ERR" cannot be read.
type fuzzContext struct{}

func (fuzzContext) Exists(_ context.Context, p string) (bool, error) {
	if strings.Contains(p, "ERR") {
		return false, errors.New("the context cannot be read")
	}
	return p == "a" || p == "docs", nil
}

// FuzzGatewayConvert runs the gateway's in-process path on any input, as
// a build does: the rewrite for the platform, then BuildKit's
// dockerfile2llb conversion of it beside stagefront's build checks, the
// LLB marshalled, and each REQUIRE gate converted as its own target; then
// the subrequests that convert (targets, outline, lint). Nothing may
// panic (stagefront's checks are also run without the recover that a
// build puts around them, so a panic there is seen); the rewrite keeps
// the line count; a rewrite error points at lines of the input. Errors of
// the parser and the converter that carry no line are recorded (see
// recordLineless), not asserted.
//
// When generated is set, dt is a program for fuzzseed.Generate (see the
// rewrite's FuzzRewrite). The target is 0 for the default (the last stage), k for the k-th
// stage name of the file (cyclically), 255 for a name no stage has.
//
// Seeds: the cases of ../rewrite/testdata/rewrite, hostileSeeds and
// generatedSeeds.
func FuzzGatewayConvert(f *testing.F) {
	for _, s := range fuzzseed.GoldenSeeds(f, filepath.Join("..", "rewrite", "testdata", "rewrite")) {
		var target uint8
		if i := slices.Index(stageNames(s.Dockerfile), s.Target); i >= 0 && s.Target != "" {
			target = uint8(i + 1)
		}
		f.Add(s.Dockerfile, s.Arg, s.Arm, target, false)
	}
	for _, dt := range fuzzseed.HostileSeeds("busybox") {
		f.Add(dt, "A=1", false, uint8(0), false)
		f.Add(dt, "A=0", true, uint8(1), false)
	}
	for _, prog := range fuzzseed.GeneratedSeeds() {
		f.Add(prog, "S=b", false, uint8(0), true)
		f.Add(prog, "A=0", true, uint8(2), true)
	}
	st := llb.Local(dockerui.DefaultLocalNameDockerfile, llb.FollowPaths([]string{"Dockerfile"}))
	def, err := st.Marshal(context.Background(), fixedUnique)
	if err != nil {
		f.Fatal(err)
	}
	caps := pb.Caps.CapSet(pb.Caps.All())
	f.Fuzz(func(t *testing.T, dt []byte, arg string, arm bool, targetIndex uint8, generated bool) {
		ctx := context.Background()
		if generated {
			dt = fuzzseed.Generate(dt)
		}
		var target string
		if names := stageNames(dt); targetIndex == 255 {
			target = "no-such-stage"
		} else if targetIndex > 0 && len(names) > 0 {
			target = names[int(targetIndex-1)%len(names)]
		}
		args := map[string]string{}
		if k, v, ok := strings.Cut(arg, "="); ok {
			args[k] = v
		}
		var p *ocispecs.Platform
		if arm {
			p = ptr(platforms.MustParse("linux/arm64"))
		}
		sm := llb.NewSourceMap(&st, "Dockerfile", "Dockerfile", dt)
		sm.Definition = def
		var warns warnings
		cv := &converter{orig: dt, ctxt: fuzzContext{}, opt: dockerfile2llb.ConvertOpt{
			Config: dockerui.Config{
				BuildArgs:      args,
				Target:         target,
				BuildPlatforms: []ocispecs.Platform{platforms.MustParse("linux/amd64")},
			},
			SourceMap:    sm,
			MetaResolver: stubResolver{},
			LLBCaps:      &caps,
			Warn:         warns.fn,
		}}

		res, rw, err := cv.toLLB(ctx, p, true)
		if err != nil {
			checkConvertError(t, dt, err)
		}
		if rw == nil {
			return
		}
		if got, want := bytes.Count(rw.Dockerfile, []byte("\n")), bytes.Count(dt, []byte("\n")); got != want {
			t.Fatalf("line count %d, want %d", got, want)
		}
		// stagefront's checks, without the recover of buildLint.
		if rw.Extended {
			if cfg, err := lint.Config(dt, nil); err == nil {
				finalUser := func(context.Context) (string, bool) { return "", false }
				if res != nil && res.Image != nil {
					finalUser = func(context.Context) (string, bool) { return res.Image.Config.User, true }
				}
				lint.Run(ctx, cv.lintInput(ctx, rw, finalUser), cfg, func(string, string, string, string, []parser.Range) {})
			}
		}
		if res == nil {
			return
		}
		if _, err := res.State.Marshal(ctx); err != nil {
			fuzzseed.RecordLineless("FuzzGatewayConvert", "marshal", err, dt)
		}
		for _, gate := range rw.Gates {
			opt := cv.platformOpt(p, false)
			opt.Target = gate
			conv, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
			if err != nil {
				if !fuzzseed.HasLine(err) {
					fuzzseed.RecordLineless("FuzzGatewayConvert", "gate", err, dt)
				}
				continue
			}
			conv.State.Marshal(ctx)
		}
		// The subrequests that convert; their errors are upstream's.
		cv.targets(ctx, p)
		cv.outline(ctx, p)
		cv.lint(ctx, p)
	})
}

// stageNames lists the AS names of the FROMs of dt, as BuildKit's parser
// reads them (none when it cannot read dt).
func stageNames(dt []byte) []string {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil
	}
	var names []string
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "from") || n.Next == nil || n.Next.Next == nil || n.Next.Next.Next == nil {
			continue
		}
		if strings.EqualFold(n.Next.Next.Value, "as") {
			names = append(names, strings.ToLower(n.Next.Next.Next.Value))
		}
	}
	return names
}

// checkConvertError checks an error of the gateway's conversion of dt:
// never the engine's internal errors (a result without the input's line
// count, or none at all); a rewrite error has lines of dt; other errors
// are the parser's or the converter's, recorded when they carry no line.
func checkConvertError(t *testing.T, dt []byte, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "stagefront: internal error") {
		t.Fatalf("%v", err)
	}
	var list *syntax.ErrorList
	if errors.As(err, &list) {
		lines := len(bytes.SplitAfter(dt, []byte("\n")))
		if bytes.HasSuffix(dt, []byte("\n")) {
			lines--
		}
		if len(list.Errors()) == 0 {
			t.Fatalf("an empty ErrorList is an error: %q", err)
		}
		for _, e := range list.Errors() {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error at line %d of a file of %d lines: %v", e.Line, lines, e)
			}
		}
		return
	}
	if fuzzseed.HasLine(err) {
		return
	}
	kind := "convert"
	if _, perr := parser.Parse(bytes.NewReader(dt)); perr != nil {
		kind = "parser"
	}
	fuzzseed.RecordLineless("FuzzGatewayConvert", kind, err, dt)
}
