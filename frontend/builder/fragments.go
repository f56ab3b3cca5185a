package builder

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/pkg/errors"
)

// buildFragments reads the fragments INCLUDE names in a build, with
// BuildKit's own file API: from where BuildKit read the Dockerfile (the
// local it was sent in, transferring only the fragment's path; or the
// context it came from, such as a git repository), or from a named
// context (--build-context NAME=...). Every path is resolved through the
// snapshot's own listing: a symlink that leads out of its root is an
// error (contextfs.ResolveInside).
type buildFragments struct {
	c  client.Client
	bc *dockerui.Client
	// dockerfile is the source the Dockerfile was read from, and dir the
	// Dockerfile's directory in it: the root of its fragments.
	dockerfile *llb.State
	dir        string
	// noDir is set when buildx sent the Dockerfile from standard input,
	// inline or from a URL: a directory of its own holds it alone.
	noDir bool

	mu sync.Mutex
	// whole are the sources read whole, by named context ("" the
	// Dockerfile's when it is no local).
	whole map[string]client.Reference
}

// newBuildFragments reads the fragments of the Dockerfile src.
func newBuildFragments(c client.Client, bc *dockerui.Client, src *dockerui.Source) *buildFragments {
	dir := "."
	if src.SourceMap != nil {
		dir = path.Dir(src.SourceMap.Filename)
	}
	var st *llb.State
	if src.SourceMap != nil {
		st = src.SourceMap.State
	}
	// buildx marks a Dockerfile it read from standard input (-f -), an
	// inline definition or a URL by naming the key of its local, which it
	// otherwise leaves to the default (buildx's build/opt.go).
	_, noDir := bc.BuildOpts().Opts["dockerfilekey"]
	return &buildFragments{c: c, bc: bc, dockerfile: st, dir: dir, noDir: noDir, whole: map[string]client.Reference{}}
}

func (b *buildFragments) Read(ctx context.Context, from, p string) ([]byte, error) {
	ref, root, err := b.source(ctx, from, llb.FollowPaths([]string{path.Join(b.dir, p)}), "load fragment "+p)
	if err != nil {
		return nil, err
	}
	links := refLinks{ctx: ctx, ref: ref, root: root}
	real, err := contextfs.ResolveInside(links, p)
	if err != nil {
		return nil, err
	}
	full := path.Join(root, real)
	st, err := ref.StatFile(ctx, client.StatRequest{Path: full})
	if err != nil {
		return nil, err
	}
	if os.FileMode(st.Mode).IsDir() {
		return nil, errors.Errorf("%s is a directory: name a file", p)
	}
	if st.Size > rewrite.MaxExpandedSize {
		return nil, errors.Errorf("%s is %d bytes; the limit of the Dockerfile and its fragments together is %d", p, st.Size, rewrite.MaxExpandedSize)
	}
	return ref.ReadFile(ctx, client.ReadRequest{Filename: full})
}

// List implements rewrite.FragmentLister: the files of dir, for the
// did-you-mean of a fragment that does not exist.
func (b *buildFragments) List(ctx context.Context, from, dir string) ([]string, error) {
	ref, root, err := b.source(ctx, from, llb.IncludePatterns([]string{path.Join(b.dir, dir, "*")}), "list fragments in "+dir)
	if err != nil {
		return nil, err
	}
	list, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: "/" + path.Join(root, dir)})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, st := range list {
		if !os.FileMode(st.Mode).IsDir() {
			names = append(names, path.Base(st.Path))
		}
	}
	return names, nil
}

// source returns the snapshot a fragment is read from and the root of
// the fragments in it: for the Dockerfile's own local, what transfer
// picks of it (named what, for the progress).
func (b *buildFragments) source(ctx context.Context, from string, transfer llb.LocalOption, what string) (client.Reference, string, error) {
	if from == "" {
		if b.noDir {
			return nil, "", errors.New("this Dockerfile came from standard input (-f -), inline or a URL, and has no directory to include from: write the fragment's context with --from=<name> and pass it with --build-context <name>=<dir>")
		}
		if b.dockerfile == nil {
			return nil, "", errors.New("this build has no Dockerfile source to read fragments from")
		}
		if name, attrs, ok := localSource(ctx, *b.dockerfile); ok {
			// The local BuildKit read the Dockerfile from, transferring
			// only what transfer picks.
			st := llb.Local(name,
				llb.SessionID(attrs[pb.AttrLocalSessionID]),
				llb.SharedKeyHint(name),
				transfer,
				dockerui.WithInternalName("stagefront: "+what),
				llb.Differ(llb.DiffNone, false),
			)
			ref, err := b.solve(ctx, st)
			return ref, b.dir, err
		}
		ref, err := b.wholeSource(ctx, "", func() (*llb.State, error) { return b.dockerfile, nil })
		return ref, b.dir, err
	}
	ref, err := b.wholeSource(ctx, from, func() (*llb.State, error) {
		nc, err := b.bc.NamedContext(from, dockerui.ContextOpt{})
		if err != nil {
			return nil, err
		}
		if nc == nil {
			return nil, errors.Errorf("no build context %q: pass one with --build-context %s=<dir, git URL or image>", from, from)
		}
		st, _, err := nc.Load(ctx)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, errors.Errorf("build context %q has no files", from)
		}
		return st, nil
	})
	return ref, ".", err
}

// wholeSource solves the state load gives once per name.
func (b *buildFragments) wholeSource(ctx context.Context, name string, load func() (*llb.State, error)) (client.Reference, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ref, ok := b.whole[name]; ok {
		return ref, nil
	}
	st, err := load()
	if err != nil {
		return nil, err
	}
	ref, err := b.solve(ctx, *st)
	if err != nil {
		return nil, err
	}
	b.whole[name] = ref
	return ref, nil
}

func (b *buildFragments) solve(ctx context.Context, st llb.State) (client.Reference, error) {
	return solveRef(ctx, b.c, b.bc, st)
}

// localSource reports whether st is a local source (what BuildKit reads
// a Dockerfile sent by buildx or buildctl from), with its name and
// attributes.
func localSource(ctx context.Context, st llb.State) (string, map[string]string, bool) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return "", nil, false
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			continue
		}
		if src := op.GetSource(); src != nil {
			if name, ok := strings.CutPrefix(src.Identifier, "local://"); ok {
				return name, src.Attrs, true
			}
		}
	}
	return "", nil, false
}

// refLinks reads a snapshot's entries without following symlinks (its
// ReadDir lists them as they are), under root, for
// contextfs.ResolveInside.
type refLinks struct {
	ctx  context.Context
	ref  client.Reference
	root string
}

func (r refLinks) entry(name string) (*fileStat, error) {
	dir, base := path.Split(path.Join(r.root, name))
	list, err := r.ref.ReadDir(r.ctx, client.ReadDirRequest{Path: "/" + strings.TrimSuffix(dir, "/")})
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	for _, st := range list {
		if path.Base(st.Path) == base {
			return &fileStat{name: base, mode: os.FileMode(st.Mode), size: st.Size, link: st.Linkname}, nil
		}
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (r refLinks) Lstat(name string) (fs.FileInfo, error) {
	st, err := r.entry(name)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (r refLinks) Readlink(name string) (string, error) {
	st, err := r.entry(name)
	if err != nil {
		return "", err
	}
	if st.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fmt.Errorf("not a symlink")}
	}
	return st.link, nil
}

// fileStat is an entry of a snapshot's listing as an fs.FileInfo.
type fileStat struct {
	name string
	mode fs.FileMode
	size int64
	link string
}

func (s *fileStat) Name() string       { return s.name }
func (s *fileStat) Size() int64        { return s.size }
func (s *fileStat) Mode() fs.FileMode  { return s.mode }
func (s *fileStat) ModTime() time.Time { return time.Time{} }
func (s *fileStat) IsDir() bool        { return s.mode.IsDir() }
func (s *fileStat) Sys() any           { return nil }
