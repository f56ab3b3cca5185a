package builder

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/pkg/errors"
	fstypes "github.com/tonistiigi/fsutil/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// buildFragments reads the fragments INCLUDE names in a build, with
// BuildKit's own file API: from where BuildKit read the Dockerfile (the
// local it was sent in, transferring only the fragment's path; or the
// context it came from, such as a git repository), or from a named
// context (--build-context NAME=...). Every path is resolved through the
// snapshot's own listing: a symlink that leads out of its root is an
// error (contextfs.ResolveInside).
//
// A Dockerfile from standard input has no directory of its own: its path
// INCLUDEs are read from the root of the build context when that is a
// local directory, as `docker build -f - .` and Docker's language server
// mean them. buildx says so (see newBuildFragments); the classic docker
// build does not, and sends such a Dockerfile alone in a directory of its
// own: a fragment that is not beside a Dockerfile alone in its directory
// is read from the build context's root, with a note at its INCLUDE.
type buildFragments struct {
	c  client.Client
	bc *dockerui.Client
	// dockerfile is the source the Dockerfile was read from, and dir the
	// Dockerfile's directory in it: the root of its fragments.
	dockerfile *llb.State
	dir        string
	// fromStdin is set when buildx sent the Dockerfile from standard
	// input, inline or from a URL: a directory of its own holds it alone.
	fromStdin bool

	mu sync.Mutex
	// whole are the sources read whole, by named context ("" the
	// Dockerfile's when it is no local).
	whole map[string]client.Reference
	// alone is whether the Dockerfile's local holds the Dockerfile alone
	// (nil until asked); notes are the notes of the fragments read from
	// the build context's root because of it, by path.
	alone *bool
	notes map[string]string
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
	_, fromStdin := bc.BuildOpts().Opts["dockerfilekey"]
	return &buildFragments{c: c, bc: bc, dockerfile: st, dir: dir, fromStdin: fromStdin,
		whole: map[string]client.Reference{}, notes: map[string]string{}}
}

// placeBoth is where a fragment was looked for, for messages
// (rewrite.FragmentPlacer), when the Dockerfile is alone in its local.
const placeBoth = "beside the Dockerfile, nor in the build context's root"

func (b *buildFragments) Read(ctx context.Context, from, p string) ([]byte, error) {
	dt, err := b.read(ctx, b.where(from), p)
	if from != "" || b.fromStdin || !errors.Is(err, fs.ErrNotExist) {
		return dt, err
	}
	if ok, aloneErr := b.dockerfileAlone(ctx); aloneErr != nil || !ok {
		return dt, err
	}
	dt, rootErr := b.read(ctx, where{root: true}, p)
	if rootErr != nil {
		return nil, rootErr
	}
	b.mu.Lock()
	b.notes[p] = fmt.Sprintf("%s is not beside the Dockerfile, which is alone in its directory as when the classic docker build sends it from standard input (-f -): it was read from the build context's root", p)
	b.mu.Unlock()
	return dt, nil
}

// Place implements rewrite.FragmentPlacer.
func (b *buildFragments) Place(from string) string {
	switch {
	case from != "":
		return "in context " + from
	case b.fromStdin:
		return rewrite.PlaceStdin
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.alone != nil && *b.alone {
		return placeBoth
	}
	return "beside the Dockerfile"
}

// Note implements rewrite.FragmentNoter: why a fragment was read from the
// build context's root.
func (b *buildFragments) Note(from, p string) string {
	if from != "" {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.notes[p]
}

// where names the snapshot a fragment is read from: a named context, the
// Dockerfile's own source, or the build context's root.
type where struct {
	from string
	root bool
}

// where is where the fragments of from are read first.
func (b *buildFragments) where(from string) where {
	return where{from: from, root: from == "" && b.fromStdin}
}

func (b *buildFragments) read(ctx context.Context, w where, p string) ([]byte, error) {
	ref, root, err := b.source(ctx, w, func(root string) []llb.LocalOption {
		return []llb.LocalOption{llb.FollowPaths([]string{path.Join(root, p)})}
	}, "load fragment "+p)
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
// did-you-mean of a fragment that does not exist (in the build context's
// root when a fragment was looked for there too).
func (b *buildFragments) List(ctx context.Context, from, dir string) ([]string, error) {
	w := b.where(from)
	if b.Place(from) == placeBoth {
		w.root = true
	}
	return b.list(ctx, w, dir)
}

func (b *buildFragments) list(ctx context.Context, w where, dir string) ([]string, error) {
	list, err := b.entries(ctx, w, dir)
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

// entries lists dir, transferring only its entries (a directory in it
// comes empty).
func (b *buildFragments) entries(ctx context.Context, w where, dir string) ([]*fstypes.Stat, error) {
	ref, root, err := b.source(ctx, w, func(root string) []llb.LocalOption {
		return []llb.LocalOption{
			llb.IncludePatterns([]string{path.Join(root, dir, "*")}),
			llb.ExcludePatterns([]string{path.Join(root, dir, "*", "*")}),
		}
	}, "list fragments in "+dir)
	if err != nil {
		return nil, err
	}
	return ref.ReadDir(ctx, client.ReadDirRequest{Path: "/" + path.Join(root, dir)})
}

// dockerfileAlone reports whether the Dockerfile came in a local of its
// own, apart from the build context's, that holds nothing else: what the
// classic docker build sends for a Dockerfile from standard input.
func (b *buildFragments) dockerfileAlone(ctx context.Context) (bool, error) {
	b.mu.Lock()
	known := b.alone
	b.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	alone, err := func() (bool, error) {
		if b.dockerfile == nil || b.dir != "." {
			return false, nil
		}
		name, _, ok := localSource(ctx, *b.dockerfile)
		if !ok {
			return false, nil
		}
		if ctxName, ok, err := b.contextLocal(ctx); err != nil || !ok || ctxName == name {
			return false, err
		}
		list, err := b.entries(ctx, where{}, ".")
		if err != nil {
			return false, err
		}
		return len(list) == 1, nil
	}()
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	b.alone = &alone
	b.mu.Unlock()
	return alone, nil
}

// contextLocal returns the name of the local the build context is read
// from; ok is false when it is no local directory (a git repository, a
// tarball, an image).
func (b *buildFragments) contextLocal(ctx context.Context) (string, bool, error) {
	st, err := b.bc.MainContext(ctx)
	if err != nil {
		return "", false, err
	}
	name, _, ok := localSource(ctx, *st)
	return name, ok, nil
}

// source returns the snapshot a fragment is read from and the root of
// the fragments in it: for a local (the Dockerfile's own, or the build
// context's for w.root), what transfer picks of it under that root
// (named what, for the progress).
func (b *buildFragments) source(ctx context.Context, w where, transfer func(root string) []llb.LocalOption, what string) (client.Reference, string, error) {
	local := func(st llb.State, root string) (client.Reference, string, error) {
		name, attrs, _ := localSource(ctx, st)
		opts := append([]llb.LocalOption{
			llb.SessionID(attrs[pb.AttrLocalSessionID]),
			llb.SharedKeyHint(name),
			dockerui.WithInternalName("stagefront: " + what),
			llb.Differ(llb.DiffNone, false),
		}, transfer(root)...)
		ref, err := b.solve(ctx, llb.Local(name, opts...))
		return ref, root, err
	}
	switch {
	case w.root:
		st, err := b.bc.MainContext(ctx)
		if err != nil {
			return nil, "", err
		}
		if _, _, ok := localSource(ctx, *st); !ok {
			return nil, "", errors.New("this Dockerfile came from standard input (-f -), inline or a URL, and its build context is no local directory to include from: write the fragment's context with --from=<name> and pass it with --build-context <name>=<dir>")
		}
		// The context's local as sent, without its .dockerignore: a
		// fragment is part of the Dockerfile, not of what it copies.
		return local(*st, ".")
	case w.from == "":
		if b.dockerfile == nil {
			return nil, "", errors.New("this build has no Dockerfile source to read fragments from")
		}
		if _, _, ok := localSource(ctx, *b.dockerfile); ok {
			// The local BuildKit read the Dockerfile from.
			return local(*b.dockerfile, b.dir)
		}
		ref, err := b.wholeSource(ctx, "", func() (*llb.State, error) { return b.dockerfile, nil })
		return ref, b.dir, err
	}
	from := w.from
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
		if notFound(err) {
			return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
		}
		// The source itself failed (a git ref that does not exist, a
		// host that does not answer): its own error, not "no file".
		return nil, err
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

// notFound reports whether err, of the file API of a snapshot, says that
// the path does not exist. The daemon sends its lstat error as text
// (ENOENT, or ENOTDIR for a path through a file).
func notFound(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || status.Code(err) == codes.NotFound {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOENT.Error()) || strings.Contains(msg, syscall.ENOTDIR.Error())
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
