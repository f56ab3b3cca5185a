package builder

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
)

// mapFragments are fragments in memory, by "from:path".
type mapFragments map[string]string

func (m mapFragments) Read(_ context.Context, from, p string) ([]byte, error) {
	dt, ok := m[from+":"+p]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
	}
	return []byte(dt), nil
}

// fragmentWarning is a warning sent through converter.warnIn.
type fragmentWarning struct {
	file string
	line int
	rule string
}

// TestIncludeConversion: a build converts the expanded file, and every
// location that comes out of it (the LLB's source locations, converter
// errors, rewrite errors, warnings) is in its own file, with that file's
// text.
func TestIncludeConversion(t *testing.T) {
	t.Parallel()
	frags := mapFragments{
		":stages/dev.Dockerfile":  "FROM busybox AS base\nRUN echo dev\n",
		":stages/prod.Dockerfile": "FROM busybox AS base\nRUN echo prod\nMAINTAINER me\n",
		":bad.Dockerfile":         "RUN echo a\nCOPY\n",
		":undeclared.Dockerfile":  "RUN echo a\nRUN --if=NOPE echo b\n",
	}
	main := "# syntax=org/stagefront\nARG ENV=dev\nINCLUDE stages/${ENV}.Dockerfile\nFROM base\nRUN echo main\n"
	convert := func(t *testing.T, dockerfile string, args map[string]string) (*converter, *warnings, []fragmentWarning, *pb.Source, error) {
		dt := []byte(dockerfile)
		w := &warnings{}
		cv := &converter{orig: dt, opt: testConvertOpt(t, dt, args, "", w), frags: frags}
		var mu sync.Mutex
		var fw []fragmentWarning
		cv.warnIn = func(info *pb.SourceInfo, rule, _, _, _ string, loc []parser.Range) {
			mu.Lock()
			defer mu.Unlock()
			fw = append(fw, fragmentWarning{info.Filename, loc[0].Start.Line, rule})
		}
		conv, rw, err := cv.toLLB(context.Background(), nil, true)
		if err != nil {
			return cv, w, fw, nil, err
		}
		def, err := cv.marshal(context.Background(), conv.State, rw)
		if err != nil {
			t.Fatal(err)
		}
		return cv, w, fw, def.ToPB().Source, nil
	}
	// where lists "file:line" of every location of the definition.
	where := func(src *pb.Source) map[string]bool {
		out := map[string]bool{}
		for _, locs := range src.Locations {
			for _, l := range locs.Locations {
				info := src.Infos[l.SourceIndex]
				for _, r := range l.Ranges {
					line := int(r.Start.Line)
					text := strings.Split(string(info.Data), "\n")[line-1]
					out[fmt.Sprintf("%s:%d %s", info.Filename, line, text)] = true
				}
			}
		}
		return out
	}

	t.Run("locations in their own files", func(t *testing.T) {
		_, _, _, src, err := convert(t, main, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := where(src)
		for _, want := range []string{"stages/dev.Dockerfile:2 RUN echo dev", "stages/dev.Dockerfile:1 FROM busybox AS base", "Dockerfile:5 RUN echo main"} {
			if !got[want] {
				t.Errorf("no location %q in %v", want, got)
			}
		}
	})
	t.Run("a warning in a fragment", func(t *testing.T) {
		_, w, fw, _, err := convert(t, main, map[string]string{"ENV": "prod"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range fw {
			found = found || x == fragmentWarning{"stages/prod.Dockerfile", 3, "MaintainerDeprecated"}
		}
		if !found {
			t.Errorf("fragment warnings %v (others: %v)", fw, w.list)
		}
	})
	for _, tc := range []struct {
		name, in, file string
		line           int
		msg            string
	}{
		{"a converter error in a fragment", "# syntax=org/stagefront\nFROM busybox\nINCLUDE bad.Dockerfile\n", "bad.Dockerfile", 2, "COPY requires at least two arguments"},
		{"a rewrite error in a fragment", "# syntax=org/stagefront\nFROM busybox\nINCLUDE undeclared.Dockerfile\n", "undeclared.Dockerfile", 2, "undeclared name NOPE"},
		{"a missing fragment", "# syntax=org/stagefront\nFROM busybox\nRUN true\nINCLUDE nope.Dockerfile\n", "Dockerfile", 4, "no file nope.Dockerfile beside the Dockerfile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv, _, _, _, err := convert(t, tc.in, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %q", err, tc.msg)
			}
			srcs := errdefs.Sources(withLocations(err, cv.opt.SourceMap))
			if len(srcs) != 1 || srcs[0].Info.Filename != tc.file || srcs[0].Ranges[0].Start.Line != int32(tc.line) {
				var got []string
				for _, s := range srcs {
					got = append(got, fmt.Sprintf("%s:%v", s.Info.Filename, s.Ranges))
				}
				t.Fatalf("sources %v, want %s:%d", got, tc.file, tc.line)
			}
			if !strings.Contains(string(srcs[0].Info.Data), strings.Split(tc.in, "\n")[0]) && tc.file == "Dockerfile" {
				t.Errorf("the Dockerfile's source holds %q", srcs[0].Info.Data)
			}
		})
	}
}

// TestIncludeSubrequests: --call=outline, targets and check name a
// fragment's own file and line, with its text as their source.
func TestIncludeSubrequests(t *testing.T) {
	t.Parallel()
	frags := mapFragments{
		":args.Dockerfile":   "# SLOW runs the slow tests.\nARG SLOW=false\n",
		":stages.Dockerfile": "FROM busybox AS build\nRUN --if=SLOW echo slow\nMAINTAINER me\n",
	}
	dt := []byte("# syntax=org/stagefront\nINCLUDE args.Dockerfile\nINCLUDE stages.Dockerfile\nFROM build\nRUN echo main\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil), frags: frags}
	ctx := context.Background()
	// at reads a location: "line text" of the source it indexes.
	at := func(sources [][]byte, loc *pb.Location) string {
		if loc == nil || len(loc.Ranges) == 0 || int(loc.SourceIndex) >= len(sources) {
			return fmt.Sprintf("no location (%v)", loc)
		}
		line := int(loc.Ranges[0].Start.Line)
		return fmt.Sprintf("%d %s", line, strings.Split(string(sources[loc.SourceIndex]), "\n")[line-1])
	}

	o, err := cv.outline(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range o.Args {
		if a.Name == "SLOW" {
			found = true
			if got := at(o.Sources, a.Location); got != "2 ARG SLOW=false" {
				t.Errorf("outline: SLOW at %q", got)
			}
			if !strings.Contains(a.Description, "read by the condition on line 2 of stages.Dockerfile") {
				t.Errorf("outline: SLOW's description %q", a.Description)
			}
		}
	}
	if !found {
		t.Errorf("outline lists no SLOW: %+v", o.Args)
	}

	l, err := cv.targets(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range l.Targets {
		if tg.Name == "build" {
			if got := at(l.Sources, tg.Location); got != "1 FROM busybox AS build" {
				t.Errorf("targets: build at %q", got)
			}
		}
	}

	lr, err := cv.lint(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found = false
	for _, w := range lr.Warnings {
		if w.RuleName == "MaintainerDeprecated" {
			found = true
			info := lr.Sources[w.Location.SourceIndex]
			if line := w.Location.Ranges[0].Start.Line; info.Filename != "stages.Dockerfile" || line != 3 {
				t.Errorf("check: MaintainerDeprecated at %s:%d", info.Filename, line)
			}
		}
	}
	if !found {
		t.Errorf("check: no MaintainerDeprecated in %+v", lr.Warnings)
	}
}
