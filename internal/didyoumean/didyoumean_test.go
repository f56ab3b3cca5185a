package didyoumean

import "testing"

func TestClosest(t *testing.T) {
	t.Parallel()
	args := []string{"INCLUDE_DOCS", "BUILD_ENV", "TARGETARCH", "A"}
	stages := []string{"builder", "build", "test", "app"}
	for _, tc := range []struct {
		name          string
		candidates    []string
		caseSensitive bool
		want          string
	}{
		{"INCLUDE_DOC", args, true, "INCLUDE_DOCS"},
		{"TARGETARC", args, true, "TARGETARCH"},
		{"build_env", args, true, "BUILD_ENV"}, // only the case differs
		{"BUILD_ENV", args, true, ""},          // it is one
		{"SOMETHING_ELSE", args, true, ""},
		{"B", args, true, ""}, // one letter for another is no typo
		{"AB", args, true, "A"},
		{"XY", args, true, ""}, // two edits from "A": too many for a short name
		{"biulder", stages, false, "builder"},
		{"Biuld", stages, false, "build"}, // the candidate's case
		{"tset", stages, false, "test"},
		{"ap", stages, false, "app"},
		{"alpine", stages, false, ""},
		{"build", stages, false, ""},
		{"node", []string{"code"}, false, "code"},
		{"exist", []string{"exists", "defined"}, true, "exists"},
	} {
		if got := Closest(tc.name, tc.candidates, tc.caseSensitive); got != tc.want {
			t.Errorf("Closest(%q, %v, %v) = %q, want %q", tc.name, tc.candidates, tc.caseSensitive, got, tc.want)
		}
	}
}
