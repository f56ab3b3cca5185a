// Package upstream keeps stagefront in step with BuildKit: which of
// BuildKit's files each of ours follows (the "Follows BuildKit <version>
// <path>" lines of their headers), and where a version of the BuildKit
// module is on this machine. hack/bump-buildkit reads them to print what
// a bump must port; the package's test holds every header to the version
// in go.mod.
package upstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Module is BuildKit's module path.
const Module = "github.com/moby/buildkit"

// A Follow is one header line that says a file of ours follows a file of
// BuildKit, as "// Follows BuildKit v0.35.1 frontend/dockerfile/builder/build.go".
type Follow struct {
	// File is our file, slash-separated and relative to the repository
	// root; Line the header's line in it (1-based).
	File string
	Line int
	// Version is the BuildKit version the header names, and Path the
	// upstream file, relative to the module root.
	Version, Path string
}

func (f Follow) String() string {
	return fmt.Sprintf("%s:%d: follows BuildKit %s %s", f.File, f.Line, f.Version, f.Path)
}

// followLine matches a header line; a line may also say what of the file
// it follows, after a colon or a comma.
var followLine = regexp.MustCompile(`^\s*// Follows BuildKit (v[0-9][^\s:,]*) ([\w./-]+\.go)\b`)

// Scan lists the Follow lines of the Go files under root, in file and
// line order. Folders that hold no code of ours (dot folders, testdata)
// are skipped.
func Scan(root string) ([]Follow, error) {
	var out []Follow
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(bytes.NewReader(dt))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if m := followLine.FindStringSubmatch(sc.Text()); m != nil {
				out = append(out, Follow{File: filepath.ToSlash(rel), Line: n, Version: m[1], Path: m[2]})
			}
		}
		return sc.Err()
	})
	return out, err
}

// SetVersion rewrites the version of the Follow line f in its file under
// root.
func SetVersion(root string, f Follow, version string) error {
	p := filepath.Join(root, filepath.FromSlash(f.File))
	dt, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	lines := bytes.SplitAfter(dt, []byte("\n"))
	if f.Line < 1 || f.Line > len(lines) {
		return fmt.Errorf("%s: no line %d", f.File, f.Line)
	}
	old := "Follows BuildKit " + f.Version + " " + f.Path
	l := string(lines[f.Line-1])
	if !strings.Contains(l, old) {
		return fmt.Errorf("%s:%d does not say %q", f.File, f.Line, old)
	}
	lines[f.Line-1] = []byte(strings.Replace(l, old, "Follows BuildKit "+version+" "+f.Path, 1))
	return os.WriteFile(p, bytes.Join(lines, nil), 0o644)
}

// ModuleDir returns the directory of BuildKit's module at version on
// this machine, downloading it when the module cache lacks it. dir is
// where to run the go command (a module that may require it).
func ModuleDir(dir, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+version)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", Module, version, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", Module, version, m.Error)
	}
	return m.Dir, nil
}

// RequiredVersion returns the BuildKit version the module in dir
// requires.
func RequiredVersion(dir string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", Module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", Module, err)
	}
	return strings.TrimSpace(string(out)), nil
}
