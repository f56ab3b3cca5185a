package version

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"golang.org/x/mod/semver"
)

func TestTags(t *testing.T) {
	if !semver.IsValid("v"+Version) || semver.Prerelease("v"+Version) != "" {
		t.Fatalf("Version %q is no release version", Version)
	}
	major := semver.Major("v" + Version)[1:]
	minor := semver.MajorMinor("v" + Version)[1:]
	if got, want := Tags("mainline"), []string{Version, minor, major, "latest"}; !slices.Equal(got, want) {
		t.Errorf("mainline tags %v, want %v", got, want)
	}
	if got, want := Tags("labs"), []string{Version + "-labs", minor + "-labs", major + "-labs", "labs"}; !slices.Equal(got, want) {
		t.Errorf("labs tags %v, want %v", got, want)
	}
}

// TestDockerfileLabels: the Dockerfile labels the image with this version
// and the upstream Dockerfile version it embeds; its defaults must say
// what the binary says.
func TestDockerfileLabels(t *testing.T) {
	if got := Dockerfile(); !regexp.MustCompile(`^1\.[0-9]+$`).MatchString(got) {
		t.Fatalf("Dockerfile() = %q, want major.minor", got)
	}
	dt, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{"STAGEFRONT_VERSION": Version, "DOCKERFILE_VERSION": Dockerfile()} {
		m := regexp.MustCompile(`(?m)^ARG ` + arg + `=(\S+)$`).FindSubmatch(dt)
		if m == nil || string(m[1]) != want {
			t.Errorf("the Dockerfile's ARG %s default is %q, want %q", arg, m, want)
		}
	}
}
