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

// together reports whether the steps whose names contain substrs ran
// at the same time: one instant lies within all of them (the last start
// is before the first completion), as the daemon's own timestamps of the
// steps say. ok is false when a step is not in the progress.
func together(r *bkharness.Result, substrs ...string) (lastStart, firstEnd time.Time, ok bool) {
	started, completed := map[string]time.Time{}, map[string]time.Time{}
	for _, ss := range r.Statuses {
		for _, v := range ss.Vertexes {
			for _, s := range substrs {
				if !strings.Contains(v.Name, s) {
					continue
				}
				if v.Started != nil && (started[s].IsZero() || v.Started.Before(started[s])) {
					started[s] = *v.Started
				}
				if v.Completed != nil && v.Completed.After(completed[s]) {
					completed[s] = *v.Completed
				}
			}
		}
	}
	for _, s := range substrs {
		if started[s].IsZero() || completed[s].IsZero() {
			return time.Time{}, time.Time{}, false
		}
		if started[s].After(lastStart) {
			lastStart = started[s]
		}
		if firstEnd.IsZero() || completed[s].Before(firstEnd) {
			firstEnd = completed[s]
		}
	}
	return lastStart, firstEnd, true
}

// wantNoExport fails when a failed build left files in its local export.
func wantNoExport(t *testing.T, r *bkharness.Result) {
	t.Helper()
	if files := r.Files(t); len(files) > 0 {
		t.Errorf("a failed build exported %v", files)
	}
}
