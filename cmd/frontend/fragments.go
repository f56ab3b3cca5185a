package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
)

// diskFragments reads the fragments INCLUDE names from disk: the
// Dockerfile's directory, and the directories --build-context gives
// named contexts. Every read goes through an os.Root, and a symlink that
// leads out of its root is an error, not a file.
type diskFragments struct {
	dirs map[string]string // named context ("" the Dockerfile's) -> directory
}

func (d *diskFragments) Read(_ context.Context, from, p string) ([]byte, error) {
	dir, ok := d.dirs[from]
	if !ok {
		return nil, fmt.Errorf("no build context %q: give it with --build-context %s=DIR", from, from)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	real, err := contextfs.ResolveInside(root, p)
	if err != nil {
		return nil, err
	}
	f, err := root.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: name a file", p)
	}
	dt, err := io.ReadAll(io.LimitReader(f, rewrite.MaxExpandedSize+1))
	if err != nil {
		return nil, err
	}
	return dt, nil
}
