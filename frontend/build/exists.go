package build

import (
	"context"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/pkg/errors"
)

// contextFS is the part of the build context exists() may see: the files
// matching a follow path, after .dockerignore.
type contextFS interface {
	// load returns a reference holding at least every file of the main
	// build context that matches one of patterns; nil when there are none.
	load(ctx context.Context, patterns []string) (client.Reference, error)
}

// buildContextFS loads the main build context through dockerui, so the
// same local name, session and .dockerignore rules as the build apply,
// and a main context replaced by an input or a git/http context is used
// as the build uses it.
type buildContextFS struct {
	bc *dockerui.Client
	c  client.Client
}

func (f *buildContextFS) load(ctx context.Context, patterns []string) (client.Reference, error) {
	st, err := f.bc.MainContext(ctx,
		llb.FollowPaths(patterns),
		llb.SharedKeyHint(dockerui.DefaultLocalNameContext+"-stagefront-exists"),
		dockerui.WithInternalName("stagefront: exists("+strings.Join(patterns, ", ")+")"),
	)
	if err != nil {
		return nil, err
	}
	def, err := st.Marshal(ctx, llb.WithCaps(f.bc.BuildOpts().Caps))
	if err != nil {
		return nil, err
	}
	res, err := f.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

// existsContext answers exists() for the rewrite: a read-only view of the
// main build context, with answers kept per pattern within one Build. The
// first question reads the context once for every pattern the file's
// conditions name (see Expect). It never looks outside the context.
type existsContext struct {
	fs contextFS
	// mu guards expected and answers, and is held while the context is
	// read, so that one read answers everything asked meanwhile.
	mu       sync.Mutex
	expected []string
	answers  map[string]existsAnswer
}

type existsAnswer struct {
	ok  bool
	err error
}

var _ rewrite.ExpectingContext = (*existsContext)(nil)

func newExistsContext(fs contextFS) *existsContext {
	return &existsContext{fs: fs, answers: map[string]existsAnswer{}}
}

// Expect notes patterns that exists() may be asked about, so that the
// first question reads them all at once; invalid ones are left for Exists
// to report.
func (e *existsContext) Expect(patterns []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range patterns {
		if clean, err := cleanPattern(p); err == nil && clean != "." && !slices.Contains(e.expected, clean) {
			e.expected = append(e.expected, clean)
		}
	}
}

// Exists reports whether pattern, a slash-separated path relative to the
// context root in which any element may be a glob (path.Match syntax) or
// "**" (any number of directories), matches a file or directory.
func (e *existsContext) Exists(ctx context.Context, pattern string) (bool, error) {
	clean, err := cleanPattern(pattern)
	if err != nil {
		return false, err
	}
	if clean == "." {
		return true, nil // the context root
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.answers[clean]; ok {
		return a.ok, a.err
	}
	// One read of the context for this pattern and every expected one
	// not answered yet.
	batch := []string{clean}
	for _, p := range e.expected {
		if _, done := e.answers[p]; !done && p != clean {
			batch = append(batch, p)
		}
	}
	ref, err := e.fs.load(ctx, batch)
	if err != nil {
		err = errors.Wrapf(err, "exists(%q): reading the build context", pattern)
		e.answers[clean] = existsAnswer{err: err}
		return false, err
	}
	for _, p := range batch {
		var a existsAnswer
		if ref != nil {
			// The reference holds the files of other patterns too; a
			// path there exists in the context, so the walk stays exact.
			a.ok, a.err = matchTree(ctx, ref, "/", strings.Split(p, "/"))
			if a.err != nil {
				a.err = errors.Wrapf(a.err, "exists(%q)", p)
			}
		}
		e.answers[p] = a
	}
	a := e.answers[clean]
	return a.ok, a.err
}

// cleanPattern checks that pattern stays inside the build context and
// returns it cleaned. Absolute paths and ".." are refused, not resolved.
func cleanPattern(pattern string) (string, error) {
	if strings.TrimSpace(pattern) == "" {
		return "", errors.New("exists() needs a path relative to the build context")
	}
	p := strings.ReplaceAll(pattern, "\\", "/")
	if strings.HasPrefix(p, "/") {
		return "", errors.Errorf("exists(%q): the path must be relative to the build context, not absolute", pattern)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", errors.Errorf("exists(%q): the path must stay inside the build context (no \"..\")", pattern)
		}
	}
	for _, el := range strings.Split(p, "/") {
		if _, err := path.Match(el, ""); err != nil {
			return "", errors.Errorf("exists(%q): bad pattern %q: %v", pattern, el, err)
		}
	}
	return path.Clean(p), nil
}

// matchTree reports whether the elements of a pattern match something
// below dir in ref, walking with ReadDir.
func matchTree(ctx context.Context, ref client.Reference, dir string, elems []string) (bool, error) {
	if len(elems) == 0 {
		return true, nil
	}
	el, rest := elems[0], elems[1:]
	if el == "**" {
		// zero directories...
		if ok, err := matchTree(ctx, ref, dir, rest); ok || err != nil {
			return ok, err
		}
		// ...or one more, still under "**"
		entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: dir})
		if err != nil {
			return false, err
		}
		for _, st := range entries {
			if os.FileMode(st.Mode).IsDir() {
				if ok, err := matchTree(ctx, ref, path.Join(dir, path.Base(st.Path)), elems); ok || err != nil {
					return ok, err
				}
			}
		}
		return false, nil
	}
	entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: dir})
	if err != nil {
		return false, err
	}
	for _, st := range entries {
		name := path.Base(st.Path)
		if ok, _ := path.Match(el, name); !ok {
			continue
		}
		if len(rest) == 0 {
			return true, nil
		}
		if !os.FileMode(st.Mode).IsDir() {
			continue
		}
		if ok, err := matchTree(ctx, ref, path.Join(dir, name), rest); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}
