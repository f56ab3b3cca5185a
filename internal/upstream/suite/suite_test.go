package suite

import (
	"archive/tar"
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/registry"
	"github.com/org/stagefront/internal/upstream"
)

// moduleDir is the BuildKit of go.mod, whose suite the harness runs.
func moduleDir(t *testing.T) string {
	t.Helper()
	root := filepath.Join("..", "..", "..")
	v, err := upstream.RequiredVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := upstream.ModuleDir(root, v)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func labsTags(t *testing.T, dir string) []string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, "frontend", "dockerfile", "release", "labs", "tags"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(dt))
}

// TestPatch: the patch applies to this BuildKit's suite as often as it
// should, the patched files still parse, and a source it does not fit
// fails with a message that says so.
func TestPatch(t *testing.T) {
	pkg := filepath.Join(moduleDir(t), "frontend", "dockerfile")
	tmp := t.TempDir()
	files := []string{"dockerfile_test.go", "dockerfile_outline_test.go", "dockerfile_targets_test.go", "dockerfile_check_test.go"}
	for _, f := range files {
		dt, err := os.ReadFile(filepath.Join(pkg, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Patch(tmp); err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range append(files, "zz_stagefront_test.go") {
		if _, err := parser.ParseFile(fset, filepath.Join(tmp, f), nil, 0); err != nil {
			t.Errorf("%s does not parse after the patch: %v", f, err)
		}
	}
	dt, _ := os.ReadFile(filepath.Join(tmp, "dockerfile_outline_test.go"))
	if n := strings.Count(string(dt), "c = stagefrontClient(t, c)"); n == 0 {
		t.Errorf("no BuildFunc of the outline tests patched")
	}
	// Patched twice: the client-frontend skips are gone, so it no longer fits.
	if err := Patch(tmp); err == nil || !strings.Contains(err.Error(), "BuildKit's test source changed") {
		t.Errorf("patching a source the patch does not fit: %v", err)
	}
}

// TestReadSource: the test functions are those of the files a build with
// the channel's tags compiles: the labs tests only in the labs channel.
func TestReadSource(t *testing.T) {
	dir := moduleDir(t)
	pkg := filepath.Join(dir, "frontend", "dockerfile")
	mainline, err := ReadSource(pkg, nil)
	if err != nil {
		t.Fatal(err)
	}
	labs, err := ReadSource(pkg, labsTags(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(mainline.Funcs) < 200 {
		t.Fatalf("%d test functions in the mainline suite, want 200 or more", len(mainline.Funcs))
	}
	extra := slices.DeleteFunc(slices.Clone(labs.Funcs), func(f string) bool { return slices.Contains(mainline.Funcs, f) })
	if !slices.Contains(extra, "TestUnsetImageConfig") || slices.Contains(mainline.Funcs, "TestUnsetImageConfig") {
		t.Errorf("labs-only tests %v, want TestUnsetImageConfig among them", extra)
	}
	for _, l := range []string{"lintTests", "outlineTests", "targetsTests"} {
		if len(mainline.FuncsOf(l)) == 0 {
			t.Errorf("no test functions in %s", l)
		}
	}
	for _, k := range []string{"worker", "frontend", "network.host", "security.insecure"} {
		if !slices.Contains(mainline.MatrixKeys, k) {
			t.Errorf("matrix keys %v lack %s", mainline.MatrixKeys, k)
		}
	}
	for name, want := range map[string]bool{
		"TestFoo/worker=oci/frontend=gateway":                           true,
		"TestFoo/worker=oci/frontend=gateway/security.insecure=granted": true,
		"TestFoo/worker=oci/frontend=gateway/a_subtest":                 false,
		"TestFoo": false,
	} {
		if got := mainline.IsInstance(name); got != want {
			t.Errorf("IsInstance(%s) = %t", name, got)
		}
	}
}

// TestStream: results from test2json streams, as a binary that dies
// leaves them: a test it was running has no result, later rounds fill
// gaps, and the first result wins.
func TestStream(t *testing.T) {
	ev := func(action, test, out string) string {
		b, _ := json.Marshal(map[string]any{"Action": action, "Test": test, "Output": out})
		return string(b) + "\n"
	}
	const a, b, c = "TestIntegration/TestA/worker=oci/frontend=gateway", "TestIntegration/TestB/worker=oci/frontend=gateway", "TestIntegration/TestC/worker=oci/frontend=gateway"
	round1 := ev("run", a, "") + ev("run", b, "") + ev("run", c, "") + "not json: the binary's own output\n" +
		ev("output", a, "    Error: not equal\n") + ev("output", a, "--- FAIL: "+a+" (1.00s)\n") + ev("fail", a, "") +
		ev("pass", b, "") + ev("output", c, "panic: boom\n") + ev("fail", c, "") +
		ev("run", "TestIntegration/TestA", "") + ev("fail", "TestIntegration", "")
	s := NewStream()
	if err := s.Read(strings.NewReader(round1)); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending([]string{"TestA", "TestB", "TestC", "TestD"}); !slices.Equal(got, []string{"TestC", "TestD"}) {
		t.Errorf("pending %v, want TestC (died with the binary) and TestD (never started)", got)
	}
	if err := s.Read(strings.NewReader(ev("run", c, "") + ev("skip", c, "") + ev("run", b, "") + ev("output", b, "--- FAIL: "+b+" (0s)\n") + ev("fail", b, ""))); err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{strings.TrimPrefix(a, prefix): Fail, strings.TrimPrefix(b, prefix): Pass, strings.TrimPrefix(c, prefix): Skip}
	if got := s.Final(); !maps.Equal(got, want) {
		t.Errorf("Final = %v, want %v", got, want)
	}
	if got := s.FailureHead(strings.TrimPrefix(a, prefix), 4); !slices.Equal(got, []string{"Error: not equal"}) {
		t.Errorf("FailureHead = %q", got)
	}
}

// TestCompare: verdicts, deviations by run, and stale deviations.
func TestCompare(t *testing.T) {
	devs, err := ParseDeviations(strings.NewReader("# comment\n\nTestDev needs X\nlabs:TestLabsOnly not here\nsubrequests:TestSub/worker=oci reason\nTestStale gone\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 4 || devs[1].Only != "labs" || devs[2].Only != "subrequests" || devs[2].Name != "TestSub/worker=oci" {
		t.Fatalf("deviations %+v", devs)
	}
	up := map[string]Status{"TestSame/w": Pass, "TestDiff/w": Pass, "TestDev/w": Pass, "TestFlaky/w": Pass, "TestBetter/w": Fail, "TestEnv/w": Fail, "TestSub/worker=oci": Pass}
	sf := map[string]Status{"TestSame/w": Pass, "TestDiff/w": Fail, "TestDev/w": Fail, "TestFlaky/w": Fail, "TestBetter/w": Pass, "TestEnv/w": None, "TestSub/worker=oci": Fail}
	retried := map[string]Status{"TestFlaky/w": Pass}
	subs := func(test string) []string {
		if test == "TestDiff/w" {
			return []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		}
		return nil
	}
	funcs := []string{"TestSame", "TestDiff", "TestDev", "TestFlaky", "TestBetter", "TestEnv", "TestSub", "TestStale"}
	c := Compare("mainline", "gateway", up, sf, retried, subs, devs, funcs)
	verdicts := map[string]string{}
	for _, r := range c.Rows {
		verdicts[r.Test] = r.Verdict
	}
	want := map[string]string{"TestSame/w": Same, "TestDiff/w": Different, "TestDev/w": Deviates, "TestFlaky/w": Flaky, "TestBetter/w": StagefrontOnly, "TestEnv/w": BothFail, "TestSub/worker=oci": Different}
	if !maps.Equal(verdicts, want) {
		t.Errorf("verdicts %v, want %v", verdicts, want)
	}
	if c.OK() {
		t.Errorf("a comparison with differences is OK")
	}
	if !slices.Equal(c.Stale, []string{"TestStale"}) {
		t.Errorf("stale %v, want TestStale (TestLabsOnly is of another channel)", c.Stale)
	}
	for _, r := range c.Rows {
		if r.Test == "TestDiff/w" && r.Note != "sub-tests: a, b, c, d, e, f, and 2 more" {
			t.Errorf("note %q", r.Note)
		}
	}
	// In the subrequests mode, its deviation applies.
	if c := Compare("mainline", "subrequests", up, sf, retried, subs, devs, funcs); c.Count(Deviates) != 2 {
		t.Errorf("subrequests: %d deviations, want 2", c.Count(Deviates))
	}
}

// TestOCILayoutTar: an image copied out of a registry, blob for blob,
// into an OCI layout that names it; a blob with the wrong digest fails.
func TestOCILayoutTar(t *testing.T) {
	blobs := map[digest.Digest][]byte{}
	put := func(b []byte) ocispecs.Descriptor {
		d := digest.FromBytes(b)
		blobs[d] = b
		return ocispecs.Descriptor{Digest: d, Size: int64(len(b))}
	}
	layer := put([]byte("layer"))
	config := put([]byte(`{"architecture":"amd64","os":"linux"}`))
	config.MediaType = ocispecs.MediaTypeImageConfig
	mb, _ := json.Marshal(ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: config, Layers: []ocispecs.Descriptor{layer}})
	manifest := put(mb)
	manifest.MediaType = ocispecs.MediaTypeImageManifest
	manifest.Platform = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm := manifest
	arm.Digest, arm.Platform = digest.FromString("other"), &ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	ib, _ := json.Marshal(ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{arm, manifest}})
	corrupt := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/org/img/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		if parts[1] == "1" {
			w.Write(ib)
			return
		}
		b, ok := blobs[digest.Digest(parts[1])]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if corrupt && parts[0] == "blobs" {
			b = []byte("tampered")
		}
		w.Write(b)
	}))
	defer srv.Close()
	reg := Registry{registry.Client{Host: strings.TrimPrefix(srv.URL, "http://")}}
	dir := t.TempDir()
	p, err := reg.OCILayoutTar(context.Background(), "org/img", "1", dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "test-"+manifest.Digest.Encoded()+".tar" {
		t.Errorf("tarball %s", p)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name], _ = io.ReadAll(tr)
	}
	for _, d := range []digest.Digest{manifest.Digest, config.Digest, layer.Digest} {
		if string(got["blobs/sha256/"+d.Encoded()]) != string(blobs[d]) {
			t.Errorf("blob %s missing or wrong", d)
		}
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(got["index.json"], &idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != manifest.Digest ||
		idx.Manifests[0].Annotations[ocispecs.AnnotationRefName] != reg.Host+"/org/img:1" {
		t.Errorf("index.json %s", got["index.json"])
	}
	corrupt = true
	os.Remove(p)
	if _, err := reg.OCILayoutTar(context.Background(), "org/img", "1", dir, "test"); err == nil || !strings.Contains(err.Error(), "has digest") {
		t.Errorf("a tampered blob: %v", err)
	}
}
