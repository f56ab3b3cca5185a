package rewrite

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
)

var update = flag.Bool("update", false, "write the expected rewrite or errors of every testdata/rewrite case from what the engine gives now")

// TestGolden runs the cases of testdata/rewrite, one folder each, as
// BuildKit's parser/testfiles do: <case>/Dockerfile, rewritten with the
// values of <case>/options, must give <case>/rewrite byte for byte, or
// fail with exactly <case>/errors. A case built with several sets of
// values has options.NAME for each, and rewrite.NAME or errors.NAME. A
// new case is a new folder; run
//
//	go test ./frontend/rewrite -run TestGolden -update
//
// to write its expected output, then read it.
//
// The options file holds one option a line: "build-arg NAME=VALUE",
// "platform os/arch", "target NAME", "annotate", "context PATH..." (the
// paths exists() finds); "#" starts a comment (the first line says what
// the case is about).
func TestGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "rewrite", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases in testdata/rewrite: %v", err)
	}
	for _, dir := range dirs {
		in, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		for _, variant := range goldenVariants(t, dir) {
			name := filepath.Base(dir)
			if variant != "" {
				name += "/" + strings.TrimPrefix(variant, ".")
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				goldenCase(t, dir, variant, in)
			})
		}
	}
}

// goldenVariants lists the variants of a case: "" for its options file
// (or none), and ".NAME" for each options.NAME, whose expected output is
// rewrite.NAME or errors.NAME: one Dockerfile built with several sets of
// values.
func goldenVariants(t *testing.T, dir string) []string {
	opts, err := filepath.Glob(filepath.Join(dir, "options.*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		return []string{""}
	}
	var out []string
	for _, o := range opts {
		out = append(out, strings.TrimPrefix(filepath.Base(o), "options"))
	}
	return out
}

// goldenCase rewrites a case's Dockerfile with the options of variant
// and compares the result with the expected rewrite or errors.
func goldenCase(t *testing.T, dir, variant string, in []byte) {
	opt := goldenOptions(t, filepath.Join(dir, "options"+variant))
	res, err := Rewrite(context.Background(), in, opt)
	rewritePath, errorsPath := filepath.Join(dir, "rewrite"+variant), filepath.Join(dir, "errors"+variant)
	if *update {
		for _, p := range []string{rewritePath, errorsPath} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		var werr error
		if err != nil {
			werr = os.WriteFile(errorsPath, []byte(err.Error()+"\n"), 0o644)
		} else {
			werr = os.WriteFile(rewritePath, res.Dockerfile, 0o644)
		}
		if werr != nil {
			t.Fatalf("-update: %v", werr)
		}
	}
	if want, rerr := os.ReadFile(errorsPath); rerr == nil {
		if err == nil {
			t.Fatalf("no error; want:\n%s", want)
		}
		if _, ok := err.(*ErrorList); !ok {
			t.Errorf("the error is a %T, not an ErrorList", err)
		}
		if got := err.Error() + "\n"; got != string(want) {
			t.Errorf("errors differ\n--- got\n%s--- want\n%s", got, want)
		}
		return
	}
	want, rerr := os.ReadFile(rewritePath)
	if rerr != nil {
		t.Fatalf("the case has neither a rewrite nor an errors file (write them with -update): %v", rerr)
	}
	if err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
	if !bytes.Equal(res.Dockerfile, want) {
		t.Errorf("rewrite differs\n--- got\n%s--- want\n%s", res.Dockerfile, want)
	}
	if bytes.Count(res.Dockerfile, []byte("\n")) != bytes.Count(in, []byte("\n")) {
		t.Errorf("the line count changed")
	}
}

// goldenOptions reads a case's options file (see TestGolden).
func goldenOptions(t *testing.T, file string) Options {
	amd64 := platforms.MustParse("linux/amd64")
	opt := Options{BuildArgs: map[string]string{}, BuildPlatform: amd64, TargetPlatform: amd64, ListFlags: true}
	dt, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return opt
	} else if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(dt), "\n") {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "", "#":
		case "build-arg":
			k, v, _ := strings.Cut(value, "=")
			opt.BuildArgs[k] = v
		case "platform":
			opt.TargetPlatform = platforms.MustParse(value)
		case "target":
			opt.Target = value
		case "annotate":
			opt.Annotate = true
		case "context":
			fc := fakeContext{}
			for _, p := range strings.Fields(value) {
				fc[p] = true
			}
			opt.Context = fc
		default:
			t.Fatalf("%s: unknown option %q", file, line)
		}
	}
	return opt
}
