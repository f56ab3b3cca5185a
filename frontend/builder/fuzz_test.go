package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
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
// When generated is set, dt is a program for generateDockerfile (see the
// rewrite's FuzzRewrite). The target is 0 for the default (the last stage), k for the k-th
// stage name of the file (cyclically), 255 for a name no stage has.
//
// Seeds: the cases of ../rewrite/testdata/rewrite, hostileSeeds and
// generatedSeeds.
func FuzzGatewayConvert(f *testing.F) {
	for _, s := range goldenSeeds(f, filepath.Join("..", "rewrite", "testdata", "rewrite")) {
		var target uint8
		if i := slices.Index(stageNames(s.dt), s.target); i >= 0 && s.target != "" {
			target = uint8(i + 1)
		}
		f.Add(s.dt, s.arg, s.arm, target, false)
	}
	for _, dt := range hostileSeeds() {
		f.Add(dt, "A=1", false, uint8(0), false)
		f.Add(dt, "A=0", true, uint8(1), false)
	}
	for _, prog := range generatedSeeds() {
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
			dt = generateDockerfile(dt)
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
			recordLineless("FuzzGatewayConvert", "marshal", err, dt)
		}
		for _, gate := range rw.Gates {
			opt := cv.platformOpt(p, false)
			opt.Target = gate
			conv, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
			if err != nil {
				if !hasLine(err) {
					recordLineless("FuzzGatewayConvert", "gate", err, dt)
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
	if hasLine(err) {
		return
	}
	kind := "convert"
	if _, perr := parser.Parse(bytes.NewReader(dt)); perr != nil {
		kind = "parser"
	}
	recordLineless("FuzzGatewayConvert", kind, err, dt)
}

// hasLine reports whether err carries a parser location on a line (>= 1),
// as the gateway's withLocations attaches it to the build's error.
func hasLine(err error) bool {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return false
	}
	for _, loc := range le.Locations {
		for _, r := range loc {
			if r.Start.Line >= 1 {
				return true
			}
		}
	}
	return false
}

// recordLineless appends an error that carries no line to the file
// $STAGEFRONT_FUZZ_RECORD, when set: one tab-separated line of target,
// kind, message and input (both quoted, cut to 300 bytes).
func recordLineless(target, kind string, err error, dt []byte) {
	path := os.Getenv("STAGEFRONT_FUZZ_RECORD")
	if path == "" {
		return
	}
	fh, ferr := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if ferr != nil {
		return
	}
	defer fh.Close()
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if len(dt) > 300 {
		dt = dt[:300]
	}
	fmt.Fprintf(fh, "%s\t%s\t%q\t%q\n", target, kind, msg, dt)
}

type goldenSeed struct {
	dt          []byte
	arg, target string
	arm         bool
}

// goldenSeeds reads every case of dir (the rewrite's testdata/rewrite):
// its Dockerfile with the first build-arg and the target of its options,
// and whether it is for arm64.
func goldenSeeds(f *testing.F, dir string) []goldenSeed {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "Dockerfile"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden cases in %s: %v", dir, err)
	}
	var out []goldenSeed
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		s := goldenSeed{dt: dt}
		opts, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "options"))
		for _, line := range strings.Split(string(opts), "\n") {
			key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch {
			case key == "build-arg" && s.arg == "":
				s.arg = value
			case key == "platform":
				s.arm = strings.Contains(value, "arm")
			case key == "target":
				s.target = value
			}
		}
		out = append(out, s)
	}
	return out
}

// hostileSeeds are shapes a hostile or careless Dockerfile takes (the
// same as the rewrite's FuzzRewrite), with real base images so that the
// conversion goes on: deep nesting, stray keywords, huge conditions, odd
// escapes, heredocs, BOMs, CRLF and CR line endings, NULs, invalid UTF-8.
func hostileSeeds() [][]byte {
	nest := func(n int) []byte {
		return []byte("ARG A=1\nFROM busybox\n" + strings.Repeat("IF A\n", n) + "RUN x\n" + strings.Repeat("END\n", n))
	}
	long := strings.Repeat("A && ", 1000) + "A"
	return [][]byte{
		nest(64), nest(65),
		[]byte("FROM busybox\nEND\nEND if\nELSE\nELSE IF A\nEND\n"),
		[]byte("ARG A=1\nFROM busybox\nIF " + long + "\nRUN x\nEND\n"),
		[]byte("ARG A=1\nFROM busybox\nRUN --if=\"" + long[:4090] + "\" x\n"),
		[]byte("# escape=`\nARG A=1\nFROM busybox\nIF A `\n  && A\nRUN x `\n\nEND\n"),
		[]byte("# escape=x\nFROM busybox\nIF A\nEND\n"),
		[]byte("#escape=`\r\nARG A\r\nFROM busybox\r\nCOPY --if=A `\r\n  a /`"),
		[]byte("ARG A=1\nFROM busybox\nIF A\nRUN <<EOF\nEND\nELSE\nEOF\nEND\n"),
		[]byte("ARG A=1\nFROM busybox\nCOPY --if=A <<EOF /x\nEND\nEOF\n"),
		[]byte("ARG A=1\nFROM busybox\nRUN --if=!A <<-\"EOF\" <<E2\n\tIF A\n\tEOF\nEND\nE2\n"),
		[]byte("\xEF\xBB\xBF# syntax=org/stagefront\n# check=error=true\nARG A=1\nFROM busybox\nIF A\nRUN x\nEND\n"),
		[]byte("ARG A=1\r\nFROM busybox AS x\r\nIF A\r\nRUN x\r\nELSE\r\nRUN y\r\nEND\r\n"),
		[]byte("ARG A=1\rFROM busybox\rIF A\rRUN x\rEND\r"),
		[]byte("ARG A=1\nFROM busybox\nIF A == '\x00'\nRUN \x00\nEND\n"),
		[]byte("ARG A=1\nFROM busybox\nIF 'é' == A &&\nEND\nRUN --if=\"'ü' == A ==\" x\n"),
		[]byte("FROM busybox AS a\nREQUIRE b\nFROM busybox AS b\nRUN --if=A true\nFROM busybox AS x\nREQUIRE a b\nCOPY --from=a / /\n"),
		[]byte("ARG A=1\nIF A\nFROM busybox AS x\nELSE\nFROM alpine AS x\nEND\nFROM x\nCOPY --from=x / /\nRUN --mount=from=$A x\n"),
		[]byte("ARG S=x\nFROM busybox AS x\nFROM ${S}\nCOPY --from=${S} / /\nRUN --mount=from=${S:-y},target=/m x\n"),
		[]byte("# check=skip=all\nARG A=1\nFROM busybox AS x\n# check=error=true\nRUN --if=A apt-get install x\nUSER root\nONBUILD RUN --if=A x\n"),
	}
}

// generatedLines and generateDockerfile are those of the rewrite's
// fuzz_test.go (test files cannot be shared): a line per byte of the
// program, its low six bits picking the line, its top bit ending it with
// CRLF.
var generatedLines = []string{
	"ARG A=1", "ARG B=0", "ARG S=a", "ARG S", "ARG A", "ARG T=${S:-b}", "ARG S=c",
	"FROM busybox AS a", "FROM busybox AS b", "FROM a AS c", "FROM ${S} AS c", "FROM --if=A busybox AS b",
	"FROM scratch", "FROM --platform=$BUILDPLATFORM busybox AS a", "FROM --if=\"S == 'a'\" b",
	"IF A", "IF !A", "IF S == 'a'", "IF exists(\"a\")", "IF defined(S)", "IF T matches S", "IF A ? B : A",
	"ELSE IF B", "ELSE IF S in ['a', 'b']", "ELSE", "END", "END", "END",
	"RUN x", "RUN --if=A x", "RUN --if=B \\", "RUN --mount=from=${S},target=/m x", "RUN --mount=from=b,target=/m x",
	"COPY --from=a / /", "COPY --from=${S} / /", "COPY --if=\"B || A\" --from=c / /", "COPY --from=0 / /",
	"COPY --from=2 / /", "COPY --if=A \\", "  --from=b / /",
	"REQUIRE a", "REQUIRE --if=A b c", "REQUIRE c", "REQUIRE --if=S b",
	"RUN <<EOF", "COPY --if=A <<EOF /x", "EOF", "  && if true; then \\", "fi",
	"# comment", "", "ENV S=b", "USER root", "ONBUILD RUN --if=A x", "# check=error=true",
	"# escape=`", "WORKDIR /x", "RUN --if=A x `", "\ufeffFROM busybox AS a", "end", "else if !B",
}

func generateDockerfile(prog []byte) []byte {
	var b bytes.Buffer
	for _, c := range prog {
		b.WriteString(generatedLines[int(c&0x3f)%len(generatedLines)])
		if c&0x80 != 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// generatedSeeds are programs for generateDockerfile.
func generatedSeeds() [][]byte {
	idx := func(lines ...string) []byte {
		var prog []byte
		for _, l := range lines {
			i := slices.Index(generatedLines, l)
			if i < 0 {
				panic("no generated line " + l)
			}
			prog = append(prog, byte(i))
		}
		return prog
	}
	return [][]byte{
		idx("ARG A=1", "ARG S=a", "IF A", "FROM busybox AS a", "ELSE", "FROM busybox AS a", "END", "FROM busybox AS b",
			"REQUIRE a", "COPY --from=${S} / /", "FROM scratch", "REQUIRE --if=A b c", "COPY --from=a / /"),
		idx("ARG S=c", "FROM busybox AS a", "RUN --if=B \\", "  && if true; then \\", "fi", "FROM a AS c",
			"RUN <<EOF", "END", "EOF", "FROM ${S} AS c", "IF S == 'a'", "REQUIRE c", "END"),
		idx("ARG A=1", "FROM --if=A busybox AS b", "REQUIRE c", "FROM a AS c", "REQUIRE --if=S b", "IF defined(S)",
			"ELSE IF B", "COPY --if=A \\", "  --from=b / /", "ELSE", "RUN --mount=from=${S},target=/m x", "END"),
	}
}
