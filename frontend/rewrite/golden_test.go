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
// fail with exactly <case>/errors. A new case is a new folder; run
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
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			opt := goldenOptions(t, dir)
			res, err := Rewrite(context.Background(), in, opt)
			rewritePath, errorsPath := filepath.Join(dir, "rewrite"), filepath.Join(dir, "errors")
			if *update {
				os.Remove(rewritePath)
				os.Remove(errorsPath)
				if err != nil {
					os.WriteFile(errorsPath, []byte(err.Error()+"\n"), 0o644)
				} else {
					os.WriteFile(rewritePath, res.Dockerfile, 0o644)
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
		})
	}
}

// goldenOptions reads a case's options file (see TestGolden).
func goldenOptions(t *testing.T, dir string) Options {
	amd64 := platforms.MustParse("linux/amd64")
	opt := Options{BuildArgs: map[string]string{}, BuildPlatform: amd64, TargetPlatform: amd64, ListFlags: true}
	dt, err := os.ReadFile(filepath.Join(dir, "options"))
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
			t.Fatalf("%s/options: unknown option %q", dir, line)
		}
	}
	return opt
}
