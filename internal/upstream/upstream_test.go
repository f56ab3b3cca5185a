package upstream

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFollowsThisBuildKit: every header names the BuildKit of go.mod and
// a file that module has. A bump leaves the headers of the upstream files
// that changed at the old version until their change is ported (see
// hack/bump-buildkit): until then, this fails.
func TestFollowsThisBuildKit(t *testing.T) {
	root := filepath.Join("..", "..")
	follows, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	// frontend/builder and frontend/rewrite follow a dozen upstream
	// places; a scan that finds few has lost them.
	if len(follows) < 10 {
		t.Fatalf("found %d Follows lines, want 10 or more: %v", len(follows), follows)
	}
	version, err := RequiredVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ModuleDir(root, version)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range follows {
		if f.Version != version {
			t.Errorf("%s, but go.mod requires %s: port what changed (hack/bump-buildkit prints it), then move the header", f, version)
		}
		if _, err := os.Stat(filepath.Join(dir, f.Path)); err != nil {
			t.Errorf("%s: BuildKit %s has no such file", f, version)
		}
	}
}

// TestScanAndSetVersion: a header is found wherever it stands in a file,
// with what it says after the path, and moved to another version in place.
func TestScanAndSetVersion(t *testing.T) {
	root := t.TempDir()
	src := "// Package x.\npackage x\n\n// Follows BuildKit v0.1.0 a/b.go: F.\n//\n// Follows BuildKit v0.1.0 c/d.go, G: more.\nfunc F() {}\n// Follows BuildKit nothing.go\n"
	if err := os.MkdirAll(filepath.Join(root, "p", "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"p/x.go", "p/testdata/y.go"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	follows, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Follow{{File: "p/x.go", Line: 4, Version: "v0.1.0", Path: "a/b.go"}, {File: "p/x.go", Line: 6, Version: "v0.1.0", Path: "c/d.go"}}
	if !slices.Equal(follows, want) {
		t.Fatalf("Scan = %v, want %v", follows, want)
	}
	if err := SetVersion(root, follows[1], "v0.2.0"); err != nil {
		t.Fatal(err)
	}
	follows, _ = Scan(root)
	if follows[0].Version != "v0.1.0" || follows[1].Version != "v0.2.0" {
		t.Errorf("after SetVersion: %v", follows)
	}
	if err := SetVersion(root, want[1], "v0.3.0"); err == nil {
		t.Errorf("SetVersion of a line that no longer says v0.1.0 succeeded")
	}
}
