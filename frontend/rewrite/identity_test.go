package rewrite

import (
	"bytes"
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/internal/llbtest"
)

// corpus returns every Dockerfile of the Go module cache that BuildKit's
// parser and instruction parser accept, by path.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := llbtest.ModuleCacheDockerfiles()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		dt, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		res, err := parser.Parse(bytes.NewReader(dt))
		if err != nil {
			continue
		}
		if _, _, err := instructions.Parse(res.AST, nil); err != nil {
			continue
		}
		files[moduleRel(p)] = dt
	}
	if len(files) < 50 {
		t.Fatalf("only %d Dockerfiles in the module cache; run `go mod download` first", len(files))
	}
	return files
}

// moduleRel shortens a module cache path to module@version/path.
func moduleRel(p string) string {
	if i := strings.Index(p, "/pkg/mod/"); i >= 0 {
		return p[i+len("/pkg/mod/"):]
	}
	return p
}

// TestIdentityOnModuleCache: a file without extensions comes out
// byte-identical, for every Dockerfile BuildKit, Docker, containerd and
// buildx ship.
func TestIdentityOnModuleCache(t *testing.T) {
	files := corpus(t)
	t.Logf("%d Dockerfiles accepted by BuildKit's parser", len(files))
	for name, dt := range files {
		res, err := Rewrite(context.Background(), dt, Options{Filename: name})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if res.Extended || !bytes.Equal(res.Dockerfile, dt) {
			t.Errorf("%s: not byte-identical", name)
		}
	}
}

// extend adds extensions to a standard file that keep every line live, on
// lines of their own and as --if= flags: a true --if on every instruction,
// the whole file in an IF block, and a dead block after every FROM.
func extend(t *testing.T, dt []byte) []byte {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		t.Fatal(err)
	}
	lines := splitKeep(dt)
	guard := map[int]bool{}
	froms := map[int]bool{}
	for _, n := range res.AST.Children {
		guard[n.StartLine-1] = true
		if strings.EqualFold(n.Value, "from") {
			froms[n.EndLine-1] = true
		}
	}
	first := res.AST.Children[0].StartLine - 1
	var out []byte
	for i, l := range lines {
		if i == first {
			out = append(out, "IF TARGETOS == 'linux' || TARGETOS != 'linux'\n"...)
		}
		if guard[i] {
			trimmed := bytes.TrimLeft(l, " \t")
			lead := l[:len(l)-len(trimmed)]
			if i := bytes.IndexAny(trimmed, " \t"); i > 0 {
				kw, rest := trimmed[:i+1], trimmed[i+1:]
				l = append(append(append(append([]byte{}, lead...), kw...), "--if=\"TARGETARCH != 'none'\" "...), rest...)
			}
		}
		out = append(out, l...)
		if !bytes.HasSuffix(l, []byte("\n")) {
			out = append(out, '\n')
		}
		if froms[i] {
			out = append(out, "IF TARGETARCH == 'none'\nRUN this must not be converted\nEND\n"...)
		}
	}
	return append(out, "END\n"...)
}

func splitKeep(dt []byte) [][]byte {
	var out [][]byte
	for len(dt) > 0 {
		i := bytes.IndexByte(dt, '\n')
		if i < 0 {
			return append(out, dt)
		}
		out = append(out, dt[:i+1])
		dt = dt[i+1:]
	}
	return out
}

// TestLLBParityOnModuleCache: for a sample of real Dockerfiles, the
// rewrite of an extended copy converts to the same LLB and image config as
// the original.
func TestLLBParityOnModuleCache(t *testing.T) {
	ctx := context.Background()
	files := corpus(t)
	compared := 0
	for _, name := range slices.Sorted(maps.Keys(files)) {
		dt := files[name]
		if compared >= 80 {
			break
		}
		// The mutation appends lines, which a file ending in a continuation
		// would swallow; CRLF and escape files are covered by the tables.
		if bytes.HasSuffix(bytes.TrimRight(dt, " \t\r\n"), []byte("\\")) || bytes.Contains(dt, []byte("\r")) || bytes.Contains(dt, []byte("# escape")) {
			continue
		}
		for _, plat := range []string{"linux/amd64", "linux/arm64"} {
			p := platforms.MustParse(plat)
			want, err := llbtest.Digest(ctx, dt, llbtest.Options{Platform: &p})
			if err != nil {
				continue // needs named contexts or args this test does not give
			}
			ext := extend(t, dt)
			res, err := Rewrite(ctx, ext, Options{Filename: name, TargetPlatform: p, BuildPlatform: platforms.MustParse("linux/amd64")})
			if err != nil {
				t.Errorf("%s (%s): rewrite: %v", name, plat, err)
				continue
			}
			got, err := llbtest.Digest(ctx, res.Dockerfile, llbtest.Options{Platform: &p})
			if err != nil {
				t.Errorf("%s (%s): converting the rewrite: %v\n%s", name, plat, err, res.Dockerfile)
				continue
			}
			if got != want {
				t.Errorf("%s (%s): LLB differs\n%s", name, plat, res.Dockerfile)
			}
			compared++
		}
	}
	t.Logf("compared %d conversions", compared)
	if compared < 20 {
		t.Fatalf("only %d conversions compared", compared)
	}
}
