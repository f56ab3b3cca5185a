package lint

import (
	"os"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/llbtest"
)

// installsBySplitting is findInstalls without mayInstall: every script
// split into words.
func installsBySplitting(script string) []install {
	var out []install
	for _, words := range simpleCommands(script) {
		if in, ok := classify(words); ok {
			out = append(out, in)
		}
	}
	return out
}

// TestMayInstall: a script mayInstall rules out holds no install, on
// every RUN line of the Dockerfiles at hand and on names made of pieces.
func TestMayInstall(t *testing.T) {
	scripts := []string{
		"echo step 1", "apt-get install -y gcc", "a\"p\"t-get install gcc", "ap\\t-get install gcc",
		"/usr/bin/apk add curl", "python3 -m pip install x", "microdnf install x", "pnpm i", "yarn",
		"go mod download", "cd /src && make", "X=1 yum install x", "sudo apt install x",
	}
	files, err := llbtest.ModuleCacheDockerfiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		dt, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(dt), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(l), "RUN "); ok {
				scripts = append(scripts, s)
			}
		}
	}
	ruledOut := 0
	for _, s := range scripts {
		if mayInstall(s) {
			continue
		}
		ruledOut++
		if got := installsBySplitting(s); len(got) > 0 {
			t.Errorf("%q: mayInstall rules it out, and it installs %v", s, got)
		}
	}
	if ruledOut == 0 {
		t.Errorf("mayInstall rules out none of %d scripts", len(scripts))
	}
	for _, s := range scripts {
		if len(findInstalls(s)) != len(installsBySplitting(s)) {
			t.Errorf("%q: findInstalls %v, by splitting %v", s, findInstalls(s), installsBySplitting(s))
		}
	}
}
