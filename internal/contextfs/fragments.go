package contextfs

import (
	"context"
	"fmt"
	"io"
	"os"
)

// DirFragments reads the fragments INCLUDE names from disk (the CLI, and
// tests that read examples as the CLI does): Dirs maps a named context
// ("" for the Dockerfile's directory) to its directory. Every read goes
// through an os.Root, and a symlink that leads out of its root is an
// error, not a file (ResolveInside). It implements rewrite.Fragments.
type DirFragments struct {
	Dirs map[string]string
	// MaxSize is the largest fragment read (0: no limit).
	MaxSize int64
}

// List returns the names of the files in dir, relative to the root of
// from.
func (d *DirFragments) List(_ context.Context, from, dir string) ([]string, error) {
	f, err := d.open(from, dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range list {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Read returns the file at p, relative to the root of from.
func (d *DirFragments) Read(_ context.Context, from, p string) ([]byte, error) {
	f, err := d.open(from, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: name a file", p)
	}
	if d.MaxSize > 0 && st.Size() > d.MaxSize {
		return nil, fmt.Errorf("%s is %d bytes; the limit of the Dockerfile and its fragments together is %d", p, st.Size(), d.MaxSize)
	}
	return io.ReadAll(f)
}

// open opens p in the directory of from, never out of it (the file
// stays open after the root is closed).
func (d *DirFragments) open(from, p string) (*os.File, error) {
	dir, ok := d.Dirs[from]
	if !ok {
		return nil, fmt.Errorf("no build context %q: give it with --build-context %s=DIR", from, from)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	real, err := ResolveInside(root, p)
	if err != nil {
		return nil, err
	}
	return root.Open(real)
}
