package suite

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Status is a test's outcome.
type Status string

// The outcomes; None is a test that started and got no result (the test
// binary died under it).
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	None Status = "none"
)

// event is one line of `go test -json` (test2json).
type event struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

// prefix is the parent test of every test of the suite.
const prefix = "TestIntegration/"

// Stream is what one or more runs of the test binary said: the results
// and output of each test, by its name below TestIntegration.
type Stream struct {
	// Results are the first result of each test (later runs only fill
	// gaps), and Started every test that started.
	Results map[string]Status
	Elapsed map[string]float64
	Started map[string]bool
	// Output is each test's output, in order.
	Output map[string][]string
	// failed are the tests the binary said "--- FAIL: <name>" of: when a
	// binary dies, test2json reports the tests that were running as
	// failed, and only these did fail.
	failed map[string]bool
}

// NewStream returns an empty Stream.
func NewStream() *Stream {
	return &Stream{Results: map[string]Status{}, Elapsed: map[string]float64{}, Started: map[string]bool{}, Output: map[string][]string{}, failed: map[string]bool{}}
}

var failLine = regexp.MustCompile(`--- FAIL: (\S+) \(`)

// Read adds the events of one run (a test2json stream) to s. Lines that
// are no JSON event (the binary's own output) are left out.
func (s *Stream) Read(r io.Reader) error {
	var events []event
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		events = append(events, ev)
		if ev.Action == "output" {
			if m := failLine.FindStringSubmatch(ev.Output); m != nil {
				s.failed[strings.TrimPrefix(m[1], prefix)] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, ev := range events {
		name, ok := strings.CutPrefix(ev.Test, prefix)
		// A test of the suite is TestIntegration/<func>/<worker>/<frontend>...
		if !ok || strings.Count(name, "/") < 2 {
			continue
		}
		switch ev.Action {
		case "run":
			s.Started[name] = true
		case "output":
			s.Output[name] = append(s.Output[name], ev.Output)
		case "pass", "skip", "fail":
			if _, done := s.Results[name]; done {
				continue
			}
			if ev.Action == "fail" && !s.failed[name] {
				continue // running when the binary died: no result
			}
			s.Results[name] = Status(ev.Action)
			s.Elapsed[name] = ev.Elapsed
		}
	}
	return nil
}

// Pending returns the functions of funcs that have no result yet: none
// of their instances has one, or one that started has none.
func (s *Stream) Pending(funcs []string) []string {
	hasResult := map[string]bool{}
	missing := map[string]bool{}
	for name := range s.Results {
		hasResult[funcOf(name)] = true
	}
	for name := range s.Started {
		if _, ok := s.Results[name]; !ok {
			missing[funcOf(name)] = true
		}
	}
	var out []string
	for _, f := range funcs {
		if !hasResult[f] || missing[f] {
			out = append(out, f)
		}
	}
	return out
}

// Final returns every test's outcome: its result, or None for one that
// started and never got a result.
func (s *Stream) Final() map[string]Status {
	out := make(map[string]Status, len(s.Started))
	for name := range s.Started {
		out[name] = None
	}
	for name, st := range s.Results {
		out[name] = st
	}
	return out
}

// OutputOf returns the output of test and of its sub-tests.
func (s *Stream) OutputOf(test string) string {
	var names []string
	for name := range s.Output {
		if name == test || strings.HasPrefix(name, test+"/") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		for _, l := range s.Output[n] {
			b.WriteString(l)
		}
	}
	return b.String()
}

// FailureHead returns the first n lines of what made a test fail:
// testify's Error: block or the panic, without the sandbox's logs.
func (s *Stream) FailureHead(test string, n int) []string {
	var out []string
	started := false
	for _, l := range strings.Split(s.OutputOf(test), "\n") {
		t := strings.TrimSpace(l)
		if !started {
			if strings.HasPrefix(t, "Error:") || strings.Contains(l, " Error:") || strings.HasPrefix(t, "panic:") {
				started = true
			} else {
				continue
			}
		}
		if sandboxLine.MatchString(l) || strings.HasPrefix(t, "Test:") || strings.HasPrefix(t, "Messages:") || strings.HasPrefix(t, "Error Trace:") || strings.HasPrefix(t, "--- ") {
			if len(out) > 0 {
				break
			}
			continue
		}
		if t != "" {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

var sandboxLine = regexp.MustCompile(`sandbox\.go:[0-9]+:`)

// Dropped counts, by rule, the warnings of stagefront's own rules that
// the patched suite took out of lint results (subrequests mode).
func (s *Stream) Dropped() map[string]int {
	out := map[string]int{}
	for _, lines := range s.Output {
		for _, l := range lines {
			if m := droppedLine.FindStringSubmatch(l); m != nil {
				out[m[1]]++
			}
		}
	}
	return out
}

var droppedLine = regexp.MustCompile(`stagefront-subrequests: dropped ([A-Za-z0-9]+) warning:`)

// funcOf is the test function of a test name.
func funcOf(name string) string {
	f, _, _ := strings.Cut(name, "/")
	return f
}
