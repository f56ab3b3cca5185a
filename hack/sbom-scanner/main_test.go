package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Module paths of the binary the test scans. The dependency is replaced by
// a local directory, so building needs no network (and syft lists it
// without a version).
const (
	helloModule = "example.com/sbomhello"
	helloDep    = "example.com/greeting"
)

// buildHello builds a static hello-world binary with a module dependency
// into root/usr/local/bin/hello.
func buildHello(t *testing.T, root string) {
	t.Helper()
	src := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+helloModule+"\n\ngo 1.22\n\nrequire "+helloDep+" v1.2.3\n\nreplace "+helloDep+" => ./greeting\n")
	write("main.go", "package main\n\nimport \"example.com/greeting\"\n\nfunc main() { println(greeting.Hello()) }\n")
	write("greeting/go.mod", "module "+helloDep+"\n\ngo 1.22\n")
	write("greeting/greeting.go", "package greeting\n\nfunc Hello() string { return \"hello\" }\n")

	out := filepath.Join(root, "usr", "local", "bin", "hello")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// statement is the part of a written statement the test checks.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		SPDXVersion string `json:"spdxVersion"`
		Name        string `json:"name"`
		Packages    []struct {
			Name         string `json:"name"`
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	} `json:"predicate"`
}

func readStatement(t *testing.T, p string) statement {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st statement
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if st.Type != statementType || st.PredicateType != predicateSPDX {
		t.Errorf("%s: _type %q predicateType %q", p, st.Type, st.PredicateType)
	}
	if st.Predicate.SPDXVersion != "SPDX-2.3" {
		t.Errorf("%s: spdxVersion %q, want SPDX-2.3", p, st.Predicate.SPDXVersion)
	}
	return st
}

// purls lists the package URLs of a statement's SPDX packages.
func purls(st statement) []string {
	var out []string
	for _, p := range st.Predicate.Packages {
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				out = append(out, r.Locator)
			}
		}
	}
	return out
}

func hasPurlPrefix(list []string, prefix string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func TestScan(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	core := filepath.Join(t.TempDir(), "sbom")
	buildHello(t, core)

	extras := t.TempDir()
	ctxDir := filepath.Join(extras, "sbom-context")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()

	env := map[string]string{
		envSource:       core,
		envSourceExtras: extras,
		envDestination:  dest,
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := run(context.Background(), lookup); err != nil {
		t.Fatal(err)
	}

	entries, err := os.ReadDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"sbom-context.spdx.json", "sbom.spdx.json"}; !slices.Equal(names, want) {
		t.Fatalf("written files %q, want %q", names, want)
	}

	st := readStatement(t, filepath.Join(dest, "sbom.spdx.json"))
	if st.Predicate.Name != "sbom" {
		t.Errorf("document name %q, want sbom", st.Predicate.Name)
	}
	got := purls(st)
	for _, want := range []string{"pkg:golang/" + helloModule, "pkg:golang/" + helloDep, "pkg:golang/stdlib@"} {
		if !hasPurlPrefix(got, want) {
			t.Errorf("no package with purl %s* in %q", want, got)
		}
	}

	ctxSt := readStatement(t, filepath.Join(dest, "sbom-context.spdx.json"))
	if ctxSt.Predicate.Name != "sbom-context" {
		t.Errorf("extra document name %q, want sbom-context", ctxSt.Predicate.Name)
	}
}

func TestScanErrors(t *testing.T) {
	dir := t.TempDir()
	for name, env := range map[string]map[string]string{
		"no destination":  {envSource: dir},
		"no source":       {envDestination: dir},
		"missing source":  {envSource: filepath.Join(dir, "nope"), envDestination: dir},
		"missing extras ": {envSource: dir, envDestination: dir, envSourceExtras: filepath.Join(dir, "nope")},
	} {
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		if err := run(context.Background(), lookup); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
