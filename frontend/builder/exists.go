package builder

import (
	"context"
	"os"
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/org/stagefront/internal/contextfs"
)

// exists() in the gateway: contextfs answers it (the same matcher as the
// CLI's), over the main build context as BuildKit transferred it for
// this build.

// contextLoader loads the files of the main build context that match
// some patterns: a reference, read with ReadDir.
type contextLoader interface {
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
	return solveRef(ctx, f.c, f.bc, *st)
}

// solveRef solves st, for reading its files.
func solveRef(ctx context.Context, c client.Client, bc *dockerui.Client, st llb.State) (client.Reference, error) {
	def, err := st.Marshal(ctx, llb.WithCaps(bc.BuildOpts().Caps))
	if err != nil {
		return nil, err
	}
	res, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

// refLoader is a contextfs.Loader over a contextLoader.
type refLoader struct{ l contextLoader }

func (r refLoader) Load(ctx context.Context, patterns []string) (contextfs.FS, error) {
	ref, err := r.l.load(ctx, patterns)
	if err != nil || ref == nil {
		return nil, err
	}
	return refFS{ref}, nil
}

// newExistsContext is the exists() context of a build.
func newExistsContext(l contextLoader) *contextfs.Context {
	return contextfs.NewContext(refLoader{l})
}

// refFS is a solved reference as a contextfs.FS. BuildKit resolves the
// path of a ReadDir inside the reference's root, symlinks included.
type refFS struct{ ref client.Reference }

func (r refFS) ReadDir(ctx context.Context, dir string) ([]contextfs.Entry, error) {
	p := "/"
	if dir != "." {
		p = "/" + dir
	}
	list, err := r.ref.ReadDir(ctx, client.ReadDirRequest{Path: p})
	if err != nil {
		return nil, err
	}
	out := make([]contextfs.Entry, 0, len(list))
	for _, st := range list {
		mode := os.FileMode(st.Mode)
		out = append(out, contextfs.Entry{Name: path.Base(st.Path), Dir: mode.IsDir(), Symlink: mode&os.ModeSymlink != 0})
	}
	return out, nil
}
