package builder

import (
	"context"
	"fmt"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/grpcerrors"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
	"golang.org/x/sync/errgroup"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// solver is the part of client.Client a platform's build needs; tests
// give a fake.
type solver interface {
	Solve(ctx context.Context, req client.SolveRequest) (*client.Result, error)
}

// platformResult is one platform's converted and solved target.
type platformResult struct {
	// conv is the target's conversion (image config, SBOM targets, ...).
	conv *dockerfile2llb.Result
	// ref is the solved target.
	ref client.Reference
}

// solvePlatform converts the file for platform p and solves the target
// together with its REQUIRE gates (rewrite.Result.Gates): each gate is
// converted as a target of its own from the same rewrite, and every gate
// is solved in parallel with the target. A gate is evaluated (its steps
// really run: a lazily solved ref would never run them), and so is the
// target when there are gates, so that all of them build at the same
// time rather than the target after the frontend returns. The build
// fails when any of them fails; nothing of a gate is in the result.
//
// Without gates this is upstream's solve: the target, lazily.
func (cv *converter) solvePlatform(ctx context.Context, s solver, p *ocispecs.Platform, warn bool, cacheImports []client.CacheOptionsEntry) (*platformResult, error) {
	conv, rw, err := cv.toLLB(ctx, p, warn)
	if err != nil {
		return nil, err
	}
	def, err := cv.marshal(ctx, conv.State, rw)
	if err != nil {
		return nil, err
	}
	gates := rw.Gates
	if len(gates) == 0 {
		r, err := s.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: cacheImports, Evaluate: copiesFromStage(rw)})
		if err != nil {
			return nil, cv.explainCopyError(ctx, s, p, rw, err) // copyerr.go
		}
		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}
		return &platformResult{conv: conv, ref: ref}, nil
	}

	out := &platformResult{conv: conv}
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() (err error) {
		defer catchPanic(&err)
		r, err := s.Solve(ectx, client.SolveRequest{Definition: def.ToPB(), CacheImports: cacheImports, Evaluate: true})
		if err != nil {
			return cv.explainCopyError(ctx, s, p, rw, err) // copyerr.go
		}
		out.ref, err = r.SingleRef()
		return err
	})
	for _, gate := range gates {
		eg.Go(func() (err error) {
			defer catchPanic(&err)
			if err := cv.solveGate(ectx, s, p, rw, gate, cacheImports); err != nil {
				return cv.gateError(err, gate, p, rw)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// solveGate converts stage gate of the rewrite rw as the target and
// solves it, evaluated; the result is dropped.
func (cv *converter) solveGate(ctx context.Context, s solver, p *ocispecs.Platform, rw *rewrite.Result, gate string, cacheImports []client.CacheOptionsEntry) error {
	opt, files := cv.convertOpt(p, false, rw)
	opt.Target = gate
	conv, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
	if err != nil {
		return files.locate(err)
	}
	def, err := cv.marshal(ctx, conv.State, rw)
	if err != nil {
		return err
	}
	_, err = s.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: cacheImports, Evaluate: true})
	return err
}

// gateError names the gate that failed (and the platform, in a
// multi-platform build) and adds the line of the REQUIRE that asked for
// it, after the locations err already carries (the failing step's line
// stays the first one clients show).
func (cv *converter) gateError(err error, gate string, p *ocispecs.Platform, rw *rewrite.Result) error {
	msg := fmt.Sprintf("REQUIRE gate %q failed", gate)
	if cv.opt.MultiPlatformRequested && p != nil {
		msg += " for " + platforms.Format(*p)
	}
	err = &wrappedError{msg: msg, err: err}
	if line := requireLine(rw, gate); line > 0 {
		err = wrapSource(err, cv.opt.SourceMap, []parser.Range{{Start: parser.Position{Line: line}, End: parser.Position{Line: line}}})
	}
	return err
}

// wrappedError prefixes an error's message with msg, also when the error
// came from BuildKit over gRPC. (errors.Wrap is not enough there: when the
// frontend returns an error, grpcerrors.ToGRPC sends the message of the
// gRPC status found in the chain, and drops a wrapper's context when that
// status came from BuildKit itself.) Everything else of the chain (the
// sources, the failed step, the stack) is kept.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *wrappedError) Unwrap() error { return e.err }

// GRPCStatus is the status of the wrapped error (its code and details)
// with this message.
func (e *wrappedError) GRPCStatus() *status.Status {
	p := &spb.Status{Code: int32(grpcerrors.Code(e.err)), Message: e.Error()}
	if p.Code == int32(codes.OK) {
		p.Code = int32(codes.Unknown)
	}
	if st, ok := grpcerrors.AsGRPCStatus(e.err); ok && st != nil {
		p.Details = st.Proto().Details
	}
	return status.FromProto(p)
}

// requireLine is the line of the first live REQUIRE that names gate, 0
// when none does.
func requireLine(rw *rewrite.Result, gate string) int {
	for _, st := range rw.Stages {
		if !st.Live {
			continue
		}
		for _, r := range st.Requires {
			if r.Stage == gate {
				return r.Line
			}
		}
	}
	return 0
}
