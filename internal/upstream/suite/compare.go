package suite

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// A Deviation is a test (or a test and its sub-tests) whose failure with
// stagefront, where upstream passes, is accepted, with why.
type Deviation struct {
	// Only is the run it applies to ("gateway", "subrequests", "labs",
	// "labs-gateway", ...), "" for every run.
	Only   string
	Name   string
	Reason string
}

// ParseDeviations reads a deviations file: one "[run:]name reason" a
// line; "#" starts a comment line.
func ParseDeviations(r io.Reader) ([]Deviation, error) {
	var out []Deviation
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		d := Deviation{Name: name, Reason: strings.TrimSpace(reason)}
		if only, rest, ok := strings.Cut(name, ":"); ok && only != "" && strings.ToLower(only) == only && !strings.ContainsAny(only, "/=") {
			d.Only, d.Name = only, rest
		}
		out = append(out, d)
	}
	return out, sc.Err()
}

// appliesTo reports whether d applies to run (a mode, in a channel).
func (d Deviation) appliesTo(channel, mode string) bool {
	return d.Only == "" || d.Only == mode || d.Only == channel || d.Only == channel+"-"+mode
}

// covers reports whether d is about test (itself or one of its
// sub-tests' parents).
func (d Deviation) covers(test string) bool {
	return test == d.Name || strings.HasPrefix(test, d.Name+"/")
}

// Verdicts of a comparison.
const (
	Same           = ""
	Different      = "DIFFERENT" // passes with upstream, not with stagefront
	Deviates       = "deviation" // so, and the deviations file accepts it
	Flaky          = "flaky"     // so, but passed when run again
	StagefrontOnly = "stagefront-only"
	BothFail       = "both-fail" // the environment or the harness
)

// Row is one test instance compared.
type Row struct {
	Test                 string
	Upstream, Stagefront Status
	Verdict              string
	Note                 string
}

// Comparison is the outcome of one run of the suite on both images.
type Comparison struct {
	Channel, Mode string
	Rows          []Row
	// Stale are deviations of this run whose tests ran and do not differ.
	Stale []string
}

// Compare compares the instances (see Source.IsInstance) of two runs,
// test by test. retried are the results of stagefront's second run of the
// tests that passed with upstream only; subtests the sub-tests of both,
// for the note of a difference. funcs are the functions that ran, for
// stale deviations.
func Compare(channel, mode string, upstream, stagefront, retried map[string]Status, subtests func(test string) []string, devs []Deviation, funcs []string) *Comparison {
	c := &Comparison{Channel: channel, Mode: mode}
	names := slices.Sorted(maps.Keys(upstream))
	for n := range stagefront {
		if _, ok := upstream[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	hit := map[string]bool{}
	for _, n := range names {
		r := Row{Test: n, Upstream: statusOr(upstream, n), Stagefront: statusOr(stagefront, n)}
		switch {
		case r.Upstream == Pass && r.Stagefront != Pass:
			if retried[n] == Pass {
				r.Verdict, r.Note = Flaky, "failed once with stagefront, passed when run again"
			} else if d, ok := deviationFor(devs, channel, mode, n); ok {
				r.Verdict, r.Note = Deviates, d.Reason
				hit[d.Name] = true
			} else {
				r.Verdict = Different
				if subs := subtests(n); len(subs) > 0 {
					r.Note = "sub-tests: " + listShort(subs, 6)
				}
			}
		case r.Upstream != Pass && r.Stagefront == Pass:
			r.Verdict = StagefrontOnly
		case (r.Upstream == Fail || r.Upstream == None) && (r.Stagefront == Fail || r.Stagefront == None):
			r.Verdict = BothFail
		}
		c.Rows = append(c.Rows, r)
	}
	for _, d := range devs {
		if !d.appliesTo(channel, mode) || hit[d.Name] {
			continue
		}
		if slices.ContainsFunc(funcs, func(f string) bool { return d.Name == f || strings.HasPrefix(d.Name, f+"/") }) {
			c.Stale = append(c.Stale, d.Name)
		}
	}
	return c
}

func statusOr(m map[string]Status, n string) Status {
	if s, ok := m[n]; ok {
		return s
	}
	return None
}

func deviationFor(devs []Deviation, channel, mode, test string) (Deviation, bool) {
	for _, d := range devs {
		if d.appliesTo(channel, mode) && d.covers(test) {
			return d, true
		}
	}
	return Deviation{}, false
}

// listShort joins the first n of items, then "and N more".
func listShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// Count returns how many rows have verdict v.
func (c *Comparison) Count(v string) int {
	n := 0
	for _, r := range c.Rows {
		if r.Verdict == v {
			n++
		}
	}
	return n
}

// OK reports whether no test passes with upstream and not with
// stagefront, but for accepted deviations and flakes.
func (c *Comparison) OK() bool { return c.Count(Different) == 0 }

// WriteTSV writes the rows: test, upstream, stagefront, verdict, note.
func (c *Comparison) WriteTSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "test\tupstream\tstagefront\tverdict\tnote"); err != nil {
		return err
	}
	for _, r := range c.Rows {
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Test, r.Upstream, r.Stagefront, r.Verdict, r.Note); err != nil {
			return err
		}
	}
	return nil
}

// Tally counts outcomes of one image's instances.
func Tally(results map[string]Status) map[Status]int {
	out := map[Status]int{}
	for _, s := range results {
		out[s]++
	}
	return out
}
