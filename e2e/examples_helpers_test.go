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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// exampleBuild describes one `docker buildx build` of an example.
type exampleBuild struct {
	// Example is the folder under examples/; Dir, when set, is a copy of it
	// to build instead (see copyExample).
	Example string
	Dir     string
	Target  string
	Args    map[string]string
	// Platforms, comma-joined into --platform when set.
	Platforms []string
	// Output is "" (the default: the result's files in exampleResult.Root,
	// unpacked from a type=tar export), "oci" (an OCI layout tarball, see exampleResult.OCI) or
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
	// Ran are the stages the test checks ran (and what they printed):
	// built anew (--no-cache-filter), so that their steps run whatever
	// the cache holds. The last stage built belongs here too when the
	// test checks that a stage did not run: rebuilt, it makes BuildKit
	// walk its whole graph, and a stage in it shows, cached or not.
	Ran []string
}

// exampleResult is what a build left.
type exampleResult struct {
	Progress string        // the plain progress output (stdout and stderr)
	Root     string        // local output folder
	OCI      string        // OCI tarball
	Took     time.Duration // wall time of the build
	ran      []string      // the build's Ran
}

var (
	standinsOnce    sync.Once
	standinsErr     error
	standinContexts map[string]string // image name -> docker-image://... stand-in
)

// setupExamples makes sure the builder answers and the stand-in images are in the
// local registry (hack/example-images, about a second when they are), once.
// A missing piece is a failure that says what to run, never a silent skip.
func setupExamples(t testing.TB) {
	t.Helper()
	root := bkharness.RepoRoot(t)
	standinsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // from nothing: about 2 minutes
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "buildx", "inspect", bkharness.Builder()).CombinedOutput(); err != nil {
			standinsErr = fmt.Errorf("builder %s is not there (run hack/buildkit-up): %v\n%s", bkharness.Builder(), err, out)
			return
		}
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "example-images"))
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			standinsErr = fmt.Errorf("hack/example-images failed: %v\n%s", err, buf.String())
			return
		}
		t.Logf("hack/example-images: %s", time.Since(t0).Round(time.Millisecond))
		out, err := exec.Command(filepath.Join(root, "hack", "example-images"), "--list").Output()
		if err != nil {
			standinsErr = fmt.Errorf("hack/example-images --list: %v", err)
			return
		}
		standinContexts = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if name, ref, ok := strings.Cut(line, "="); ok {
				standinContexts[name] = ref
			}
		}
	})
	if standinsErr != nil {
		t.Fatal(standinsErr)
	}
}

// runExample builds b with the harness's Buildx (the user's command) and returns
// what came out; a failed build is returned as an error with the end of the
// progress output in it.
func runExample(t *testing.T, b exampleBuild) (*exampleResult, error) {
	t.Helper()
	setupExamples(t)
	dir := b.Dir
	if dir == "" {
		dir = filepath.Join(bkharness.RepoRoot(t), "examples", b.Example)
	}
	o := bkharness.Opts{
		Dir:           dir,
		BuildArgs:     b.Args,
		Platforms:     b.Platforms,
		Target:        b.Target,
		BuildContexts: map[string]string{},
		Call:          b.Call,
		Timeout:       10 * time.Minute,
	}
	for n, ref := range standinContexts {
		if !slices.Contains(b.Omit, n) {
			o.BuildContexts[n] = ref
		}
	}
	for n, ref := range b.Contexts {
		o.BuildContexts[n] = ref
	}
	var tarPath, root string
	switch {
	case b.Call != "" || b.Output == "none":
		o.Output = bkharness.OutputNone
	case b.Output == "oci":
		o.Output = bkharness.OutputOCI
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
		o.Output = bkharness.OutputNone
		o.Args = append(o.Args, "--output", "type=tar,dest="+tarPath)
	}
	// EXAMPLES_NO_CACHE=1 builds every example step anew (for timing a
	// cold run, and so that every wantOutput sees the step's output)
	if b.NoCache || os.Getenv("EXAMPLES_NO_CACHE") == "1" {
		o.Args = append(o.Args, "--no-cache")
	}
	if len(b.Ran) > 0 {
		o.Args = append(o.Args, "--no-cache-filter", strings.Join(b.Ran, ","))
	}
	t0 := time.Now()
	r := bkharness.Buildx(t, o)
	res := &exampleResult{
		Progress: r.Stdout + r.Progress,
		Root:     r.Dir,
		OCI:      r.OCI,
		Took:     time.Since(t0),
		ran:      b.Ran,
	}
	t.Logf("%s %s: %s", b.Example, describeBuild(b), res.Took.Round(time.Millisecond))
	if r.Err == nil && tarPath != "" {
		if err := untar(tarPath, root); err != nil {
			return res, fmt.Errorf("unpacking the result: %v", err)
		}
		os.Remove(tarPath)
		res.Root = root
	}
	return res, r.Err
}

// untar unpacks a type=tar export into dir: folders, files and symlinks
// (made as they are, never followed); hard links become copies; device
// nodes are skipped.
func untar(tarPath, dir string) error {
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

// buildExample builds b and fails the test if the build fails.
func buildExample(t *testing.T, b exampleBuild) *exampleResult {
	t.Helper()
	res, err := runExample(t, b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// buildExampleFails builds b and fails the test unless the build fails with every
// one of wants in its output.
func buildExampleFails(t *testing.T, b exampleBuild, wants ...string) *exampleResult {
	t.Helper()
	res, err := runExample(t, b)
	if err == nil {
		t.Fatalf("%s %s: the build succeeded, want a failure mentioning %q", b.Example, describeBuild(b), wants)
	}
	for _, w := range wants {
		if !strings.Contains(res.Progress, w) {
			t.Errorf("%s %s: the failure does not mention %q:\n%s", b.Example, describeBuild(b), w, bkharness.Tail(res.Progress, 40))
		}
	}
	return res
}

func describeBuild(b exampleBuild) string {
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

// stageStepLine matches a progress line that names a step of a stage:
// "#12 [builder 3/6] RUN npm ci", "#9 [linux/amd64->arm64 builder  3/12] RUN …".
var stageStepLine = regexp.MustCompile(`^#\d+ \[(?:[^\] ]+/[^\] ]+ )?([A-Za-z0-9_.-]+) +\d+/\d+\] (.*)$`)

// progressStep is one step of the progress output.
type progressStep struct {
	Name   string
	Cached bool
	Logs   string
}

var progressLine = regexp.MustCompile(`^#(\d+) (.*)$`)
var logTime = regexp.MustCompile(`^\d+\.\d+ `)

// vertices parses the plain progress output into its steps.
func (r *exampleResult) vertices() []*progressStep {
	byID := map[string]*progressStep{}
	var order []*progressStep
	for _, line := range strings.Split(r.Progress, "\n") {
		m := progressLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, ok := byID[m[1]]
		if !ok {
			v = &progressStep{Name: m[2]}
			byID[m[1]] = v
			order = append(order, v)
			continue
		}
		switch {
		case m[2] == "CACHED":
			v.Cached = true
		case logTime.MatchString(m[2]):
			v.Logs += logTime.ReplaceAllString(m[2], "") + "\n"
		}
	}
	return order
}

// wantOutput checks that a step whose name contains step printed text.
// The step's stage must be one the build ran anew (exampleBuild.Ran).
func (r *exampleResult) wantOutput(t *testing.T, step, text string) {
	t.Helper()
	found := false
	for _, v := range r.vertices() {
		if !strings.Contains(v.Name, step) {
			continue
		}
		found = true
		if v.Cached {
			t.Fatalf("step %q came from the cache and printed nothing: add its stage to the build's Ran (%v)", step, r.ran)
		}
		if strings.Contains(v.Logs, text) {
			return
		}
	}
	if !found {
		t.Errorf("no step %q in the build:\n%s", step, bkharness.Tail(r.Progress, 40))
		return
	}
	t.Errorf("step %q did not print %q:\n%s", step, text, bkharness.Tail(r.Progress, 40))
}

// Stages returns the stages that had at least one step in the build, with
// the steps' text, in order of first appearance.
func (r *exampleResult) Stages() map[string][]string {
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(r.Progress))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		if mm := stageStepLine.FindStringSubmatch(sc.Text()); mm != nil {
			key := mm[1] + "\x00" + mm[2]
			if !seen[key] {
				seen[key] = true
				m[mm[1]] = append(m[mm[1]], mm[2])
			}
		}
	}
	return m
}

// wantStages checks that every stage of ran had a step that ran in the
// build and no stage of notRan had one at all. The stages of ran must be
// in the build's Ran, and so must its last stage when notRan is checked
// (see exampleBuild.Ran): with a warm cache, a check of a stage BuildKit did
// not need to look at would prove nothing.
func (r *exampleResult) wantStages(t *testing.T, ran, notRan []string) {
	t.Helper()
	got := r.Stages()
	for _, s := range ran {
		r.mustHaveRun(t, s)
		if _, ok := got[s]; !ok {
			t.Errorf("stage %q did not run; stages that ran: %v", s, slices.Sorted(maps.Keys(got)))
		}
	}
	if len(notRan) > 0 && len(r.ran) == 0 {
		t.Fatalf("checking that %v did not run needs a build whose Ran holds its last stage", notRan)
	}
	for _, s := range notRan {
		if steps, ok := got[s]; ok {
			t.Errorf("stage %q ran, want it left out; its steps: %q", s, steps)
		}
	}
}

// mustHaveRun stops the test when stage is not in the build's Ran.
func (r *exampleResult) mustHaveRun(t *testing.T, stage string) {
	t.Helper()
	if !slices.Contains(r.ran, stage) {
		t.Fatalf("stage %q is checked, but the build's Ran (%v) does not hold it: a cached stage shows nothing", stage, r.ran)
	}
}

// wantStep checks that some step of stage contains text (or, with want
// false, that none does); stage must be in the build's Ran.
func (r *exampleResult) wantStep(t *testing.T, stage, text string, want bool) {
	t.Helper()
	r.mustHaveRun(t, stage)
	steps := r.Stages()[stage]
	found := slices.ContainsFunc(steps, func(s string) bool { return strings.Contains(s, text) })
	if found != want {
		t.Errorf("stage %q has a step containing %q: %v, want %v; its steps: %q", stage, text, found, want, steps)
	}
}

// wantLog checks that the progress output contains text (or not).
func (r *exampleResult) wantLog(t *testing.T, text string, want bool) {
	t.Helper()
	if strings.Contains(r.Progress, text) != want {
		t.Errorf("progress output contains %q: %v, want %v\n%s", text, !want, want, bkharness.Tail(r.Progress, 40))
	}
}

// path joins rel (an absolute path inside the image) to the local output.
func (r *exampleResult) path(rel string) string {
	return filepath.Join(r.Root, filepath.FromSlash(rel))
}

// wantFile checks that the image has rel, and that it contains each of
// contains; it returns the content.
func (r *exampleResult) wantFile(t *testing.T, rel string, contains ...string) string {
	t.Helper()
	b, err := os.ReadFile(r.path(rel))
	if err != nil {
		t.Errorf("want %s in the image: %v", rel, err)
		return ""
	}
	for _, c := range contains {
		if !strings.Contains(string(b), c) {
			t.Errorf("%s does not contain %q:\n%s", rel, c, bkharness.Tail(string(b), 20))
		}
	}
	return string(b)
}

// wantNo checks that the image has no rel.
func (r *exampleResult) wantNo(t *testing.T, rel string) {
	t.Helper()
	if _, err := os.Lstat(r.path(rel)); err == nil {
		t.Errorf("want no %s in the image, but it is there", rel)
	}
}

// glob returns the paths inside the image that match pattern.
func (r *exampleResult) glob(pattern string) []string {
	m, _ := filepath.Glob(r.path(pattern))
	for i := range m {
		m[i] = "/" + filepath.ToSlash(strings.TrimPrefix(m[i], r.Root+string(filepath.Separator)))
	}
	return m
}

// copyExample copies the example into a temporary folder and applies edit to it,
// so a test can build a variant (a failing test, a missing file) without
// touching examples/.
func copyExample(t *testing.T, example string, edit func(dir string)) string {
	t.Helper()
	src := filepath.Join(bkharness.RepoRoot(t), "examples", example)
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

// exampleImage is what readOCIImage reads from an OCI layout tarball.
type exampleImage struct {
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

// readOCIImage reads the single-platform image of an OCI layout tarball.
func readOCIImage(t *testing.T, tarPath string) exampleImage {
	t.Helper()
	blobs := bkharness.ReadTar(t, tarPath)
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
	var img exampleImage
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

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
