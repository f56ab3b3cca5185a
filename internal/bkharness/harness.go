// Package bkharness is stagefront's one BuildKit test harness: the e2e
// suite (e2e/), the gateway's own end-to-end tests (frontend/builder) and
// the benchmarks (bench/run) build through it. It drives the real BuildKit
// that hack/buildkit-up starts (buildkitd on unix:///run/stagefront/buildkitd.sock,
// a registry on localhost:5000 that buildkitd uses as the docker.io mirror,
// and the docker buildx builder "stagefront"), with the frontend image that
// hack/push-frontend pushed; $STAGEFRONT_BUILDKIT_ADDR and
// $STAGEFRONT_BUILDER point it at another daemon (see Addr). The e2e suite
// runs with hack/e2e, the benchmarks with hack/bench.
//
// Three ways to build, all taking the same Opts and returning a Result:
//
//   - Buildctl: `buildctl build --frontend dockerfile.v0`, which forwards to
//     the Dockerfile's `# syntax=` image, like BuildKit's own tests.
//   - Buildx: `docker buildx build --builder stagefront`, the user's command.
//   - InProcessWith: a gateway BuildFunc (stagefront's builder.Build) run
//     in this process through client.Build (no image needed: quickest to
//     iterate on the gateway).
//
// The functions take a TB: a *testing.T or B, or the benchmark program's
// own (Fatal ends the measurement).
package bkharness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/opencontainers/go-digest"
	"github.com/org/stagefront/internal/registry"
	"github.com/tonistiigi/fsutil"
)

// TB is what the harness needs of a test: testing.TB has it.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}

// The environment hack/buildkit-up and hack/push-frontend set up.
const (
	BuildkitAddr = "unix:///run/stagefront/buildkitd.sock"
	BuilderName  = "stagefront"
	Registry     = "localhost:5000"

	// BusyboxImage is Debian's busybox-static as an image (linux/amd64): the
	// base for tests that RUN something.
	BusyboxImage = Registry + "/stagefront-test/busybox:latest"
	// GolangImage is the host's Go toolchain on BusyboxImage.
	GolangImage = Registry + "/stagefront-test/golang:1.26"
	// FrontendImage is stagefront built from the working tree; docker.io
	// resolves through the local registry, so `# syntax=org/stagefront`
	// selects it.
	FrontendImage = Registry + "/org/stagefront:latest"
	// FrontendLabsImage is its labs channel (built with upstream's labs
	// tags): `# syntax=org/stagefront:labs`.
	FrontendLabsImage = Registry + "/org/stagefront:labs"
	// UpstreamImage is upstream's dockerfile frontend of the BuildKit version
	// in go.mod: `# syntax=docker/dockerfile:upstream`; UpstreamLabsImage its
	// labs channel.
	UpstreamImage     = Registry + "/docker/dockerfile:upstream"
	UpstreamLabsImage = Registry + "/docker/dockerfile:upstream-labs"

	SyntaxStagefront     = "# syntax=org/stagefront"
	SyntaxStagefrontLabs = "# syntax=org/stagefront:labs"
	SyntaxUpstream       = "# syntax=docker/dockerfile:upstream"
	SyntaxUpstreamLabs   = "# syntax=docker/dockerfile:upstream-labs"
)

// The daemon the harness builds on is BuildkitAddr with the buildx builder
// BuilderName unless these are set (hack/buildkit-old sets both, to run
// the core e2e checks on an older BuildKit beside the current one).
const (
	EnvBuildkitAddr = "STAGEFRONT_BUILDKIT_ADDR" // e.g. unix:///run/stagefront/buildkitd-old.sock
	EnvBuilder      = "STAGEFRONT_BUILDER"       // the docker buildx builder on that daemon
)

// Addr is the buildkitd address the harness builds on: $STAGEFRONT_BUILDKIT_ADDR,
// else BuildkitAddr.
func Addr() string {
	if a := os.Getenv(EnvBuildkitAddr); a != "" {
		return a
	}
	return BuildkitAddr
}

// Builder is the docker buildx builder Buildx uses: $STAGEFRONT_BUILDER,
// else BuilderName.
func Builder() string {
	if b := os.Getenv(EnvBuilder); b != "" {
		return b
	}
	return BuilderName
}

var (
	builderOnce sync.Once
	builderErr  error
)

// checkBuilder makes sure that buildctl, in-process builds and buildx all
// reach the same daemon: when the address is overridden, the builder must
// be too, and it must point at that address.
func checkBuilder() error {
	builderOnce.Do(func() {
		if Addr() == BuildkitAddr && Builder() == BuilderName {
			return
		}
		if os.Getenv(EnvBuilder) == "" || os.Getenv(EnvBuildkitAddr) == "" {
			builderErr = fmt.Errorf("set both %s and %s (%s=%q, %s=%q): buildctl and buildx would build on different daemons",
				EnvBuildkitAddr, EnvBuilder, EnvBuildkitAddr, os.Getenv(EnvBuildkitAddr), EnvBuilder, os.Getenv(EnvBuilder))
			return
		}
		out, err := exec.Command("docker", "buildx", "inspect", Builder()).CombinedOutput()
		if err != nil {
			builderErr = fmt.Errorf("docker buildx inspect %s: %v\n%s", Builder(), err, out)
			return
		}
		if !regexp.MustCompile(`(?m)^Endpoint:\s+` + regexp.QuoteMeta(Addr()) + `\s*$`).Match(out) {
			builderErr = fmt.Errorf("buildx builder %s (%s) does not build on %s=%s:\n%s", Builder(), EnvBuilder, EnvBuildkitAddr, Addr(), out)
		}
	})
	return builderErr
}

// Busybox is the named context that substitutes the `busybox` base of a
// test Dockerfile with BusyboxImage, so Dockerfiles keep a real base name.
var Busybox = map[string]string{"busybox": "docker-image://" + BusyboxImage}

// Output kinds for Opts.Output.
const (
	OutputLocal = "local" // type=local: files in Result.Dir (the default)
	OutputOCI   = "oci"   // type=oci: an OCI layout tarball at Result.OCI
	OutputNone  = "none"  // no export (--call, or only the outcome matters)
)

// Opts describes one build.
type Opts struct {
	// Dockerfile is the Dockerfile's text. Written to <context>/Dockerfile
	// unless Files or Dir already has one and Dockerfile is empty.
	Dockerfile string
	// Files are more files of the build context: relative path -> content.
	Files map[string]string
	// Dir is an existing build context directory (e.g. ../examples/x). It is
	// copied to a temp dir when Files or Dockerfile are also given.
	Dir string
	// Filename is the Dockerfile's name in the context (default "Dockerfile").
	Filename string
	// DockerfileDir holds the Dockerfile when it is not in the context
	// (Buildctl, Buildx).
	DockerfileDir string

	BuildArgs map[string]string
	// Platforms, e.g. []string{"linux/amd64", "linux/arm64"}.
	Platforms []string
	Target    string
	// BuildContexts are named contexts: name -> value
	// ("docker-image://...", "oci-layout://...", a directory, ...).
	BuildContexts map[string]string

	Output string // OutputLocal (default), OutputOCI or OutputNone

	// Call is buildx's --call (outline, targets, lint, ...): Buildx prints
	// the answer to Result.Stdout, InProcess puts it in Result.Metadata
	// (requestid=frontend.<Call>; buildx's "check" is "lint" there).
	Call string
	// Progress is "plain" (default) or "rawjson"; Result.Vertices parses both.
	Progress string
	// FrontendOpts are extra frontend options (buildctl --opt k=v, in-process
	// FrontendAttrs); for buildx they become no flags, use Args.
	FrontendOpts map[string]string
	// Locals are more local directories by name, for named contexts such
	// as "context:extra=local:extra" (Buildctl, InProcessWith).
	Locals map[string]string
	// Args are extra arguments for the command line (Buildctl, Buildx).
	Args []string
	// Env adds environment variables to the command (Buildctl, Buildx).
	Env []string
	// Stdin is the command's standard input (Buildctl, Buildx), as for
	// docker buildx build -f -.
	Stdin string
	// ContextURL is a remote build context (a git or https URL) given to
	// buildx instead of the context directory (Buildx).
	ContextURL string
	// Timeout of this build (default 5 minutes).
	Timeout time.Duration
}

// Result is what a build left.
type Result struct {
	// ContextDir is the build context used.
	ContextDir string
	// Dir holds the local export (OutputLocal). A multi-platform build puts
	// each platform in a subdirectory named like linux_amd64.
	Dir string
	// OCI is the OCI layout tarball (OutputOCI).
	OCI string
	// Stdout of the command (buildx --call prints there).
	Stdout string
	// Progress is the progress stream (stderr of the command, or the
	// in-process statuses rendered one line per event).
	Progress string
	// Statuses are the in-process solve statuses (InProcess), or those
	// parsed from --progress=rawjson.
	Statuses []*client.SolveStatus
	// Metadata is the in-process result's metadata (InProcess): for a
	// subrequest (Opts.Call) the answer is in "result.json" / "result.txt".
	Metadata map[string][]byte
	// Err is the build's error; nil when it succeeded.
	Err error
	// Took is how long the build took, end to end.
	Took time.Duration
}

// RepoRoot is the repository root (the directory with go.mod above e2e/).
func RepoRoot(t TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// toolPath finds buildctl in the repo's .cache/bin first, then in PATH.
func toolPath(t TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), ".cache", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run hack/buildkit-up", name)
	}
	return p
}

// prepare lays out the build context and output paths.
func prepare(t TB, o *Opts) (ctxDir string, r *Result) {
	t.Helper()
	if o.Filename == "" {
		o.Filename = "Dockerfile"
	}
	if o.Output == "" {
		o.Output = OutputLocal
	}
	if o.Progress == "" {
		o.Progress = "plain"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	ctxDir = o.Dir
	if ctxDir == "" || len(o.Files) > 0 || o.Dockerfile != "" {
		ctxDir = t.TempDir()
		if o.Dir != "" {
			if err := os.CopyFS(ctxDir, os.DirFS(o.Dir)); err != nil {
				t.Fatalf("copy %s: %v", o.Dir, err)
			}
		}
		files := map[string]string{}
		for k, v := range o.Files {
			files[k] = v
		}
		if o.Dockerfile != "" {
			files[o.Filename] = o.Dockerfile
		}
		WriteFiles(t, ctxDir, files)
	}
	out := t.TempDir()
	r = &Result{ContextDir: ctxDir}
	switch o.Output {
	case OutputLocal:
		r.Dir = filepath.Join(out, "local")
	case OutputOCI:
		r.OCI = filepath.Join(out, "image.tar")
	case OutputNone:
	default:
		t.Fatalf("unknown output %q", o.Output)
	}
	return ctxDir, r
}

// dockerfileDir is where the Dockerfile of a build is.
func dockerfileDir(ctxDir string, o Opts) string {
	if o.DockerfileDir != "" {
		return o.DockerfileDir
	}
	return ctxDir
}

// WriteFiles writes relative path -> content under dir.
func WriteFiles(t TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Buildctl runs `buildctl build --frontend dockerfile.v0`: the Dockerfile's
// `# syntax=` line picks the frontend image.
func Buildctl(t TB, o Opts) *Result {
	t.Helper()
	if err := checkBuilder(); err != nil {
		t.Fatal(err)
	}
	if o.Call != "" {
		t.Fatalf("Opts.Call is for Buildx; with buildctl use FrontendOpts requestid=frontend.%s", o.Call)
	}
	ctxDir, r := prepare(t, &o)
	args := buildctlArgs(Addr(), ctxDir, r, o)
	run(t, r, o, toolPath(t, "buildctl"), args)
	return r
}

// buildctlArgs is the command line of buildctl build on the daemon at
// addr for o, with the context ctxDir and r's outputs.
func buildctlArgs(addr, ctxDir string, r *Result, o Opts) []string {
	args := []string{"--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctxDir, "--local", "dockerfile=" + dockerfileDir(ctxDir, o),
		"--progress=" + o.Progress}
	if o.Filename != "Dockerfile" {
		args = append(args, "--opt", "filename="+o.Filename)
	}
	for _, k := range sortedKeys(o.BuildArgs) {
		args = append(args, "--opt", "build-arg:"+k+"="+o.BuildArgs[k])
	}
	if len(o.Platforms) > 0 {
		args = append(args, "--opt", "platform="+strings.Join(o.Platforms, ","))
	}
	if o.Target != "" {
		args = append(args, "--opt", "target="+o.Target)
	}
	for _, k := range sortedKeys(o.BuildContexts) {
		args = append(args, "--opt", "context:"+k+"="+o.BuildContexts[k])
	}
	for _, k := range sortedKeys(o.FrontendOpts) {
		args = append(args, "--opt", k+"="+o.FrontendOpts[k])
	}
	switch o.Output {
	case OutputLocal:
		args = append(args, "--output", "type=local,dest="+r.Dir)
	case OutputOCI:
		args = append(args, "--output", "type=oci,dest="+r.OCI)
	}
	for _, k := range sortedKeys(o.Locals) {
		args = append(args, "--local", k+"="+o.Locals[k])
	}
	return append(args, o.Args...)
}

// Buildx runs `docker buildx build --builder stagefront` (Builder()), as a
// user would.
// Default attestations are off (BUILDX_NO_DEFAULT_ATTESTATIONS=1) so the
// export holds only the image's files; set Env to change that.
func Buildx(t TB, o Opts) *Result {
	t.Helper()
	if err := checkBuilder(); err != nil {
		t.Fatal(err)
	}
	ctxDir, r := prepare(t, &o)
	args := []string{"buildx", "build", "--builder", Builder(),
		"--progress=" + o.Progress, "-f", filepath.Join(dockerfileDir(ctxDir, o), o.Filename)}
	args = append(args, buildFlags(o)...)
	switch o.Output {
	case OutputLocal:
		args = append(args, "--output", "type=local,dest="+r.Dir)
	case OutputOCI:
		args = append(args, "--output", "type=oci,dest="+r.OCI)
	}
	args = append(args, o.Args...)
	if o.ContextURL != "" {
		args = append(args, o.ContextURL)
	} else {
		args = append(args, ctxDir)
	}
	o.Env = append([]string{"BUILDX_NO_DEFAULT_ATTESTATIONS=1"}, o.Env...)
	run(t, r, o, "docker", args)
	return r
}

// buildFlags are the docker build flags of o's build args, platforms,
// target, named contexts and --call.
func buildFlags(o Opts) []string {
	var args []string
	for _, k := range sortedKeys(o.BuildArgs) {
		args = append(args, "--build-arg", k+"="+o.BuildArgs[k])
	}
	if len(o.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(o.Platforms, ","))
	}
	if o.Target != "" {
		args = append(args, "--target", o.Target)
	}
	for _, k := range sortedKeys(o.BuildContexts) {
		args = append(args, "--build-context", k+"="+o.BuildContexts[k])
	}
	if o.Call != "" {
		args = append(args, "--call", o.Call)
	}
	return args
}

func run(t TB, r *Result, o Opts, name string, args []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	// docker runs buildx as a child process: on timeout kill the whole
	// process group, and don't wait forever for pipes a child still holds.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if o.Stdin != "" {
		cmd.Stdin = strings.NewReader(o.Stdin)
	}
	start := time.Now()
	err := cmd.Run()
	r.Took = time.Since(start)
	r.Stdout, r.Progress = stdout.String(), stderr.String()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s (Opts.Timeout): %w", o.Timeout, err)
		}
		r.Err = fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, Tail(r.Progress, 60))
	}
	if o.Progress == "rawjson" {
		r.Statuses = parseRawJSON(r.Progress)
	}
	t.Logf("%s build (%s): %v in %s", filepath.Base(name), o.Output, errOrOK(err), time.Since(start).Round(time.Millisecond))
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func parseRawJSON(s string) []*client.SolveStatus {
	var out []*client.SolveStatus
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ss client.SolveStatus
		if json.Unmarshal(line, &ss) == nil {
			out = append(out, &ss)
		}
	}
	return out
}

// InProcessWith runs the gateway BuildFunc f (stagefront's builder.Build,
// or upstream's for side-by-side checks without images) in this process
// against the real buildkitd (client.Build with LocalMounts), like
// BuildKit's own "client" test mode. The `# syntax=` line is not followed
// here (nothing forwards from our own Build), so it may stay in the
// Dockerfile.
func InProcessWith(t TB, o Opts, f gateway.BuildFunc) *Result {
	t.Helper()
	if err := checkBuilder(); err != nil {
		t.Fatal(err)
	}
	r, _ := InProcessOn(context.Background(), t, Addr(), o, f)
	return r
}

// InProcessOn is InProcessWith on the daemon at addr, under ctx: cancel
// it to cancel the build as a client does (Ctrl-C in buildx). Returned
// is also when f returned (zero when it was never called).
func InProcessOn(ctx context.Context, t TB, addr string, o Opts, f gateway.BuildFunc) (r *Result, fReturned time.Time) {
	t.Helper()
	ctxDir, r := prepare(t, &o)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		t.Fatalf("client.New(%s): %v", addr, err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(ctxDir)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	if o.Filename != "Dockerfile" {
		attrs["filename"] = o.Filename
	}
	for k, v := range o.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	if len(o.Platforms) > 0 {
		attrs["platform"] = strings.Join(o.Platforms, ",")
	}
	if o.Target != "" {
		attrs["target"] = o.Target
	}
	for k, v := range o.BuildContexts {
		attrs["context:"+k] = v
	}
	for k, v := range o.FrontendOpts {
		attrs[k] = v
	}
	if o.Call != "" {
		attrs["requestid"] = "frontend." + o.Call
	}
	opt := client.SolveOpt{
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
	}
	for name, dir := range o.Locals {
		lfs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		opt.LocalMounts[name] = lfs
	}
	switch o.Output {
	case OutputLocal:
		opt.Exports = []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: r.Dir}}
	case OutputOCI:
		opt.Exports = []client.ExportEntry{{Type: client.ExporterOCI, Output: func(map[string]string) (io.WriteCloser, error) {
			return os.Create(r.OCI)
		}}}
	}

	ch := make(chan *client.SolveStatus)
	var wg sync.WaitGroup
	var progress strings.Builder
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ss := range ch {
			r.Statuses = append(r.Statuses, ss)
			renderStatus(&progress, ss)
		}
	}()
	start := time.Now()
	var mu sync.Mutex
	_, err = c.Build(ctx, opt, "", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		res, err := f(ctx, gc)
		mu.Lock()
		fReturned = time.Now()
		if res != nil {
			r.Metadata = res.Metadata
		}
		mu.Unlock()
		return res, err
	}, ch)
	wg.Wait()
	r.Took = time.Since(start)
	r.Progress = progress.String()
	if err != nil {
		r.Err = fmt.Errorf("in-process build: %w", err)
	}
	t.Logf("in-process build on %s (%s): %v in %s", addr, o.Output, errOrOK(err), r.Took.Round(time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	return r, fReturned
}

// renderStatus writes a plain-ish line per event, enough to grep.
func renderStatus(w io.Writer, ss *client.SolveStatus) {
	for _, v := range ss.Vertexes {
		switch {
		case v.Error != "":
			fmt.Fprintf(w, "%s ERROR %s: %s\n", v.Digest, v.Name, v.Error)
		case v.Cached:
			fmt.Fprintf(w, "%s CACHED %s\n", v.Digest, v.Name)
		case v.Completed != nil:
			fmt.Fprintf(w, "%s DONE %s\n", v.Digest, v.Name)
		case v.Started != nil:
			fmt.Fprintf(w, "%s START %s\n", v.Digest, v.Name)
		}
	}
	for _, l := range ss.Logs {
		fmt.Fprintf(w, "%s LOG %s", l.Vertex, l.Data)
	}
	for _, wn := range ss.Warnings {
		fmt.Fprintf(w, "%s WARN %s\n", wn.Vertex, wn.Short)
	}
}

// Must fails the test when the build failed, showing its progress.
func (r *Result) Must(t TB) *Result {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("build failed: %v", r.Err)
	}
	return r
}

// MustFail fails the test when the build succeeded, and returns the error
// text together with the progress stream (where buildx prints the user's
// lines).
func (r *Result) MustFail(t TB) string {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("build succeeded, want an error; progress:\n%s", Tail(r.Progress, 40))
	}
	return r.Err.Error() + "\n" + r.Progress
}

// File returns the content of a file of the local export (for a
// multi-platform build, name it under its platform dir: "linux_arm64/x").
func (r *Result) File(t TB, name string) string {
	t.Helper()
	if r.Dir == "" {
		t.Fatal("no local export (Opts.Output is not OutputLocal)")
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("exported file %s: %v (exported: %v)", name, err, r.Files(t))
	}
	return string(b)
}

// HasFile reports whether the local export has that path (file or dir).
func (r *Result) HasFile(name string) bool {
	if r.Dir == "" {
		return false
	}
	_, err := os.Lstat(filepath.Join(r.Dir, filepath.FromSlash(name)))
	return err == nil
}

// Files lists the local export: slash-separated paths, directories with a
// trailing "/", sorted.
func (r *Result) Files(t TB) []string {
	t.Helper()
	if r.Dir == "" {
		return nil
	}
	var out []string
	err := filepath.WalkDir(r.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == r.Dir {
			return err
		}
		rel, _ := filepath.Rel(r.Dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Tree is the local export as path -> content (directories: "<dir>",
// symlinks: "-> target"), for comparing two builds.
func (r *Result) Tree(t TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range r.Files(t) {
		p := filepath.Join(r.Dir, filepath.FromSlash(strings.TrimSuffix(f, "/")))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case fi.IsDir():
			out[f] = "<dir>"
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[f] = "-> " + l
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[f] = fmt.Sprintf("%s %s", fi.Mode().Perm(), b)
		}
	}
	return out
}

// Vertex is one step of the build as the progress stream showed it.
type Vertex struct {
	Name   string
	Cached bool
	// Completed is true when the step finished (statuses only).
	Completed bool
	Error     string
}

var plainVertex = regexp.MustCompile(`^#(\d+) (.*)$`)

// Vertices lists the build's steps, in order of first appearance, from the
// statuses (InProcess, rawjson) or else from --progress=plain output.
func (r *Result) Vertices() []Vertex {
	var out []Vertex
	if len(r.Statuses) > 0 {
		idx := map[string]int{}
		for _, ss := range r.Statuses {
			for _, v := range ss.Vertexes {
				i, ok := idx[v.Digest.String()]
				if !ok {
					i = len(out)
					idx[v.Digest.String()] = i
					out = append(out, Vertex{Name: v.Name})
				}
				out[i].Cached = out[i].Cached || v.Cached
				out[i].Completed = out[i].Completed || v.Completed != nil
				if v.Error != "" {
					out[i].Error = v.Error
				}
			}
		}
		return out
	}
	idx := map[string]int{}
	for _, line := range strings.Split(r.Progress, "\n") {
		m := plainVertex.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, rest := m[1], m[2]
		i, ok := idx[id]
		if !ok {
			idx[id] = len(out)
			out = append(out, Vertex{Name: rest})
			continue
		}
		switch {
		case rest == "CACHED":
			out[i].Cached = true
		case strings.HasPrefix(rest, "ERROR: "):
			out[i].Error = strings.TrimPrefix(rest, "ERROR: ")
		}
	}
	return out
}

// Ran reports whether a step whose name contains substr is in the build's
// graph: the progress shows it, run or cached (for example "[docs " for any
// step of stage docs). A stage that never runs has no step at all.
func (r *Result) Ran(substr string) bool {
	for _, v := range r.Vertices() {
		if strings.Contains(v.Name, substr) {
			return true
		}
	}
	return false
}

// Executed is Ran, but only for steps that really executed (not cached).
func (r *Result) Executed(substr string) bool {
	for _, v := range r.Vertices() {
		if strings.Contains(v.Name, substr) && !v.Cached {
			return true
		}
	}
	return false
}

// FirstLine returns the first line of s.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// OCIImage is one platform's image of an OCI export.
type OCIImage struct {
	Platform string // os/arch[/variant]
	Config   struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Env        []string          `json:"Env"`
			Entrypoint []string          `json:"Entrypoint"`
			Cmd        []string          `json:"Cmd"`
			WorkingDir string            `json:"WorkingDir"`
			Labels     map[string]string `json:"Labels"`
		} `json:"config"`
		History []struct {
			CreatedBy  string `json:"created_by"`
			EmptyLayer bool   `json:"empty_layer"`
		} `json:"history"`
	}
	// Files is the flattened filesystem: path (no leading /) -> content;
	// directories map to "<dir>", symlinks to "-> target".
	Files map[string]string
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

// ReadTar returns the regular files of a tarball (an OCI layout export),
// by path.
func ReadTar(t TB, path string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

// ociBlobs reads the OCI tarball export: its files, and its blobs by
// digest.
func (r *Result) ociBlobs(t TB) (map[string][]byte, func(dgst string) []byte) {
	t.Helper()
	if r.OCI == "" {
		t.Fatal("no OCI export (Opts.Output is not OutputOCI)")
	}
	blobs := ReadTar(t, r.OCI)
	return blobs, func(dgst string) []byte {
		b, ok := blobs["blobs/"+strings.Replace(dgst, ":", "/", 1)]
		if !ok {
			t.Fatalf("OCI export lacks blob %s", dgst)
		}
		return b
	}
}

// OCIImages reads the OCI tarball export: one OCIImage per platform
// (attestation manifests are left out).
func (r *Result) OCIImages(t TB) []OCIImage {
	t.Helper()
	blobs, blob := r.ociBlobs(t)
	return readImages(t, blobs["index.json"], blob, blob, true)
}

// Attestations reads the in-toto statements of the OCI tarball export's
// attestation manifests (provenance, SBOM), as decoded JSON.
func (r *Result) Attestations(t TB) []map[string]any {
	t.Helper()
	blobs, blob := r.ociBlobs(t)
	var out []map[string]any
	var walk func(raw []byte)
	walk = func(raw []byte) {
		var m ociIndex
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for _, d := range m.Manifests {
			if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
				walk(blob(d.Digest))
				continue
			}
			var am ociIndex
			if err := json.Unmarshal(blob(d.Digest), &am); err != nil {
				t.Fatal(err)
			}
			for _, l := range am.Layers {
				var st map[string]any
				if err := json.Unmarshal(blob(l.Digest), &st); err != nil {
					t.Fatalf("attestation layer %s: %v", l.Digest, err)
				}
				out = append(out, st)
			}
		}
	}
	walk(blobs["index.json"])
	return out
}

// RegistryImages reads the image ref (repo:tag of the local registry, as
// "org/stagefront:1") from the registry: one OCIImage per platform, with
// its config and no files.
func RegistryImages(t TB, ref string) []OCIImage {
	t.Helper()
	repo, tag, _ := strings.Cut(ref, ":")
	c := registry.Client{Host: Registry}
	ctx := context.Background()
	top, _, err := c.Manifest(ctx, repo, tag)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	manifest := func(d string) []byte {
		b, _, err := c.Manifest(ctx, repo, d)
		if err != nil {
			t.Fatalf("registry: %v", err)
		}
		return b
	}
	blob := func(d string) []byte {
		b, err := c.Blob(ctx, repo, digest.Digest(d))
		if err != nil {
			t.Fatalf("registry: %v", err)
		}
		return b
	}
	return readImages(t, top, manifest, blob, false)
}

// readImages walks an index or manifest (raw), reading manifests and
// blobs by digest, into one OCIImage per platform; withFiles applies the
// layers.
func readImages(t TB, raw []byte, manifest, blob func(dgst string) []byte, withFiles bool) []OCIImage {
	t.Helper()
	var images []OCIImage
	var walk func(raw []byte, platform string)
	walk = func(raw []byte, platform string) {
		var m ociIndex
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) > 0 {
			for _, d := range m.Manifests {
				if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
					continue
				}
				p := platform
				if d.Platform != nil {
					p = d.Platform.OS + "/" + d.Platform.Architecture
					if d.Platform.Variant != "" {
						p += "/" + d.Platform.Variant
					}
				}
				walk(manifest(d.Digest), p)
			}
			return
		}
		img := OCIImage{Platform: platform, Files: map[string]string{}}
		if err := json.Unmarshal(blob(m.Config.Digest), &img.Config); err != nil {
			t.Fatal(err)
		}
		if img.Platform == "" {
			img.Platform = img.Config.OS + "/" + img.Config.Architecture
		}
		if withFiles {
			for _, l := range m.Layers {
				applyLayer(t, img.Files, blob(l.Digest), l.MediaType)
			}
		}
		images = append(images, img)
	}
	walk(raw, "")
	return images
}

// OCIImage returns the export's image for one platform (or the only one
// when platform is "").
func (r *Result) OCIImage(t TB, platform string) OCIImage {
	t.Helper()
	imgs := r.OCIImages(t)
	var names []string
	for _, img := range imgs {
		if platform == "" && len(imgs) == 1 || img.Platform == platform {
			return img
		}
		names = append(names, img.Platform)
	}
	t.Fatalf("OCI export has no image for %q (has %v)", platform, names)
	return OCIImage{}
}

func applyLayer(t TB, files map[string]string, b []byte, mediaType string) {
	t.Helper()
	var rd io.Reader = bytes.NewReader(b)
	if strings.Contains(mediaType, "gzip") || (len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b) {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			t.Fatal(err)
		}
		rd = zr
	} else if strings.Contains(mediaType, "zstd") {
		t.Fatalf("zstd layers are not read by this helper")
	}
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+h.Name), "/"), "/")
		dir, base := path.Split(name)
		if base == ".wh..wh..opq" {
			for k := range files {
				if strings.HasPrefix(k, dir) {
					delete(files, k)
				}
			}
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			gone := dir + strings.TrimPrefix(base, ".wh.")
			for k := range files {
				if k == gone || strings.HasPrefix(k, gone+"/") {
					delete(files, k)
				}
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			files[name] = "<dir>"
		case tar.TypeSymlink:
			files[name] = "-> " + h.Linkname
		case tar.TypeLink:
			files[name] = files[strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")]
		default:
			c, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = string(c)
		}
	}
}
