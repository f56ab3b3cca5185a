package builder

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/pkg/errors"
	fstypes "github.com/tonistiigi/fsutil/types"
	"google.golang.org/protobuf/proto"
)

// fakeSolver stands in for BuildKit's solver. It "runs" a definition by
// reading the commands of its exec ops: `sleep N` waits N units (the ctx
// may cancel it), `false` fails as BuildKit fails a RUN, with the RUN's
// location from the definition's source map attached. Every call is
// recorded.
type fakeSolver struct {
	unit time.Duration

	mu    sync.Mutex
	calls []*solveCall
}

type solveCall struct {
	cmds       []string
	evaluate   bool
	start, end time.Time
	err        error
}

func (f *fakeSolver) Solve(ctx context.Context, req client.SolveRequest) (*client.Result, error) {
	call := &solveCall{evaluate: req.Evaluate, start: time.Now()}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	err := f.run(ctx, req.Definition, call)
	f.mu.Lock()
	call.end, call.err = time.Now(), err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	res := client.NewResult()
	res.SetRef(fakeRef{})
	return res, nil
}

func (f *fakeSolver) run(ctx context.Context, def *pb.Definition, call *solveCall) error {
	type exec struct {
		cmd  string
		dgst digest.Digest
	}
	var execs []exec
	for _, dt := range def.Def {
		var op pb.Op
		if err := proto.Unmarshal(dt, &op); err != nil {
			return err
		}
		if e := op.GetExec(); e != nil {
			args := e.GetMeta().GetArgs()
			execs = append(execs, exec{args[len(args)-1], digest.FromBytes(dt)})
			call.cmds = append(call.cmds, args[len(args)-1])
		}
	}
	for _, e := range execs {
		for _, part := range strings.Split(e.cmd, "&&") {
			fields := strings.Fields(part)
			switch {
			case len(fields) == 2 && fields[0] == "sleep":
				n, _ := strconv.Atoi(fields[1])
				select {
				case <-time.After(time.Duration(n) * f.unit):
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			case len(fields) == 1 && fields[0] == "false":
				err := errors.Errorf("process \"/bin/sh -c %s\" did not complete successfully: exit code: 1", e.cmd)
				return withOpSource(err, def, e.dgst)
			}
		}
	}
	return nil
}

// withOpSource attaches the locations the definition's source map gives
// op dgst, as BuildKit's solver does for a failed step.
func withOpSource(err error, def *pb.Definition, dgst digest.Digest) error {
	if def.Source == nil {
		return err
	}
	locs := def.Source.Locations[dgst.String()]
	if locs == nil {
		return err
	}
	for _, l := range locs.Locations {
		err = errdefs.WithSource(err, &errdefs.Source{Info: def.Source.Infos[l.SourceIndex], Ranges: l.Ranges})
	}
	return err
}

// fakeRef is a solved reference nobody reads.
type fakeRef struct{ client.Reference }

// fileRef is a solved local source holding files.
type fileRef struct {
	client.Reference
	files map[string]string
}

func (r fileRef) ReadFile(ctx context.Context, req client.ReadRequest) ([]byte, error) {
	dt, ok := r.files[req.Filename]
	if !ok {
		return nil, errors.Wrapf(fs.ErrNotExist, "open %s", req.Filename)
	}
	return []byte(dt), nil
}

func (r fileRef) StatFile(ctx context.Context, req client.StatRequest) (*fstypes.Stat, error) {
	dt, ok := r.files[req.Path]
	if !ok {
		return nil, errors.Wrapf(fs.ErrNotExist, "stat %s", req.Path)
	}
	return &fstypes.Stat{Path: req.Path, Size: int64(len(dt)), Mode: 0o644}, nil
}

// fakeClient is a gateway client.Client for Build as a whole: local
// sources are the files given, images are the stub resolver's, and every
// other definition goes to the fakeSolver.
type fakeClient struct {
	*fakeSolver
	stubResolver
	opts  map[string]string
	files map[string]string
}

func newFakeClient(unit time.Duration, dockerfile string, opts map[string]string) *fakeClient {
	return &fakeClient{
		fakeSolver: &fakeSolver{unit: unit},
		opts:       opts,
		files:      map[string]string{"Dockerfile": dockerfile},
	}
}

func (c *fakeClient) Solve(ctx context.Context, req client.SolveRequest) (*client.Result, error) {
	for _, dt := range req.Definition.GetDef() {
		var op pb.Op
		if err := proto.Unmarshal(dt, &op); err != nil {
			return nil, err
		}
		if src := op.GetSource(); src != nil && strings.HasPrefix(src.Identifier, "local://") {
			res := client.NewResult()
			res.SetRef(fileRef{files: c.files})
			return res, nil
		}
	}
	return c.fakeSolver.Solve(ctx, req)
}

func (c *fakeClient) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	return nil, errors.New("fakeClient: ResolveSourceMetadata is not faked")
}

func (c *fakeClient) BuildOpts() client.BuildOpts {
	return client.BuildOpts{
		Opts:      c.opts,
		SessionID: "fake-session",
		Product:   "stagefront-test",
		LLBCaps:   pb.Caps.CapSet(pb.Caps.All()),
		Caps:      gwpb.Caps.CapSet(gwpb.Caps.All()),
	}
}

func (c *fakeClient) Inputs(ctx context.Context) (map[string]llb.State, error) {
	return map[string]llb.State{}, nil
}

func (c *fakeClient) NewContainer(ctx context.Context, req client.NewContainerRequest) (client.Container, error) {
	return nil, errors.New("fakeClient: no containers")
}

func (c *fakeClient) Warn(ctx context.Context, dgst digest.Digest, msg string, opts client.WarnOpts) error {
	return nil
}

// callWith returns the recorded call that ran cmd (nil: none did).
func (f *fakeSolver) callWith(cmd string) *solveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		for _, have := range c.cmds {
			if have == cmd {
				return c
			}
		}
	}
	return nil
}

func (f *fakeSolver) allCalls() []*solveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*solveCall, len(f.calls))
	copy(out, f.calls)
	return out
}

// gatesDockerfile has two gates of 3 units each on the target's path (one
// through the stage the target copies from) and a target of 3 units.
const gatesDockerfile = `ARG RUN_TESTS=true
FROM busybox AS unit
RUN sleep 3 && echo unit

FROM busybox AS lint
RUN sleep 3 && echo lint

FROM busybox AS app
REQUIRE --if=RUN_TESTS unit
RUN echo app > /app

FROM busybox AS final
REQUIRE lint
COPY --from=app /app /app
RUN sleep 3 && echo final
`

func gateConverter(t *testing.T, dt string, args map[string]string) *converter {
	t.Helper()
	b := []byte(dt)
	return &converter{orig: b, opt: testConvertOpt(t, b, args, "", nil)}
}

func TestGatesSolvedInParallelWithTarget(t *testing.T) {
	const unit = 150 * time.Millisecond
	f := &fakeSolver{unit: unit}
	cv := gateConverter(t, gatesDockerfile, nil)
	start := time.Now()
	pr, err := cv.solvePlatform(context.Background(), f, nil, true, nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if pr.ref == nil || pr.conv == nil {
		t.Fatalf("no target result: %+v", pr)
	}
	calls := f.allCalls()
	if len(calls) != 3 {
		t.Fatalf("%d solves, want 3 (target, unit, lint)", len(calls))
	}
	target := f.callWith("sleep 3 && echo final")
	unitGate := f.callWith("sleep 3 && echo unit")
	lintGate := f.callWith("sleep 3 && echo lint")
	if target == nil || unitGate == nil || lintGate == nil || target == unitGate || target == lintGate || unitGate == lintGate {
		t.Fatalf("want one solve each for the target and the two gates, got %+v", calls)
	}
	// Nothing of a gate is in the target's definition.
	for _, c := range target.cmds {
		if strings.Contains(c, "unit") || strings.Contains(c, "lint") {
			t.Errorf("the target's definition runs a gate's step %q", c)
		}
	}
	// The gate of app (required transitively through COPY --from=app) is
	// its own target: only its stage.
	if len(unitGate.cmds) != 1 {
		t.Errorf("gate unit solves %v, want only its own RUN", unitGate.cmds)
	}
	for _, c := range calls {
		if !c.evaluate {
			t.Errorf("solve of %v is lazy: its steps would not run in the frontend", c.cmds)
		}
	}
	// All three overlap in time.
	latestStart, earliestEnd := calls[0].start, calls[0].end
	for _, c := range calls[1:] {
		if c.start.After(latestStart) {
			latestStart = c.start
		}
		if c.end.Before(earliestEnd) {
			earliestEnd = c.end
		}
	}
	if !latestStart.Before(earliestEnd) {
		t.Errorf("the solves did not run at the same time")
	}
	// That they overlap is the proof; how long it took is the bench's
	// (gate_parallel_ratio).
	t.Logf("target + 2 gates of 3 units (%s) each: %s", unit, elapsed.Round(time.Millisecond))
}

func TestGateFailureNamesGateAndLines(t *testing.T) {
	dt := `FROM busybox AS tester
RUN echo testing
RUN false

FROM busybox
REQUIRE tester
RUN sleep 50
`
	f := &fakeSolver{unit: 100 * time.Millisecond}
	cv := gateConverter(t, dt, nil)
	start := time.Now()
	pr, err := cv.solvePlatform(context.Background(), f, nil, true, nil)
	if err == nil {
		t.Fatalf("a failing gate did not fail the build: %+v", pr)
	}
	if pr != nil {
		t.Errorf("a result came back with the error")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the target was not cancelled when the gate failed (%s)", time.Since(start))
	}
	if !strings.HasPrefix(err.Error(), `REQUIRE gate "tester" failed: process "/bin/sh -c false" did not complete successfully`) {
		t.Errorf("error: %v", err)
	}
	var lines []int32
	for _, s := range errdefs.Sources(err) {
		lines = append(lines, s.Ranges[0].Start.Line)
		if string(s.Info.Data) != dt {
			t.Errorf("source is not the user's file: %q", s.Info.Data)
		}
	}
	if fmt.Sprint(lines) != "[3 6]" {
		t.Errorf("error lines %v, want [3 6] (the failing RUN, then the REQUIRE)", lines)
	}
	if c := f.callWith("sleep 50"); c == nil || !c.evaluate {
		t.Errorf("the target was not solved alongside the gate: %+v", c)
	}
}

func TestNoGatesIsUpstreamSolve(t *testing.T) {
	f := &fakeSolver{unit: time.Millisecond}
	cv := gateConverter(t, gatesDockerfile, map[string]string{"RUN_TESTS": "false"})
	cv.opt.Target = "app"
	if _, err := cv.solvePlatform(context.Background(), f, nil, true, nil); err != nil {
		t.Fatal(err)
	}
	calls := f.allCalls()
	if len(calls) != 1 {
		t.Fatalf("%d solves, want only the target's", len(calls))
	}
	// Lazily, as upstream does, unless it copies from a stage: then it is
	// evaluated, so that a missing COPY --from source can be explained
	// (copyerr.go).
	rw, err := cv.rewrite(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].evaluate != copiesFromStage(rw) {
		t.Errorf("without gates the target is solved lazily, as upstream does, unless it copies from a stage: evaluate=%v", calls[0].evaluate)
	}
}

func TestGateOffByCondition(t *testing.T) {
	f := &fakeSolver{unit: time.Millisecond}
	cv := gateConverter(t, gatesDockerfile, map[string]string{"RUN_TESTS": "0"})
	if _, err := cv.solvePlatform(context.Background(), f, nil, true, nil); err != nil {
		t.Fatal(err)
	}
	if f.callWith("sleep 3 && echo unit") != nil {
		t.Errorf("gate unit ran with RUN_TESTS=0")
	}
	if f.callWith("sleep 3 && echo lint") == nil {
		t.Errorf("gate lint did not run")
	}
}

// platformGatesDockerfile is per-platform: the scan gate only for amd64, and
// it fails there.
const platformGatesDockerfile = `FROM busybox AS scan
RUN false

FROM busybox AS check
RUN echo check-$TARGETARCH

FROM busybox
REQUIRE check
REQUIRE --if="TARGETARCH == 'amd64'" scan
RUN echo image
`

func TestBuildGatesPerPlatform(t *testing.T) {
	c := newFakeClient(time.Millisecond, platformGatesDockerfile, map[string]string{"platform": "linux/arm64,linux/amd64"})
	_, err := Build(context.Background(), c)
	if err == nil {
		t.Fatal("the amd64 scan gate failed, the build did not")
	}
	if !strings.Contains(err.Error(), `REQUIRE gate "scan" failed for linux/amd64: `) {
		t.Errorf("error: %v", err)
	}

	c = newFakeClient(time.Millisecond, platformGatesDockerfile, map[string]string{"platform": "linux/arm64"})
	res, err := Build(context.Background(), c)
	if err != nil {
		t.Fatalf("arm64 has no scan gate: %v", err)
	}
	if res.Ref == nil {
		t.Errorf("no result")
	}
	if c.callWith("false") != nil {
		t.Errorf("the amd64-only gate ran for arm64")
	}
	if call := c.callWith("echo check-$TARGETARCH"); call == nil || !call.evaluate {
		t.Errorf("gate check was not evaluated: %+v", call)
	}
}

// TestSubrequestsRunNoGates: --call answers from the rewrite, builds
// nothing, so no gate runs; outline names the gates.
func TestSubrequestsRunNoGates(t *testing.T) {
	for _, req := range []string{"frontend.outline", "frontend.targets", "frontend.lint"} {
		t.Run(req, func(t *testing.T) {
			c := newFakeClient(time.Millisecond, gatesDockerfile, map[string]string{"requestid": req})
			res, err := Build(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if calls := c.allCalls(); len(calls) != 0 {
				t.Errorf("--call solved %d definitions, want none: %+v", len(calls), calls)
			}
			if req == "frontend.outline" {
				txt := string(res.Metadata["result.txt"])
				if !strings.Contains(txt, "requires: unit (line 9), lint (line 13)") {
					t.Errorf("outline does not show the gates:\n%s", txt)
				}
			}
			if req == "frontend.targets" {
				txt := string(res.Metadata["result.txt"])
				if !strings.Contains(txt, "requires: lint (line 13)") || !strings.Contains(txt, "requires: unit (line 9)") {
					t.Errorf("targets do not show the requirements:\n%s", txt)
				}
			}
		})
	}
}

func TestOutlineGatesNote(t *testing.T) {
	cv := gateConverter(t, strings.Replace(gatesDockerfile, "FROM busybox AS final", "# final is the image\nFROM busybox AS final", 1), nil)
	o, err := cv.outline(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "is the image (requires: unit (line 9), lint (line 14) (stagefront REQUIRE: built with the target, and must pass))"
	if o.Description != want {
		t.Errorf("description %q\nwant        %q", o.Description, want)
	}
	cv = gateConverter(t, gatesDockerfile, map[string]string{"RUN_TESTS": "0"})
	cv.opt.Target = "app"
	o, err = cv.outline(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(o.Description, "requires") {
		t.Errorf("app has no gate with RUN_TESTS=0, outline says %q", o.Description)
	}
}

// The per-platform error names the platform only in a multi-platform
// build.
func TestGateErrorPlatform(t *testing.T) {
	cv := gateConverter(t, "FROM busybox\n", nil)
	p := platforms.MustParse("linux/arm64")
	rw := &rewrite.Result{}
	if got := cv.gateError(errors.New("boom"), "scan", &p, rw).Error(); got != `REQUIRE gate "scan" failed: boom` {
		t.Errorf("single platform: %s", got)
	}
	cv.opt.MultiPlatformRequested = true
	if got := cv.gateError(errors.New("boom"), "scan", &p, rw).Error(); got != `REQUIRE gate "scan" failed for linux/arm64: boom` {
		t.Errorf("multi-platform: %s", got)
	}
}

// A gate's error crosses gRPC twice (BuildKit to the frontend, the
// frontend back to BuildKit, BuildKit to the client): the gate's name
// must survive, with the failed step's source first, then the REQUIRE's,
// and the error's code.
func TestGateErrorSurvivesGRPC(t *testing.T) {
	dt := "FROM busybox AS tester\nRUN false\nFROM scratch\nREQUIRE tester\n"
	cv := gateConverter(t, dt, nil)
	inner := errdefs.WithSource(errors.New(`process "/bin/sh -c false" did not complete successfully: exit code: 1`),
		&errdefs.Source{Info: sourceInfo(cv.opt.SourceMap), Ranges: pbRanges([]parser.Range{{Start: parser.Position{Line: 2}, End: parser.Position{Line: 2}}})})
	fromBuildKit := grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), inner))
	rw := &rewrite.Result{Stages: []rewrite.Stage{{Name: "", Live: true, Requires: []rewrite.Requirement{{Stage: "tester", Line: 4}}}}}
	err := withLocations(cv.gateError(fromBuildKit, "tester", nil, rw), cv.opt.SourceMap)

	// The frontend returns it to BuildKit, which returns it to the client.
	roundTrip := func(err error) error { return grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), err)) }
	back := roundTrip(roundTrip(err))
	if want := `REQUIRE gate "tester" failed: process "/bin/sh -c false" did not complete successfully: exit code: 1`; back.Error() != want {
		t.Errorf("after gRPC: %q\nwant        %q", back.Error(), want)
	}
	var lines []int32
	for _, s := range errdefs.Sources(back) {
		lines = append(lines, s.Ranges[0].Start.Line)
	}
	if fmt.Sprint(lines) != "[2 4]" {
		t.Errorf("sources after gRPC on lines %v, want [2 4]", lines)
	}
	if c := grpcerrors.Code(back); c != grpcerrors.Code(fromBuildKit) {
		t.Errorf("code %v, want %v", c, grpcerrors.Code(fromBuildKit))
	}
}

// failingResolver fails the lookup of one image.
type failingResolver struct {
	stubResolver
	ref string
}

func (r failingResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if strings.Contains(ref, r.ref) {
		return "", "", nil, errors.Errorf("%s: not found", ref)
	}
	return r.stubResolver.ResolveImageConfig(ctx, ref, opt)
}

// A gate that cannot even be converted (here: its base image does not
// resolve; only the gate reaches it) fails the build naming the gate.
func TestGateConversionErrorNamesGate(t *testing.T) {
	dt := "FROM scanner-missing-image AS scan\nRUN scan\nFROM busybox\nREQUIRE Scan\nRUN echo image\n"
	f := &fakeSolver{unit: time.Millisecond}
	cv := gateConverter(t, dt, nil)
	cv.opt.MetaResolver = failingResolver{ref: "scanner-missing-image"}
	_, err := cv.solvePlatform(context.Background(), f, nil, true, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `REQUIRE gate "scan" failed: `) || !strings.Contains(err.Error(), "scanner-missing-image") {
		t.Fatalf("error: %v", err)
	}
	if c := f.callWith("scan"); c != nil {
		t.Errorf("the gate was solved although it did not convert")
	}
}
