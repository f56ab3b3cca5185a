// Package contextfs answers exists() for conditions: one pattern matcher
// over a small file-system interface, used by the CLI (a directory on
// disk, Dir) and by the gateway (the build context BuildKit transferred).
// Both give the same answers: the same cleaning and refusal of paths
// that leave the context, the same globs and "**", directories and
// files alike, .dockerignore applied, and symlinks resolved inside the
// context only, as BuildKit resolves them inside a snapshot.
package contextfs

import (
	"context"
	"path"
	"strings"

	"github.com/pkg/errors"
)

// Entry is one name in a directory.
type Entry struct {
	Name string
	// Dir is true for a directory (not for a symlink to one).
	Dir bool
	// Symlink is true for a symbolic link.
	Symlink bool
}

// FS is a read-only view of a build context.
type FS interface {
	// ReadDir lists dir, a clean slash-separated path relative to the
	// context root ("." is the root). Symlinks along dir resolve inside
	// the context; a dir that is not a directory there is an error.
	ReadDir(ctx context.Context, dir string) ([]Entry, error)
}

// Clean checks that pattern stays inside the build context and returns
// it cleaned: slash-separated, relative, without "." or ".." elements or
// a trailing slash ("." for the root itself). Absolute paths and ".."
// are refused, not resolved, and every element must be a valid glob.
func Clean(pattern string) (string, error) {
	if strings.TrimSpace(pattern) == "" {
		return "", errors.New("exists() needs a path relative to the build context, as in exists(\"docs/\")")
	}
	p := strings.ReplaceAll(pattern, "\\", "/")
	if strings.HasPrefix(p, "/") {
		return "", errors.Errorf("exists(%q) looks outside the build context: use a path relative to the context root", pattern)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", errors.Errorf("exists(%q) looks outside the build context (\"..\"): use a path relative to the context root", pattern)
		}
		if _, err := path.Match(el, ""); err != nil {
			return "", errors.Errorf("exists(%q): bad pattern %q: %v", pattern, el, err)
		}
	}
	return path.Clean(p), nil
}

// match reports whether the clean pattern (see Clean) names something in
// fsys: each element is a name, a glob (path.Match syntax) or "**" (any
// number of directories). A symlink matches by its own name, and a path
// goes on through it when it resolves to a directory of the context;
// "**" does not descend into symlinks.
func match(ctx context.Context, fsys FS, pattern string) (bool, error) {
	if pattern == "." {
		return true, nil
	}
	return matchTree(ctx, fsys, ".", strings.Split(pattern, "/"))
}

func matchTree(ctx context.Context, fsys FS, dir string, elems []string) (bool, error) {
	if len(elems) == 0 {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	el, rest := elems[0], elems[1:]
	if el == "**" {
		// zero directories...
		if ok, err := matchTree(ctx, fsys, dir, rest); ok || err != nil {
			return ok, err
		}
		// ...or one more, still under "**"
		entries, err := readDir(ctx, fsys, dir)
		if entries == nil || err != nil {
			return false, err
		}
		for _, e := range entries {
			if e.Dir {
				if ok, err := matchTree(ctx, fsys, path.Join(dir, e.Name), elems); ok || err != nil {
					return ok, err
				}
			}
		}
		return false, nil
	}
	entries, err := readDir(ctx, fsys, dir)
	if entries == nil || err != nil {
		return false, err
	}
	literal := !strings.ContainsAny(el, "*?[\\")
	for _, e := range entries {
		if literal {
			if e.Name != el {
				continue
			}
		} else if ok, _ := path.Match(el, e.Name); !ok {
			continue
		}
		if len(rest) == 0 {
			return true, nil
		}
		if !e.Dir && !e.Symlink {
			continue
		}
		if ok, err := matchTree(ctx, fsys, path.Join(dir, e.Name), rest); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// readDir lists dir. Below the root, a directory that cannot be read is
// one that is not there (a file, a dangling or escaping symlink): nil
// entries and no error. The root must be readable, and a cancelled
// build stops the walk.
func readDir(ctx context.Context, fsys FS, dir string) ([]Entry, error) {
	entries, err := fsys.ReadDir(ctx, dir)
	if err == nil {
		if entries == nil {
			entries = []Entry{}
		}
		return entries, nil
	}
	if dir == "." || ctx.Err() != nil {
		return nil, err
	}
	return nil, nil
}
