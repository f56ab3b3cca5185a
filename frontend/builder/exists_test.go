package builder

import (
	"context"
	"errors"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// memRef is a client.Reference over an in-memory tree: paths of files,
// directories end in "/".
type memRef struct {
	paths []string
}

func (m *memRef) ToState() (llb.State, error)    { return llb.Scratch(), nil }
func (m *memRef) Evaluate(context.Context) error { return nil }
func (m *memRef) ReadFile(context.Context, client.ReadRequest) ([]byte, error) {
	return nil, errors.New("not implemented")
}
func (m *memRef) StatFile(context.Context, client.StatRequest) (*fstypes.Stat, error) {
	return nil, errors.New("not implemented")
}

func (m *memRef) ReadDir(ctx context.Context, req client.ReadDirRequest) ([]*fstypes.Stat, error) {
	dir := strings.Trim(path.Clean(req.Path), "/")
	seen := map[string]bool{}
	var out []*fstypes.Stat
	found := dir == ""
	for _, p := range m.paths {
		rel := p
		if dir != "" {
			if !strings.HasPrefix(p, dir+"/") {
				continue
			}
			found = true
			rel = strings.TrimPrefix(p, dir+"/")
		}
		if rel == "" {
			continue
		}
		name, rest, isDir := strings.Cut(rel, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		mode := uint32(0o644)
		if isDir || rest != "" {
			mode = uint32(os.ModeDir | 0o755)
		}
		out = append(out, &fstypes.Stat{Path: name, Mode: mode})
	}
	if !found {
		return nil, errors.New("no such directory: " + req.Path)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

type memFS struct {
	ref   *memRef
	loads atomic.Int32
	last  string
}

func (f *memFS) load(ctx context.Context, patterns []string) (client.Reference, error) {
	f.loads.Add(1)
	f.last = strings.Join(patterns, ",")
	return f.ref, nil
}

func TestExists(t *testing.T) {
	fs := &memFS{ref: &memRef{paths: []string{
		"Dockerfile", "docs/", "docs/index.md", "docs/img/logo.png", "src/main.go", "src/pkg/util.go", "empty/",
	}}}
	e := newExistsContext(fs)
	ctx := context.Background()
	tests := []struct {
		pattern string
		want    bool
		err     string
	}{
		{pattern: "Dockerfile", want: true},
		{pattern: "docs", want: true},
		{pattern: "docs/", want: true},
		{pattern: "./docs/index.md", want: true},
		{pattern: "docs/missing.md", want: false},
		{pattern: "missing", want: false},
		{pattern: "Dockerfile/x", want: false},
		{pattern: "docs/*.md", want: true},
		{pattern: "docs/*.txt", want: false},
		{pattern: "*/pkg/*.go", want: true},
		{pattern: "**/logo.png", want: true},
		{pattern: "**/*.go", want: true},
		{pattern: "src/**/util.go", want: true},
		{pattern: "**/nope", want: false},
		{pattern: "empty", want: true},
		{pattern: "empty/*", want: false},
		{pattern: ".", want: true},
		{pattern: "/etc/passwd", err: "outside the build context"},
		{pattern: "../secret", err: "outside the build context"},
		{pattern: "docs/../../x", err: "outside the build context"},
		{pattern: "", err: "relative"},
		{pattern: "docs/[", err: "bad pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			got, err := e.Exists(ctx, tc.pattern)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Exists(%q) error = %v, want %q", tc.pattern, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Exists(%q) = %v, want %v", tc.pattern, got, tc.want)
			}
		})
	}

	// cached per pattern
	n := fs.loads.Load()
	if _, err := e.Exists(ctx, "docs/*.md"); err != nil {
		t.Fatal(err)
	}
	if fs.loads.Load() != n {
		t.Errorf("second Exists of one pattern loaded the context again")
	}
	if _, err := e.Exists(ctx, "./src/main.go"); err != nil {
		t.Fatal(err)
	}
	if fs.last != "src/main.go" {
		t.Errorf("follow path %q, want the cleaned pattern", fs.last)
	}
}

func TestExistsNilRef(t *testing.T) {
	e := newExistsContext(nilFS{})
	ok, err := e.Exists(context.Background(), "anything")
	if err != nil || ok {
		t.Fatalf("Exists on an empty context = %v, %v", ok, err)
	}
}

type nilFS struct{}

func (nilFS) load(context.Context, []string) (client.Reference, error) { return nil, nil }

// TestExistsReadsExpectedOnce: with the file's paths expected, the first
// question reads the context once for all of them, and the answers are
// those of one read per path.
func TestExistsReadsExpectedOnce(t *testing.T) {
	fs := &memFS{ref: &memRef{paths: []string{"docs/", "docs/index.md", "src/main.go"}}}
	e := newExistsContext(fs)
	e.Expect([]string{"docs/index.md", "frontend/binding.gyp", "../outside", "src/*.go", "docs/index.md"})
	ctx := context.Background()
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"frontend/binding.gyp", false},
		{"docs/index.md", true},
		{"src/*.go", true},
	} {
		got, err := e.Exists(ctx, tc.pattern)
		if err != nil || got != tc.want {
			t.Errorf("Exists(%q) = %v, %v; want %v", tc.pattern, got, err, tc.want)
		}
	}
	if n := fs.loads.Load(); n != 1 || fs.last != "frontend/binding.gyp,docs/index.md,src/*.go" {
		t.Errorf("%d reads of the context, the last for %q; want one, for the asked path then the expected ones", n, fs.last)
	}
	// A path nobody expected is read on its own.
	if ok, err := e.Exists(ctx, "src/main.go"); err != nil || !ok {
		t.Errorf("Exists(src/main.go) = %v, %v", ok, err)
	}
	if fs.loads.Load() != 2 || fs.last != "src/main.go" {
		t.Errorf("unexpected path: reads %d, last %q", fs.loads.Load(), fs.last)
	}
}
