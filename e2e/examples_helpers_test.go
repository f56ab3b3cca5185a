//go:build e2e

package e2e

// Helpers of examples_test.go: build an example of examples/ with the real
// user command (`docker buildx build --builder stagefront`), with the base
// images replaced by the stand-ins of hack/example-images through
// --build-context, and look at what came out.

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
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// exBuild describes one `docker buildx build` of an example.
type exBuild struct {
	// Example is the folder under examples/; Dir, when set, is a copy of it
	// to build instead (see exCopy).
	Example string
	Dir     string
	Target  string
	Args    map[string]string
	// Platforms, comma-joined into --platform when set.
	Platforms []string
	// Output is "" (the default: the result's files in exResult.Root,
	// unpacked from a type=tar export), "oci" (an OCI layout tarball, see exResult.OCI) or
	// "none" (no export: only the progress output; for images with the whole
	// Go toolchain, whose export takes long).
	Output string
	// Omit lists image names whose stand-in is NOT passed as a build context.
	Omit []string
	// Call is a --call subrequest (outline, targets, check); no output then.
	Call string
	// NoCache passes --no-cache.
	NoCache bool
	// Contexts are more named contexts (--build-context NAME=VALUE).
	Contexts map[string]string
}

// exResult is what a build left.
type exResult struct {
	Progress string        // the plain progress output (stdout and stderr)
	Root     string        // local output folder
	OCI      string        // OCI tarball
	Took     time.Duration // wall time of the build
}

var (
	exOnce     sync.Once
	exOnceErr  error
	exContexts map[string]string // image name -> docker-image://... stand-in
)

// exRepoRoot is the repository root (the e2e package's parent folder).
func exRepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the e2e folder")
	}
	return filepath.Dir(filepath.Dir(file))
}

// exSetup makes sure the builder answers and the stand-in images are in the
// local registry (hack/example-images, about a second when they are), once.
// A missing piece is a failure that says what to run, never a silent skip.
func exSetup(t testing.TB) {
	t.Helper()
	root := exRepoRoot(t)
	exOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // from nothing: about 2 minutes
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "buildx", "inspect", "stagefront").CombinedOutput(); err != nil {
			exOnceErr = fmt.Errorf("builder stagefront is not there (run hack/buildkit-up): %v\n%s", err, out)
			return
		}
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "example-images"))
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			exOnceErr = fmt.Errorf("hack/example-images failed: %v\n%s", err, buf.String())
			return
		}
		t.Logf("hack/example-images: %s", time.Since(t0).Round(time.Millisecond))
		out, err := exec.Command(filepath.Join(root, "hack", "example-images"), "--list").Output()
		if err != nil {
			exOnceErr = fmt.Errorf("hack/example-images --list: %v", err)
			return
		}
		exContexts = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if name, ref, ok := strings.Cut(line, "="); ok {
				exContexts[name] = ref
			}
		}
	})
	if exOnceErr != nil {
		t.Fatal(exOnceErr)
	}
}

// exRun builds b with the harness's Buildx (the user's command) and returns
// what came out; a failed build is returned as an error with the end of the
// progress output in it.
func exRun(t *testing.T, b exBuild) (*exResult, error) {
	t.Helper()
	exSetup(t)
	dir := b.Dir
	if dir == "" {
		dir = filepath.Join(exRepoRoot(t), "examples", b.Example)
	}
	o := Opts{
		Dir:           dir,
		BuildArgs:     b.Args,
		Platforms:     b.Platforms,
		Target:        b.Target,
		BuildContexts: map[string]string{},
		Call:          b.Call,
		Timeout:       10 * time.Minute,
	}
	for n, ref := range exContexts {
		if !exContains(b.Omit, n) {
			o.BuildContexts[n] = ref
		}
	}
	for n, ref := range b.Contexts {
		o.BuildContexts[n] = ref
	}
	var tarPath, root string
	switch {
	case b.Call != "" || b.Output == "none":
		o.Output = OutputNone
	case b.Output == "oci":
		o.Output = OutputOCI
	default:
		// A type=tar export, unpacked here: type=local exports of images
		// with many files (the python and golang stand-ins, ~10k files)
		// were seen to stall for good in the middle of "copying files".
		dir, err := os.MkdirTemp("", "stagefront-example-") // no commas: --output is CSV
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		tarPath, root = filepath.Join(dir, "result.tar"), filepath.Join(dir, "root")
		o.Output = OutputNone
		o.Args = append(o.Args, "--output", "type=tar,dest="+tarPath)
	}
	// EXAMPLES_NO_CACHE=1 builds every example step anew (for timing a
	// cold run, and so that every wantOutput sees the step's output)
	if b.NoCache || os.Getenv("EXAMPLES_NO_CACHE") == "1" {
		o.Args = append(o.Args, "--no-cache")
	}
	t0 := time.Now()
	r := Buildx(t, o)
	res := &exResult{
		Progress: r.Stdout + r.Progress,
		Root:     r.Dir,
		OCI:      r.OCI,
		Took:     time.Since(t0),
	}
	t.Logf("%s %s: %s", b.Example, exDescribe(b), res.Took.Round(time.Millisecond))
	if r.Err == nil && tarPath != "" {
		if err := exUntar(tarPath, root); err != nil {
			return res, fmt.Errorf("unpacking the result: %v", err)
		}
		os.Remove(tarPath)
		res.Root = root
	}
	return res, r.Err
}

// exUntar unpacks a type=tar export into dir: folders, files and symlinks
// (made as they are, never followed); hard links become copies; device
// nodes are skipped.
func exUntar(tarPath, dir string) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + h.Name)
		if name == "/" {
			continue
		}
		target := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			w, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(h.Mode).Perm()|0o200)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, tr)
			w.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			b, err := os.ReadFile(filepath.Join(dir, filepath.Clean("/"+h.Linkname)))
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, b, os.FileMode(h.Mode).Perm()|0o200); err != nil {
				return err
			}
		}
	}
}

// exMust builds b and fails the test if the build fails. While the frontend
// answers "not implemented", the test fails with that message.
func exMust(t *testing.T, b exBuild) *exResult {
	t.Helper()
	res, err := exRun(t, b)
	if err != nil {
		exSkipIfNotImplemented(t, res.Progress)
		t.Fatal(err)
	}
	return res
}

// exMustFail builds b and fails the test unless the build fails with every
// one of wants in its output.
func exMustFail(t *testing.T, b exBuild, wants ...string) *exResult {
	t.Helper()
	res, err := exRun(t, b)
	if err == nil {
		t.Fatalf("%s %s: the build succeeded, want a failure mentioning %q", b.Example, exDescribe(b), wants)
	}
	exSkipIfNotImplemented(t, res.Progress)
	for _, w := range wants {
		if !strings.Contains(res.Progress, w) {
			t.Errorf("%s %s: the failure does not mention %q:\n%s", b.Example, exDescribe(b), w, exTail(res.Progress, 40))
		}
	}
	return res
}

func exSkipIfNotImplemented(t *testing.T, progress string) {
	t.Helper()
	for _, line := range strings.Split(progress, "\n") {
		if strings.Contains(line, "not implemented") {
			t.Fatalf("the frontend says not implemented: %s", strings.TrimSpace(line))
		}
	}
}

func exDescribe(b exBuild) string {
	var parts []string
	if b.Target != "" {
		parts = append(parts, "--target "+b.Target)
	}
	keys := make([]string, 0, len(b.Args))
	for k := range b.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+b.Args[k])
	}
	if len(b.Platforms) > 0 {
		parts = append(parts, "--platform "+strings.Join(b.Platforms, ","))
	}
	if b.Call != "" {
		parts = append(parts, "--call "+b.Call)
	}
	if b.Dir != "" {
		parts = append(parts, "(modified copy)")
	}
	if len(parts) == 0 {
		return "(defaults)"
	}
	return strings.Join(parts, " ")
}

func exTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func exContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exStepLine matches a progress line that names a step of a stage:
// "#12 [builder 3/6] RUN npm ci", "#9 [linux/amd64->arm64 builder  3/12] RUN …".
var exStepLine = regexp.MustCompile(`^#\d+ \[(?:[^\] ]+/[^\] ]+ )?([A-Za-z0-9_.-]+) +\d+/\d+\] (.*)$`)

// exVertex is one step of the progress output.
type exVertex struct {
	Name   string
	Cached bool
	Logs   string
}

var exVertexLine = regexp.MustCompile(`^#(\d+) (.*)$`)
var exLogTime = regexp.MustCompile(`^\d+\.\d+ `)

// vertices parses the plain progress output into its steps.
func (r *exResult) vertices() []*exVertex {
	byID := map[string]*exVertex{}
	var order []*exVertex
	for _, line := range strings.Split(r.Progress, "\n") {
		m := exVertexLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, ok := byID[m[1]]
		if !ok {
			v = &exVertex{Name: m[2]}
			byID[m[1]] = v
			order = append(order, v)
			continue
		}
		switch {
		case m[2] == "CACHED":
			v.Cached = true
		case exLogTime.MatchString(m[2]):
			v.Logs += exLogTime.ReplaceAllString(m[2], "") + "\n"
		}
	}
	return order
}

// wantOutput checks that a step whose name contains step printed text. A
// step that came from the cache printed nothing this time: it passes (it
// is the same step, with the same inputs, that printed it before).
func (r *exResult) wantOutput(t *testing.T, step, text string) {
	t.Helper()
	found := false
	for _, v := range r.vertices() {
		if !strings.Contains(v.Name, step) {
			continue
		}
		found = true
		if v.Cached || strings.Contains(v.Logs, text) {
			return
		}
	}
	if !found {
		if r.usedCache() {
			t.Logf("no step %q in the progress output; the build used the cache, so it may have come from there", step)
			return
		}
		t.Errorf("no step %q in the build:\n%s", step, exTail(r.Progress, 40))
		return
	}
	t.Errorf("step %q did not print %q:\n%s", step, text, exTail(r.Progress, 40))
}

// Stages returns the stages that had at least one step in the build, with
// the steps' text, in order of first appearance.
func (r *exResult) Stages() map[string][]string {
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(r.Progress))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		if mm := exStepLine.FindStringSubmatch(sc.Text()); mm != nil {
			key := mm[1] + "\x00" + mm[2]
			if !seen[key] {
				seen[key] = true
				m[mm[1]] = append(m[mm[1]], mm[2])
			}
		}
	}
	return m
}

// wantStages checks that every stage of ran had a step in the build and no
// stage of notRan had one.
func (r *exResult) wantStages(t *testing.T, ran, notRan []string) {
	t.Helper()
	got := r.Stages()
	// When a later step is a cache hit, BuildKit does not even look at the
	// steps it was made from, so they are not in the progress output: with a
	// warm cache a missing stage proves nothing. (EXAMPLES_NO_CACHE=1 makes
	// every build cold, and every check here strict.)
	for _, s := range ran {
		if _, ok := got[s]; !ok {
			if r.usedCache() {
				t.Logf("stage %q is not in the progress output; the build used the cache, so it may have come from there", s)
				continue
			}
			t.Errorf("stage %q did not run; stages that ran: %v", s, exKeys(got))
		}
	}
	for _, s := range notRan {
		if steps, ok := got[s]; ok {
			t.Errorf("stage %q ran, want it left out; its steps: %q", s, steps)
		}
	}
}

// usedCache reports whether any step of the build was a cache hit.
func (r *exResult) usedCache() bool {
	for _, v := range r.vertices() {
		if v.Cached {
			return true
		}
	}
	return false
}

// wantStep checks that some step of stage contains text (or, with want
// false, that none does). A stage missing from the progress output of a
// build that used the cache proves nothing (see wantStages).
func (r *exResult) wantStep(t *testing.T, stage, text string, want bool) {
	t.Helper()
	steps, seen := r.Stages()[stage]
	found := false
	for _, s := range steps {
		if strings.Contains(s, text) {
			found = true
		}
	}
	if want && !seen && r.usedCache() {
		t.Logf("stage %q is not in the progress output; the build used the cache, so it may have come from there", stage)
		return
	}
	if found != want {
		t.Errorf("stage %q has a step containing %q: %v, want %v; its steps: %q", stage, text, found, want, r.Stages()[stage])
	}
}

// wantLog checks that the progress output contains text (or not).
func (r *exResult) wantLog(t *testing.T, text string, want bool) {
	t.Helper()
	if strings.Contains(r.Progress, text) != want {
		t.Errorf("progress output contains %q: %v, want %v\n%s", text, !want, want, exTail(r.Progress, 40))
	}
}

func exKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// path joins rel (an absolute path inside the image) to the local output.
func (r *exResult) path(rel string) string {
	return filepath.Join(r.Root, filepath.FromSlash(rel))
}

// wantFile checks that the image has rel, and that it contains each of
// contains; it returns the content.
func (r *exResult) wantFile(t *testing.T, rel string, contains ...string) string {
	t.Helper()
	b, err := os.ReadFile(r.path(rel))
	if err != nil {
		t.Errorf("want %s in the image: %v", rel, err)
		return ""
	}
	for _, c := range contains {
		if !strings.Contains(string(b), c) {
			t.Errorf("%s does not contain %q:\n%s", rel, c, exTail(string(b), 20))
		}
	}
	return string(b)
}

// wantNo checks that the image has no rel.
func (r *exResult) wantNo(t *testing.T, rel string) {
	t.Helper()
	if _, err := os.Lstat(r.path(rel)); err == nil {
		t.Errorf("want no %s in the image, but it is there", rel)
	}
}

// glob returns the paths inside the image that match pattern.
func (r *exResult) glob(pattern string) []string {
	m, _ := filepath.Glob(r.path(pattern))
	for i := range m {
		m[i] = "/" + filepath.ToSlash(strings.TrimPrefix(m[i], r.Root+string(filepath.Separator)))
	}
	return m
}

// exCopy copies the example into a temporary folder and applies edit to it,
// so a test can build a variant (a failing test, a missing file) without
// touching examples/.
func exCopy(t *testing.T, example string, edit func(dir string)) string {
	t.Helper()
	src := filepath.Join(exRepoRoot(t), "examples", example)
	dst := filepath.Join(t.TempDir(), example)
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	edit(dst)
	return dst
}

// exImage is what exOCI reads from an OCI layout tarball.
type exImage struct {
	Compressed   int64 // the layers as stored and pulled
	Uncompressed int64 // the layers unpacked (what `docker images` shows)
	Layers       int
	Config       struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Env        []string          `json:"Env"`
			Labels     map[string]string `json:"Labels"`
			Cmd        []string          `json:"Cmd"`
			Entrypoint []string          `json:"Entrypoint"`
			User       string            `json:"User"`
		} `json:"config"`
	}
}

// exOCI reads the single-platform image of an OCI layout tarball.
func exOCI(t *testing.T, tarPath string) exImage {
	t.Helper()
	blobs := ReadTar(t, tarPath)
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	blob := func(d desc) []byte {
		b, ok := blobs["blobs/"+strings.Replace(d.Digest, ":", "/", 1)]
		if !ok {
			t.Fatalf("%s: blob %s missing", tarPath, d.Digest)
		}
		return b
	}
	var index struct{ Manifests []desc }
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		t.Fatalf("%s: bad index.json: %v", tarPath, err)
	}
	d := index.Manifests[0]
	var manifest struct {
		Manifests []desc
		Config    desc
		Layers    []desc
	}
	for {
		if err := json.Unmarshal(blob(d), &manifest); err != nil {
			t.Fatal(err)
		}
		if len(manifest.Manifests) == 0 {
			break
		}
		d = manifest.Manifests[0] // a nested index: take its first image
		manifest.Manifests = nil
	}
	var img exImage
	if err := json.Unmarshal(blob(manifest.Config), &img.Config); err != nil {
		t.Fatal(err)
	}
	for _, l := range manifest.Layers {
		img.Layers++
		img.Compressed += l.Size
		data := blob(l)
		var r io.Reader = bytes.NewReader(data)
		if strings.Contains(l.MediaType, "gzip") {
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			t.Fatal(err)
		}
		img.Uncompressed += n
	}
	return img
}

func exMB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
