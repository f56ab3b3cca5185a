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

// Read returns the file at p, relative to the root of from.
func (d *DirFragments) Read(_ context.Context, from, p string) ([]byte, error) {
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
	f, err := root.Open(real)
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
