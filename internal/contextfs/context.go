package contextfs

import (
	"context"
	"slices"
	"sync"

	"github.com/pkg/errors"
)

// Loader gives a view of the build context that holds at least every file
// matching the given clean patterns. The gateway reads the build context
// once for all the patterns a file's conditions name; a directory on disk
// is its own view.
type Loader interface {
	Load(ctx context.Context, patterns []string) (FS, error)
}

// Context answers exists() for the rewrite: the answers are kept per
// cleaned pattern, and the first question loads the context once for
// every pattern the file named in advance (Expect). It is safe for
// concurrent use (the platforms of a build ask at the same time).
type Context struct {
	loader Loader
	// mu guards expected and answers, and is held while the context is
	// loaded, so that one load answers everything asked meanwhile.
	mu       sync.Mutex
	expected []string
	answers  map[string]answer
}

type answer struct {
	ok  bool
	err error
}

// NewContext returns the Context of what l loads.
func NewContext(l Loader) *Context {
	return &Context{loader: l, answers: map[string]answer{}}
}

// Expect notes patterns that exists() may be asked about, so that the
// first question loads them all at once; invalid ones are left for
// Exists to report.
func (c *Context) Expect(patterns []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range patterns {
		if clean, err := Clean(p); err == nil && clean != "." && !slices.Contains(c.expected, clean) {
			c.expected = append(c.expected, clean)
		}
	}
}

// Exists reports whether pattern (see Clean and Match) names a file or
// directory of the context.
func (c *Context) Exists(ctx context.Context, pattern string) (bool, error) {
	clean, err := Clean(pattern)
	if err != nil {
		return false, err
	}
	if clean == "." {
		return true, nil // the context root
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.answers[clean]; ok {
		return a.ok, a.err
	}
	// One load for this pattern and every expected one not answered yet.
	batch := []string{clean}
	for _, p := range c.expected {
		if _, done := c.answers[p]; !done && p != clean {
			batch = append(batch, p)
		}
	}
	fsys, err := c.loader.Load(ctx, batch)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err() // not an answer to keep
		}
		err = errors.Wrapf(err, "exists(%q): reading the build context", pattern)
		c.answers[clean] = answer{err: err}
		return false, err
	}
	for _, p := range batch {
		var a answer
		if fsys != nil {
			// The view may hold the files of other patterns too; a path
			// there exists in the context, so the walk stays exact.
			a.ok, a.err = match(ctx, fsys, p)
			if a.err != nil {
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				a.err = errors.Wrapf(a.err, "exists(%q)", p)
			}
		}
		c.answers[p] = a
	}
	a := c.answers[clean]
	return a.ok, a.err
}
