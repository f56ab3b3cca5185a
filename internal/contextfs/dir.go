package contextfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// maxSymlinks is how many symlinks one path may go through, as Linux
// allows (ELOOP).
const maxSymlinks = 40

// Dir is a directory on the local disk as a build context, for the CLI:
// its .dockerignore applies, and symlinks resolve inside it (an absolute
// target starts again at the context root, ".." stops there), as BuildKit
// resolves them inside the snapshot of a transferred context. Nothing
// outside the directory is ever read: every access goes through an
// os.Root.
type Dir struct {
	root    *os.Root
	matcher *patternmatcher.PatternMatcher
}

// NewDir opens dir and reads its .dockerignore, if any. Close it when done.
func NewDir(dir string) (*Dir, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	d := &Dir{root: root}
	f, err := root.Open(".dockerignore")
	if err == nil {
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			root.Close()
			return nil, err
		}
		if d.matcher, err = patternmatcher.New(patterns); err != nil {
			root.Close()
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		root.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Load implements Loader: a directory is its own view.
func (d *Dir) Load(context.Context, []string) (FS, error) { return d, nil }

// ReadDir implements FS.
func (d *Dir) ReadDir(_ context.Context, dir string) ([]Entry, error) {
	real, err := d.resolve(dir)
	if err != nil {
		return nil, err
	}
	f, err := d.root.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(list))
	for _, e := range list {
		if d.excluded(path.Join(real, e.Name())) {
			continue
		}
		out = append(out, Entry{Name: e.Name(), Dir: e.IsDir(), Symlink: e.Type()&fs.ModeSymlink != 0})
	}
	return out, nil
}

// excluded reports whether .dockerignore leaves rel (a real path, without
// symlinks) out of the context.
func (d *Dir) excluded(rel string) bool {
	if d.matcher == nil || rel == "." {
		return false
	}
	ex, err := d.matcher.MatchesOrParentMatches(rel)
	return err == nil && ex
}

// resolve returns the real path of p inside the context: every symlink
// along it followed, scoped to the root.
func (d *Dir) resolve(p string) (string, error) {
	return resolve(d.root, p, d.excluded, false)
}

// Links reads the entries of a tree without following symlinks; an
// os.Root does.
type Links interface {
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
}

// ResolveInside returns the real path of p (slash-separated, relative)
// inside the tree l reads, every symlink along it followed. Unlike a build
// context, whose symlinks resolve scoped to its root, a path that climbs
// out of the tree or a symlink whose target is absolute or climbs out of
// it is an error: INCLUDE reads fragments this way.
func ResolveInside(l Links, p string) (string, error) {
	return resolve(l, p, nil, true)
}

// resolve follows p through l: scoped to the root (an absolute target
// starts again at the root, ".." stops there), or strict (either is an
// error). excluded, when set, hides paths as .dockerignore does.
func resolve(l Links, p string, excluded func(string) bool, strict bool) (string, error) {
	todo := splitPath(p)
	cur := "."
	links := 0
	for len(todo) > 0 {
		el := todo[0]
		todo = todo[1:]
		switch el {
		case "", ".":
			continue
		case "..":
			if strict && cur == "." {
				return "", fmt.Errorf("%s leads out of its directory", p)
			}
			cur = path.Dir(cur) // path.Dir(".") is "."
			continue
		}
		next := path.Join(cur, el)
		fi, err := l.Lstat(next)
		if err != nil {
			return "", err
		}
		if excluded != nil && excluded(next) {
			return "", &fs.PathError{Op: "lstat", Path: next, Err: fs.ErrNotExist}
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: errors.New("too many levels of symbolic links")}
		}
		target, err := l.Readlink(next)
		if err != nil {
			return "", err
		}
		target = filepath.ToSlash(target)
		if strict {
			// The target, relative to the link's directory, must stay in.
			if rel := path.Join(path.Dir(next), target); strings.HasPrefix(target, "/") || rel == ".." || strings.HasPrefix(rel, "../") {
				return "", fmt.Errorf("%s is a symlink to %s, outside its directory: a fragment must be inside it", next, target)
			}
			cur = path.Dir(next)
		} else if strings.HasPrefix(target, "/") {
			cur = "."
		}
		todo = append(splitPath(target), todo...)
	}
	return cur, nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }
