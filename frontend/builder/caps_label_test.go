package builder

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"maps"
)

// TestImageLabelListsServedCaps: the frontend image's caps label must name
// exactly the caps Build serves; a missing cap fails builds before our
// code runs.
func TestImageLabelListsServedCaps(t *testing.T) {
	dt, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`moby\.buildkit\.frontend\.caps="([^"]*)"`).FindSubmatch(dt)
	if m == nil {
		t.Fatal("Dockerfile has no moby.buildkit.frontend.caps label")
	}
	label := strings.Split(string(m[1]), ",")
	slices.Sort(label)
	served := slices.Sorted(maps.Keys(servedCaps))
	if !slices.Equal(label, served) {
		t.Errorf("caps label %v, served %v", label, served)
	}
}
