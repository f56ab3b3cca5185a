//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// nonce is unique per call, for RUN steps that must really execute
// (not be answered from an earlier test run's cache).
func nonce(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("%s-%d", strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()), time.Now().UnixNano())
}

// stageStep is one Dockerfile step of the progress stream: "[stage n/m] CMD",
// keyed by CMD (the numbering changes when a condition removes a step).
type stageStep struct {
	Stage  string
	Cmd    string
	Cached bool
}

var stepName = regexp.MustCompile(`^\[([^\]\s]+) \d+/\d+\] (.*)$`)

// stageSteps lists the Dockerfile steps (RUN, COPY, ...) of the build, not
// the FROM lines nor the [internal] ones.
func stageSteps(r *bkharness.Result) []stageStep {
	var out []stageStep
	for _, v := range r.Vertices() {
		m := stepName.FindStringSubmatch(v.Name)
		if m == nil || strings.HasPrefix(m[2], "FROM ") {
			continue
		}
		out = append(out, stageStep{Stage: m[1], Cmd: m[2], Cached: v.Cached})
	}
	return out
}

// countSteps splits the steps of a build into cached and executed, each as
// "stage: cmd", sorted.
func countSteps(r *bkharness.Result) (cached, executed []string) {
	for _, s := range stageSteps(r) {
		label := s.Stage + ": " + s.Cmd
		if s.Cached {
			cached = append(cached, label)
		} else {
			executed = append(executed, label)
		}
	}
	sort.Strings(cached)
	sort.Strings(executed)
	return cached, executed
}

// missingSteps reports the substrings of want that no element of list
// contains.
func missingSteps(list []string, want ...string) []string {
	var missing []string
	for _, w := range want {
		found := false
		for _, l := range list {
			if strings.Contains(l, w) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

// stepSpan is the time from the first start to the last completion of the
// steps whose names contain one of substrs, from rawjson/in-process
// statuses; ok is false when a step is missing or never completed.
func stepSpan(r *bkharness.Result, substrs ...string) (span time.Duration, ok bool) {
	var first, last time.Time
	found := map[string]bool{}
	for _, ss := range r.Statuses {
		for _, v := range ss.Vertexes {
			for _, s := range substrs {
				if !strings.Contains(v.Name, s) {
					continue
				}
				if v.Started != nil && (first.IsZero() || v.Started.Before(first)) {
					first = *v.Started
				}
				if v.Completed != nil {
					found[s] = true
					if v.Completed.After(last) {
						last = *v.Completed
					}
				}
			}
		}
	}
	if len(found) != len(substrs) || first.IsZero() {
		return 0, false
	}
	return last.Sub(first), true
}

// wantNoExport fails when a failed build left files in its local export.
func wantNoExport(t *testing.T, r *bkharness.Result) {
	t.Helper()
	if files := r.Files(t); len(files) > 0 {
		t.Errorf("a failed build exported %v", files)
	}
}
