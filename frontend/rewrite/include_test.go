package rewrite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/llbtest"
)

// memFragments are fragments in memory, by "from:path", counting reads.
type memFragments struct {
	files map[string]string
	reads map[string]int
}

// List lists the files given directly in dir.
func (m *memFragments) List(_ context.Context, from, dir string) ([]string, error) {
	var out []string
	for k := range m.files {
		f, p, _ := strings.Cut(k, ":")
		if f == from && path.Dir(p) == dir {
			out = append(out, path.Base(p))
		}
	}
	return out, nil
}

func (m *memFragments) Read(_ context.Context, from, p string) ([]byte, error) {
	key := from + ":" + p
	if m.reads == nil {
		m.reads = map[string]int{}
	}
	m.reads[key]++
	dt, ok := m.files[key]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
	}
	return []byte(dt), nil
}

// TestExpand: INCLUDE takes the fragments the values make live, each
// line of the expanded file knows its own file and line, and problems are
// errors at their own file and line.
func TestExpand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		main  string
		files map[string]string
		args  map[string]string
		// want are lines of the rewrite, each with its file:line, in order
		// (a subsequence of the whole); errs the errors, whole.
		want  []string
		errs  string
		reads []string // the fragments read, exactly
	}{
		{
			name:  "a stage from a fragment",
			main:  "# syntax=org/stagefront\nINCLUDE stages/build.Dockerfile\nFROM build\nRUN ls\n",
			files: map[string]string{":stages/build.Dockerfile": "FROM golang:1.26 AS build\nRUN go build\n"},
			want: []string{
				"Dockerfile:2 #",
				"stages/build.Dockerfile:1 FROM golang:1.26 AS build",
				"stages/build.Dockerfile:2 RUN go build",
				"Dockerfile:3 FROM build",
			},
			reads: []string{":stages/build.Dockerfile"},
		},
		{
			// The lines after END continue the final a branch's fragment
			// starts; the fragment of the other branch is never read.
			name: "fragments that start alternative stages in the branches of a block",
			main: "# syntax=org/stagefront\nARG ENV=dev\nIF ENV == 'dev'\nINCLUDE final/dev.Dockerfile\nELSE\nINCLUDE final/prod.Dockerfile\nEND\nCOPY app /app\nCMD [\"/app\"]\n",
			files: map[string]string{
				":final/dev.Dockerfile":  "FROM busybox AS final\nRUN echo dev-tools\n",
				":final/prod.Dockerfile": "FROM busybox AS final\nRUN echo slim\n",
			},
			args: map[string]string{"ENV": "prod"},
			want: []string{
				"final/prod.Dockerfile:1 FROM busybox AS final",
				"final/prod.Dockerfile:2 RUN echo slim",
				"Dockerfile:7 #",
				"Dockerfile:8 COPY app /app",
				"Dockerfile:9 CMD [\"/app\"]",
			},
			reads: []string{":final/prod.Dockerfile"},
		},
		{
			// A fragment's FROM in one branch: the lines after END go on in
			// the stage before the IF when it is off.
			name:  "a fragment that starts a stage in one branch",
			main:  "# syntax=org/stagefront\nARG DEBUG=false\nFROM busybox AS app\nIF DEBUG\nINCLUDE debug.Dockerfile\nEND\nCOPY app /app\n",
			files: map[string]string{":debug.Dockerfile": "FROM busybox AS debug\nRUN echo strace\n"},
			args:  map[string]string{"DEBUG": "true"},
			want: []string{
				"Dockerfile:3 FROM busybox AS app",
				"debug.Dockerfile:1 FROM busybox AS debug",
				"debug.Dockerfile:2 RUN echo strace",
				"Dockerfile:7 COPY app /app",
			},
			reads: []string{":debug.Dockerfile"},
		},
		{
			name: "a fragment chosen by an ARG; the other is never read",
			main: "# syntax=org/stagefront\nARG ENV=dev\nINCLUDE stages/${ENV}.Dockerfile\n",
			files: map[string]string{
				":stages/dev.Dockerfile":  "FROM busybox AS dev\n",
				":stages/prod.Dockerfile": "FROM busybox AS prod\n",
			},
			args:  map[string]string{"ENV": "prod"},
			want:  []string{"stages/prod.Dockerfile:1 FROM busybox AS prod"},
			reads: []string{":stages/prod.Dockerfile"},
		},
		{
			name:  "an INCLUDE that is off is never read",
			main:  "# syntax=org/stagefront\nARG DOCS=false\nFROM busybox\nINCLUDE --if=DOCS docs.Dockerfile\nIF DOCS\nINCLUDE docs.Dockerfile\nEND\n",
			files: map[string]string{},
			want:  []string{"Dockerfile:4 #", "Dockerfile:6 #"},
		},
		{
			name:  "a fragment's ARG is in scope below the INCLUDE",
			main:  "# syntax=org/stagefront\nINCLUDE args.Dockerfile\nFROM busybox\nRUN --if=TESTS echo tests\n",
			files: map[string]string{":args.Dockerfile": "# Run the tests.\nARG TESTS=true\n"},
			want:  []string{"args.Dockerfile:2 ARG TESTS=true", "Dockerfile:4 RUN echo tests"},
			reads: []string{":args.Dockerfile"},
		},
		{
			name: "nested fragments, each relative to its own directory",
			main: "# syntax=org/stagefront\nFROM busybox\nINCLUDE a/one.Dockerfile\n",
			files: map[string]string{
				":a/one.Dockerfile":   "RUN echo one\nINCLUDE b/two.Dockerfile\n",
				":a/b/two.Dockerfile": "RUN echo two\nINCLUDE ../../three.Dockerfile\n",
				":three.Dockerfile":   "RUN echo three\n",
			},
			want:  []string{"a/one.Dockerfile:1 RUN echo one", "a/b/two.Dockerfile:1 RUN echo two", "three.Dockerfile:1 RUN echo three"},
			reads: []string{":a/one.Dockerfile", ":a/b/two.Dockerfile", ":three.Dockerfile"},
		},
		{
			name:  "a fragment from a named context",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE --from=frags go/test.Dockerfile\n",
			files: map[string]string{"frags:go/test.Dockerfile": "RUN go test\nINCLUDE lint.Dockerfile\n", "frags:go/lint.Dockerfile": "RUN lint\n"},
			want:  []string{"frags:go/test.Dockerfile:1 RUN go test", "frags:go/lint.Dockerfile:1 RUN lint"},
			reads: []string{"frags:go/test.Dockerfile", "frags:go/lint.Dockerfile"},
		},
		{
			name:  "an error in a fragment is at its line",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE steps.Dockerfile\nRUN ok\n",
			files: map[string]string{":steps.Dockerfile": "RUN echo a\nRUN --if=UNDECLARED echo b\n"},
			errs:  "steps.Dockerfile:2:10: --if=UNDECLARED: undeclared name UNDECLARED: declare ARG UNDECLARED above line 2 of steps.Dockerfile (before the first FROM for a global ARG, or in this stage)",
			reads: []string{":steps.Dockerfile"},
		},
		{
			name:  "a missing fragment",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE nope.Dockerfile\n",
			errs:  "Dockerfile:3: INCLUDE nope.Dockerfile: no file nope.Dockerfile beside the Dockerfile",
			reads: []string{":nope.Dockerfile"},
		},
		{
			name:  "a misspelt fragment",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE stages/prd.Dockerfile\n",
			files: map[string]string{":stages/prod.Dockerfile": "RUN prod\n", ":stages/dev.Dockerfile": "RUN dev\n"},
			errs:  "Dockerfile:3: INCLUDE stages/prd.Dockerfile: no file stages/prd.Dockerfile beside the Dockerfile; did you mean stages/prod.Dockerfile?",
			reads: []string{":stages/prd.Dockerfile"},
		},
		{
			name: "a path out of the directory",
			main: "# syntax=org/stagefront\nFROM busybox\nINCLUDE ../secret.Dockerfile\nINCLUDE /etc/passwd\n",
			errs: "Dockerfile:3: INCLUDE ../secret.Dockerfile: the path leaves the Dockerfile's directory; a fragment must be inside it\n" +
				"Dockerfile:4: INCLUDE /etc/passwd: the path is absolute; write it relative to the directory of this file",
		},
		{
			name:  "a cycle",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE a.Dockerfile\n",
			files: map[string]string{":a.Dockerfile": "RUN a\nINCLUDE b.Dockerfile\n", ":b.Dockerfile": "INCLUDE a.Dockerfile\n"},
			errs:  "b.Dockerfile:1: INCLUDE cycle: a.Dockerfile:2 -> b.Dockerfile:1 -> a.Dockerfile: a file cannot include itself, directly or through other fragments",
			reads: []string{":a.Dockerfile", ":b.Dockerfile"},
		},
		{
			name:  "a directive in a fragment",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE a.Dockerfile\n",
			files: map[string]string{":a.Dockerfile": "# syntax=docker/dockerfile:1\nRUN a\n"},
			errs:  "Dockerfile:3: INCLUDE a.Dockerfile: a.Dockerfile:1: a fragment takes no # syntax= directive (the Dockerfile's apply to its fragments): remove it",
			reads: []string{":a.Dockerfile"},
		},
		{
			name:  "a fragment that ends inside an instruction",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE a.Dockerfile\nRUN b\n",
			files: map[string]string{":a.Dockerfile": "RUN a \\\n"},
			errs:  "a.Dockerfile:1: this instruction goes on past the end of its file (its last line ends with the escape character): end it in its own file",
			reads: []string{":a.Dockerfile"},
		},
		{
			name: "a path chosen by an ARG a fragment declares: settled in passes",
			main: "# syntax=org/stagefront\nINCLUDE args.Dockerfile\nINCLUDE --if=WITH_STAGES stages/${ENV}.Dockerfile\n",
			files: map[string]string{
				":args.Dockerfile":        "ARG ENV=prod\nARG WITH_STAGES=true\n",
				":stages/prod.Dockerfile": "FROM busybox AS prod\n",
			},
			want:  []string{"args.Dockerfile:1 ARG ENV=prod", "stages/prod.Dockerfile:1 FROM busybox AS prod"},
			reads: []string{":args.Dockerfile", ":stages/prod.Dockerfile"},
		},
		{
			name: "nesting deeper than 16",
			main: "# syntax=org/stagefront\nFROM busybox\nINCLUDE f1\n",
			files: func() map[string]string {
				m := map[string]string{}
				for i := 1; i <= 17; i++ {
					m[fmt.Sprintf(":f%d", i)] = fmt.Sprintf("RUN echo %d\nINCLUDE f%d\n", i, i+1)
				}
				return m
			}(),
			errs: "f16:2: INCLUDEs nest 17 deep here; the limit is 16: include the fragments from fewer levels",
			reads: func() []string {
				var r []string
				for i := 1; i <= 16; i++ {
					r = append(r, fmt.Sprintf(":f%d", i))
				}
				return r
			}(),
		},
		{
			name:  "a REQUIRE, off, of a stage in a fragment that is off",
			main:  "# syntax=org/stagefront\nARG TESTS=false\nINCLUDE --if=TESTS test.Dockerfile\nFROM busybox\nREQUIRE --if=TESTS tester\n",
			files: map[string]string{":test.Dockerfile": "FROM busybox AS tester\n"},
			want:  []string{"Dockerfile:3 #", "Dockerfile:5 #"},
		},
		{
			name:  "a live REQUIRE of a stage in no file",
			main:  "# syntax=org/stagefront\nINCLUDE test.Dockerfile\nFROM busybox\nREQUIRE testr\n",
			files: map[string]string{":test.Dockerfile": "FROM busybox AS tester\n"},
			errs:  `Dockerfile:4: REQUIRE names "testr", which is not a stage of this file; did you mean "tester"?`,
			reads: []string{":test.Dockerfile"},
		},
		{
			name:  "more INCLUDEs than the limit",
			main:  "# syntax=org/stagefront\nFROM busybox\n" + strings.Repeat("INCLUDE a.Dockerfile\n", MaxIncludes+10),
			files: map[string]string{":a.Dockerfile": "RUN a\n"},
			errs:  fmt.Sprintf("Dockerfile:%d: INCLUDE a.Dockerfile: this is INCLUDE %d of this build; the limit is %d", MaxIncludes+3, MaxIncludes+1, MaxIncludes),
			reads: []string{":a.Dockerfile"},
		},
		{
			name:  "a fragment with another escape character",
			main:  "# syntax=org/stagefront\nFROM busybox\nINCLUDE a.Dockerfile\n",
			files: map[string]string{":a.Dockerfile": "# escape=`\nRUN a\n"},
			errs:  "Dockerfile:3: INCLUDE a.Dockerfile: a.Dockerfile:1: the fragment's # escape=` differs from the Dockerfile's escape character '\\\\': a fragment is read with the Dockerfile's",
			reads: []string{":a.Dockerfile"},
		},
		{
			name: "INCLUDE's own mistakes",
			main: "# syntax=org/stagefront\nFROM busybox\nINCLUDE\nINCLUDE a b\nINCLUDE --chown=1 a\nONBUILD INCLUDE a\n",
			errs: "Dockerfile:3: INCLUDE names no file: write the path of a fragment, relative to this file's directory, as in INCLUDE stages/builder.Dockerfile\n" +
				"Dockerfile:4: INCLUDE takes one path, got 2: write one INCLUDE per fragment\n" +
				"Dockerfile:5: INCLUDE does not take --chown: its flags are --if=<condition> and --from=<named context>\n" +
				"Dockerfile:6: ONBUILD INCLUDE: a trigger runs in the builds FROM this image, which know no INCLUDE; ONBUILD takes a Dockerfile instruction (guard the ONBUILD itself with --if=)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			frags := &memFragments{files: tc.files}
			res, err := Expand(context.Background(), "Dockerfile", []byte(tc.main), Options{BuildArgs: tc.args}, frags)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.errs {
				t.Errorf("errors:\n%s\nwant:\n%s", got, tc.errs)
			}
			var reads []string
			for k := range frags.reads {
				reads = append(reads, k)
			}
			if strings.Join(sorted(reads), ",") != strings.Join(sorted(tc.reads), ",") {
				t.Errorf("read %v, want %v", reads, tc.reads)
			}
			if res == nil || tc.errs != "" {
				return
			}
			var lines []string
			for i, l := range strings.SplitAfter(string(res.Dockerfile), "\n") {
				if l == "" {
					continue
				}
				name, line := "Dockerfile", i+1
				if res.Sources != nil {
					name, line = res.Sources.Where(i + 1)
				}
				lines = append(lines, fmt.Sprintf("%s:%d %s", name, line, strings.TrimSuffix(l, "\n")))
			}
			at := 0
			for _, w := range tc.want {
				for at < len(lines) && lines[at] != w {
					at++
				}
				if at == len(lines) {
					t.Fatalf("no line %q in order in the rewrite:\n%s", w, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// notedFragments are memFragments with a note for some of them.
type notedFragments struct {
	memFragments
	notes map[string]string // by "from:path"
}

func (n *notedFragments) Note(from, p string) string { return n.notes[from+":"+p] }

// TestExpandNotes: each live INCLUDE that takes a fragment its Fragments
// noted has the note, at its own file and line; an INCLUDE that is off
// has none, nor one of a fragment without a note.
func TestExpandNotes(t *testing.T) {
	frags := &notedFragments{
		memFragments: memFragments{files: map[string]string{
			":a.Dockerfile":    "FROM busybox AS a\nINCLUDE b.Dockerfile\n",
			":b.Dockerfile":    "RUN echo b\n",
			":off.Dockerfile":  "RUN echo off\n",
			"ctx:c.Dockerfile": "FROM busybox AS c\n",
		}},
		notes: map[string]string{":a.Dockerfile": "read a from elsewhere", ":b.Dockerfile": "read b from elsewhere", ":off.Dockerfile": "never"},
	}
	main := "# syntax=org/stagefront\nARG OFF=false\nINCLUDE a.Dockerfile\nINCLUDE --if=OFF off.Dockerfile\nINCLUDE --from=ctx c.Dockerfile\n"
	res, err := Expand(context.Background(), "Dockerfile", []byte(main), Options{}, frags)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range res.Notes {
		file, line := res.Sources.Where(n.Item.Line)
		got = append(got, fmt.Sprintf("%s:%d %s", file, line, n.Message))
	}
	want := []string{"Dockerfile:3 read a from elsewhere", "a.Dockerfile:2 read b from elsewhere"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestExpandErrorsVia: an error in a fragment knows the INCLUDE of the
// Dockerfile that brings its file in, through nested fragments; an error
// of the Dockerfile has none.
func TestExpandErrorsVia(t *testing.T) {
	frags := &memFragments{files: map[string]string{
		":a.Dockerfile": "FROM busybox AS a\nINCLUDE b.Dockerfile\n",
		":b.Dockerfile": "IF\nRUN true\nEND\n",
	}}
	main := "# syntax=org/stagefront\nFROM busybox\nINCLUDE a.Dockerfile\nELSE\n"
	_, err := Expand(context.Background(), "Dockerfile", []byte(main), Options{}, frags)
	el, ok := err.(*ErrorList)
	if !ok {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	var got []string
	for _, e := range el.Errors() {
		got = append(got, fmt.Sprintf("%s:%d via %d", e.File, e.Line, e.Via))
	}
	want := []string{"b.Dockerfile:1 via 3", "Dockerfile:4 via 0"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("errors %q, want %q\n%v", got, want, err)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// FuzzExpand runs Expand on a Dockerfile and fragments of any content
// (main, then fragments split on a line "---", named f0, f1, ...): it must
// never panic, must read only what it is given a name of, and every error
// must name one of the files at one of its lines.
func FuzzExpand(f *testing.F) {
	f.Add("ARG E=0\nINCLUDE f${E}\nFROM busybox\nINCLUDE --if=A f1\n---\nARG A=1\n---\nRUN a\nINCLUDE f0\n", "E=0")
	f.Add("FROM busybox\nIF X\nINCLUDE f0\nELSE\nINCLUDE f1\nEND\n---\nRUN a \\\n---\n# syntax=x\n", "X=1")
	f.Add("INCLUDE f0\n---\nINCLUDE f1\n---\nINCLUDE f0\n", "")
	f.Add("INCLUDE ../f0\nINCLUDE --from=c f0\nINCLUDE\nINCLUDE a b\n---\n", "")
	f.Fuzz(func(t *testing.T, all, arg string) {
		parts := strings.Split(all, "\n---\n")
		frags := &memFragments{files: map[string]string{}}
		lines := map[string]int{"Dockerfile": strings.Count(parts[0], "\n") + 1}
		for i, p := range parts[1:] {
			name := fmt.Sprintf("f%d", i)
			frags.files[":"+name] = p
			lines[name] = strings.Count(p, "\n") + 1
		}
		opt := Options{BuildArgs: map[string]string{}}
		if k, v, ok := strings.Cut(arg, "="); ok {
			opt.BuildArgs[k] = v
		}
		res, err := Expand(context.Background(), "Dockerfile", []byte(parts[0]), opt, frags)
		var el *ErrorList
		switch {
		case err == nil:
			if res == nil {
				t.Fatal("no result and no error")
			}
			if res.Sources != nil {
				for i := range strings.Count(string(res.Dockerfile), "\n") {
					if file, line := res.Sources.Where(i + 1); line < 1 || line > lines[file] {
						t.Fatalf("line %d of the rewrite is at %s:%d, which has %d lines", i+1, file, line, lines[file])
					}
				}
			}
		case errors.As(err, &el):
			for _, e := range el.Errors() {
				n, ok := lines[e.File]
				if !ok || e.Line < 1 || e.Line > n+1 {
					t.Fatalf("error at %s:%d, not a line of a file (%v): %v", e.File, e.Line, lines, err)
				}
			}
		}
		// Reading a name that is not given is fine (an error), but only
		// a clean path inside the tree.
		for k := range frags.reads {
			_, p, _ := strings.Cut(k, ":")
			if p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") || path.Clean(p) != p {
				t.Fatalf("read %q", k)
			}
		}
	})
}

// BenchmarkExpand compares a Dockerfile that INCLUDEs 50 fragments with
// the same content written as one file (hack/bench's include_ratio).
func BenchmarkExpand(b *testing.B) {
	frags := &memFragments{files: map[string]string{}}
	var main, one strings.Builder
	main.WriteString("# syntax=org/stagefront\nARG TESTS=true\n")
	one.WriteString(main.String())
	for i := range 50 {
		var frag strings.Builder
		fmt.Fprintf(&frag, "FROM golang:1.26 AS s%d\nWORKDIR /src\nCOPY . .\n", i)
		for j := range 20 {
			fmt.Fprintf(&frag, "RUN --if=TESTS go test ./pkg%d/...\nRUN go build -o /out/b%d ./cmd/%d\n", j, j, j)
		}
		frags.files[fmt.Sprintf(":stages/s%d.Dockerfile", i)] = frag.String()
		fmt.Fprintf(&main, "INCLUDE stages/s%d.Dockerfile\n", i)
		one.WriteString("#\n") // the INCLUDE's line
		one.WriteString(frag.String())
	}
	ctx := context.Background()
	b.Run("50-fragments", func(b *testing.B) {
		for b.Loop() {
			if _, err := Expand(ctx, "Dockerfile", []byte(main.String()), Options{}, frags); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-file", func(b *testing.B) {
		for b.Loop() {
			if _, err := Expand(ctx, "Dockerfile", []byte(one.String()), Options{}, frags); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Both, op against op (llbtest.Interleaved): ratio is fragments/one file.
	b.Run("pairs-interleaved", func(b *testing.B) {
		llbtest.Interleaved(b, func() {
			if _, err := Expand(ctx, "Dockerfile", []byte(main.String()), Options{}, frags); err != nil {
				b.Fatal(err)
			}
		}, func() {
			if _, err := Expand(ctx, "Dockerfile", []byte(one.String()), Options{}, frags); err != nil {
				b.Fatal(err)
			}
		})
	})
}
