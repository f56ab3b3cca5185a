package contextfs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree writes files (path -> content; a content of "-> target" makes a
// symlink) under a new directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(p, "/") {
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDirMatch(t *testing.T) {
	t.Parallel()
	outside := tree(t, map[string]string{"secret/passwd": "x", "etc/passwd": "x"})
	root := tree(t, map[string]string{
		"a/b/doc.md":          "x",
		"README.md":           "x",
		"src/main.go":         "x",
		"src/vendor/x/y.go":   "x",
		"site/docs/index.md":  "x",
		"docs":                "-> site/docs",
		"abs-docs":            "-> /site/docs",
		"out-abs":             "-> " + filepath.Join(outside, "secret"),
		"out-rel":             "-> ../../../../../../../../" + strings.TrimPrefix(outside, "/") + "/secret",
		"etc-link":            "-> /etc",
		"loop":                "-> loop",
		"dangling":            "-> nowhere",
		"node_modules/x/y.js": "x",
		".dockerignore":       "node_modules\n*.tmp\n!keep.tmp\n",
		"a.tmp":               "x",
		"keep.tmp":            "x",
	})
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for pattern, want := range map[string]bool{
		".":                   true,
		"README.md":           true,
		"readme.md":           false,
		"*.md":                true,
		"**/*.md":             true, // a/b/doc.md, at any depth
		"**/doc.md":           true,
		"a/**/doc.md":         true,
		"a/*/doc.md":          true,
		"a/*.md":              false,
		"src":                 true, // a directory
		"src/**/y.go":         true,
		"src/*/y.go":          false,
		"docs/index.md":       true, // through a symlink inside the context
		"abs-docs/index.md":   true, // an absolute target starts at the context root
		"out-abs/passwd":      false,
		"out-abs":             true, // the link itself is in the context
		"out-rel/passwd":      false,
		"etc-link/passwd":     false, // /etc of the context, which has none
		"loop/x":              false,
		"dangling":            true,
		"dangling/x":          false,
		"node_modules":        false, // .dockerignore
		"node_modules/x/y.js": false,
		"**/y.js":             false,
		"a.tmp":               false,
		"keep.tmp":            true,
		"missing":             false,
	} {
		clean, err := Clean(pattern)
		if err != nil {
			t.Errorf("Clean(%q): %v", pattern, err)
			continue
		}
		got, err := match(context.Background(), d, clean)
		if err != nil {
			t.Errorf("match(%q): %v", pattern, err)
		}
		if got != want {
			t.Errorf("match(%q) = %v, want %v", pattern, got, want)
		}
	}
}

// TestDirNeverLeaves: a context whose own etc/passwd exists answers
// etc-link/passwd from the context (as BuildKit scopes the link to the
// snapshot), never from the host.
func TestDirNeverLeaves(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"etc/hostname-of-context": "x", "etc-link": "-> /etc", "up": "-> ../../../../../../.."})
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for pattern, want := range map[string]bool{
		"etc-link/hostname-of-context": true,
		"etc-link/passwd":              false,
		"up/etc/passwd":                false,
		"up/etc/hostname-of-context":   true,
	} {
		if got, err := match(context.Background(), d, pattern); got != want || err != nil {
			t.Errorf("match(%q) = %v, %v; want %v", pattern, got, err, want)
		}
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"docs/": "docs", "./docs": "docs", "a//b": "a/b", "a/./b": "a/b", ".": ".", "a\\b": "a/b",
		"/etc": "error", "../x": "error", "a/../../x": "error", "a/..": "error", "": "error", " ": "error", "[": "error",
	} {
		got, err := Clean(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("Clean(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

type countingLoader struct {
	FS
	loads [][]string
}

func (l *countingLoader) Load(_ context.Context, patterns []string) (FS, error) {
	l.loads = append(l.loads, patterns)
	return l.FS, nil
}

// TestContextLoadsOnce: the expected patterns are loaded with the first
// question, and answers are kept by cleaned path.
func TestContextLoadsOnce(t *testing.T) {
	t.Parallel()
	d, err := NewDir(tree(t, map[string]string{"docs/a.md": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l := &countingLoader{FS: d}
	c := NewContext(l)
	c.Expect([]string{"docs/", "missing", "../bad"})
	for _, p := range []string{"docs", "docs/", "./docs", "missing", "docs/*.md"} {
		if _, err := c.Exists(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.loads) != 2 || strings.Join(l.loads[0], ",") != "docs,missing" || strings.Join(l.loads[1], ",") != "docs/*.md" {
		t.Errorf("loads: %q", l.loads)
	}
	if _, err := c.Exists(context.Background(), "../bad"); err == nil || !strings.Contains(err.Error(), "outside the build context") {
		t.Errorf("../bad: %v", err)
	}
}
