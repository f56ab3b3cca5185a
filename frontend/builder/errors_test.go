package builder

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/errdefs"
	"github.com/org/stagefront/frontend/rewrite"
)

// errorList is a rewrite's list of errors at lines of the Dockerfile.
func errorList(lines ...int) *rewrite.ErrorList {
	var l rewrite.ErrorList
	for _, n := range lines {
		l.Add("Dockerfile", n, 0, "an error at line %d", n)
	}
	return &l
}

func TestRewriteErrorsShowOriginalLines(t *testing.T) {
	dt := []byte("ARG A=1\nFROM busybox\nIF A ==\nRUN x\nEND\nCOPY --if=B . .\nRUN y\n")
	tests := []struct {
		name  string
		err   error
		lines []int
	}{
		{"list", errorList(3, 6), []int{3, 6}},
		{"one error", &rewrite.Error{File: "Dockerfile", Line: 5, Msg: "END without IF"}, []int{5}},
		{"wrapped list", wrapErr{errorList(4)}, []int{4}},
		{"plain error", errors.New("boom"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil),
				engine: func(context.Context, rewrite.Options) (*rewrite.Result, error) { return nil, tc.err }}
			_, _, err := cv.toLLB(context.Background(), nil, true)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.err.Error() {
				t.Errorf("message changed: %q, want %q", err, tc.err)
			}
			srcs := errdefs.Sources(err)
			if len(srcs) != len(tc.lines) {
				t.Fatalf("%d sources, want %d", len(srcs), len(tc.lines))
			}
			for i, s := range srcs {
				if string(s.Info.Data) != string(dt) || s.Info.Filename != "Dockerfile" || s.Info.Definition == nil {
					t.Errorf("source %d is not the original file's map: %+v", i, s.Info)
				}
				if len(s.Ranges) != 1 || int(s.Ranges[0].Start.Line) != tc.lines[i] {
					t.Errorf("source %d ranges %v, want line %d", i, s.Ranges, tc.lines[i])
				}
				var b strings.Builder
				if err := s.Print(&b); err != nil {
					t.Fatal(err)
				}
				want := strings.Split(string(dt), "\n")[tc.lines[i]-1]
				if !strings.Contains(b.String(), ">>> "+want) {
					t.Errorf("printed source does not mark the user's line %q:\n%s", want, b.String())
				}
			}
		})
	}
}

type wrapErr struct{ err error }

func (w wrapErr) Error() string { return w.err.Error() }
func (w wrapErr) Unwrap() error { return w.err }

// TestEngineErrorShowsLine runs the real engine on a bad flag value.
func TestEngineErrorShowsLine(t *testing.T) {
	dt := []byte("# syntax=org/stagefront\nARG INCLUDE_DOCS=true\nFROM scratch\nCOPY --if=INCLUDE_DOCS a /a\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, map[string]string{"INCLUDE_DOCS": "maybe"}, "", nil)}
	_, _, err := cv.toLLB(context.Background(), nil, true)
	if err == nil {
		t.Fatal("no error for a non-boolean flag")
	}
	srcs := errdefs.Sources(err)
	if len(srcs) == 0 || srcs[0].Ranges[0].Start.Line != 4 {
		t.Fatalf("error %q: sources %v, want line 4", err, srcs)
	}
	if !strings.Contains(err.Error(), "maybe") {
		t.Errorf("error does not quote the value: %v", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	dt := []byte("FROM scratch\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil),
		engine: func(context.Context, rewrite.Options) (*rewrite.Result, error) { panic("engine exploded") }}
	h := subrequestHandler(cv, nil)
	_, err := h.Outline(context.Background())
	if err == nil || !strings.Contains(err.Error(), "engine exploded") || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("panic gave %v", err)
	}
	_, err = h.ListTargets(context.Background())
	if err == nil {
		t.Fatal("panic in targets gave no error")
	}

	err = func() (err error) {
		defer catchPanic(&err)
		var m map[string]int
		m["x"] = 1
		return nil
	}()
	if err == nil || !strings.Contains(err.Error(), "nil map") {
		t.Fatalf("runtime panic gave %v", err)
	}
}

func TestRewriteLineCountGuard(t *testing.T) {
	dt := []byte("FROM scratch\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil),
		engine: func(context.Context, rewrite.Options) (*rewrite.Result, error) {
			return &rewrite.Result{Dockerfile: append(slices.Clone(dt), "RUN extra\n"...)}, nil
		}}
	if _, _, err := cv.toLLB(context.Background(), nil, true); err == nil || !strings.Contains(err.Error(), "lines") {
		t.Fatalf("line count change not caught: %v", err)
	}
}

// TestConverterErrorsAtTheirLine: the errors dockerfile2llb returns
// without a location get the line of the live COPY they are about, with
// upstream's message.
func TestConverterErrorsAtTheirLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		line int
		msg  string
	}{
		{"# syntax=org/stagefront\nARG X\nFROM busybox AS a\nRUN --if=X true\nFROM busybox\nCOPY --from=${X} / /\n", 6, "variable expansion is not supported for --from"},
		{"FROM busybox\nRUN true\nCOPY --from=$X / /\n", 3, "variable expansion is not supported for --from"},
		{"FROM busybox\nCOPY --from=7 / /\n", 2, "invalid stage index 7"},
		// The first is off: the live one is the one upstream reads.
		{"# syntax=org/stagefront\nARG A=0\nFROM busybox\nCOPY --if=A --from=7 / /\nCOPY --from=7 / /\n", 5, "invalid stage index 7"},
	} {
		dt := []byte(tc.in)
		cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
		_, _, err := cv.toLLB(context.Background(), nil, true)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.msg)
			continue
		}
		srcs := errdefs.Sources(withLocations(err, cv.opt.SourceMap))
		if len(srcs) != 1 || len(srcs[0].Ranges) != 1 || srcs[0].Ranges[0].Start.Line != int32(tc.line) {
			t.Errorf("%q: sources %v, want line %d", tc.in, srcs, tc.line)
		}
	}
}
