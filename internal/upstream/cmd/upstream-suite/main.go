// Command upstream-suite runs BuildKit's own frontend/dockerfile suite on
// upstream's frontend image and stagefront's and compares them, test by
// test (see package suite). hack/upstream-suite starts what it needs and
// runs it; its flags are that script's:
//
//	--subrequests   the lint, outline and targets tests, with their
//	                subrequests sent to the image under test
//	--both          the gateway mode, then --subrequests
//	--labs          the labs channel: the suite compiled with upstream's
//	                labs tags, on both labs images
//	--all           both modes, in both channels
//	--run REGEX     only the test functions whose name matches
//	--image REF     stagefront's image (repo:tag of the local registry)
//	--parallel N    tests at once
//
// It exits 1 when a test passes with upstream and not with stagefront,
// unless the deviations file (hack/upstream-suite.deviations) accepts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/internal/registry"
	"github.com/org/stagefront/internal/upstream"
	"github.com/org/stagefront/internal/upstream/suite"
)

type options struct {
	root, cache, registry, deviations string
	modes, channels                   []string
	run                               *regexp.Regexp
	images                            map[string]string // channel -> stagefront's ref
	parallel                          int
}

func main() {
	var o options
	var subrequests, both, labs, all bool
	var run, image string
	flag.StringVar(&o.root, "root", ".", "the repository root")
	flag.StringVar(&o.cache, "cache", "", "where the suite's sources, binaries, mirror and results are kept (default <root>/.cache/upstream-suite)")
	flag.StringVar(&o.registry, "registry", "127.0.0.1:5000", "the local registry (host:port) the images are read from")
	flag.StringVar(&o.deviations, "deviations", "", "the deviations file (default $UPSTREAM_SUITE_DEVIATIONS, else <root>/hack/upstream-suite.deviations)")
	flag.BoolVar(&subrequests, "subrequests", false, "the lint, outline and targets tests, with their subrequests sent to the image")
	flag.BoolVar(&both, "both", false, "the gateway mode, then --subrequests")
	flag.BoolVar(&labs, "labs", false, "the labs channel")
	flag.BoolVar(&all, "all", false, "both modes in both channels")
	flag.StringVar(&run, "run", "", "only the test functions whose name matches this regexp")
	flag.StringVar(&image, "image", "", "stagefront's image, repo:tag in the registry (default org/stagefront:latest, or :labs)")
	flag.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "tests at once (each starts its own buildkitd)")
	flag.Parse()

	o.modes = []string{"gateway"}
	switch {
	case subrequests:
		o.modes = []string{"subrequests"}
	case both || all:
		o.modes = []string{"gateway", "subrequests"}
	}
	o.channels = []string{"mainline"}
	switch {
	case all:
		o.channels = []string{"mainline", "labs"}
	case labs:
		o.channels = []string{"labs"}
	}
	o.images = map[string]string{"mainline": "org/stagefront:latest", "labs": "org/stagefront:labs"}
	if image != "" {
		if len(o.channels) > 1 {
			fatal(fmt.Errorf("--image names one image: give --labs or neither, not --all"))
		}
		o.images[o.channels[0]] = image
	}
	if run != "" {
		re, err := regexp.Compile(run)
		if err != nil {
			fatal(fmt.Errorf("--run: %w", err))
		}
		o.run = re
	}
	if o.cache == "" {
		o.cache = filepath.Join(o.root, ".cache", "upstream-suite")
	}
	if o.deviations == "" {
		o.deviations = os.Getenv("UPSTREAM_SUITE_DEVIATIONS")
	}
	if o.deviations == "" {
		o.deviations = filepath.Join(o.root, "hack", "upstream-suite.deviations")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := runAll(ctx, o)
	if err != nil {
		fatal(err)
	}
	if !ok {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "upstream-suite:", err)
	os.Exit(2)
}

// runAll runs every channel and mode; ok is false when one found a
// difference, or upstream passed nothing (a broken harness).
func runAll(ctx context.Context, o options) (ok bool, err error) {
	start := time.Now()
	log := os.Stderr
	version, err := upstream.RequiredVersion(o.root)
	if err != nil {
		return false, err
	}
	moduleDir, err := upstream.ModuleDir(o.root, version)
	if err != nil {
		return false, err
	}
	devs, err := readDeviations(o.deviations)
	if err != nil {
		return false, err
	}
	var own []string
	for _, r := range lint.Rules {
		own = append(own, r.RuleName())
	}
	reg := suite.Registry{Client: registry.Client{Host: o.registry}}
	ok = true
	for _, channel := range o.channels {
		tags, err := channelTags(moduleDir, channel)
		if err != nil {
			return false, err
		}
		bin, pkgDir, err := suite.Compile(ctx, moduleDir, version, tags, filepath.Join(o.cache, "src"), filepath.Join(o.cache, "bin"), log)
		if err != nil {
			return false, err
		}
		src, err := suite.ReadSource(pkgDir, tags)
		if err != nil {
			return false, err
		}
		refs := map[string]string{"upstream": "docker/dockerfile:upstream", "stagefront": o.images[channel]}
		if channel == "labs" {
			refs["upstream"] = "docker/dockerfile:upstream-labs"
		}
		images := map[string]suite.Image{}
		for _, name := range []string{"upstream", "stagefront"} {
			repo, tag, _ := strings.Cut(refs[name], ":")
			tar, err := reg.OCILayoutTar(ctx, repo, tag, filepath.Join(o.cache, "images"), channel+"-"+name)
			if err != nil {
				return false, fmt.Errorf("%s image %s: %w (hack/push-frontend pushes it)", name, refs[name], err)
			}
			images[name] = suite.Image{Name: name, Tar: tar}
			fmt.Fprintf(log, "%s (%s): %s = %s\n", name, channel, refs[name], filepath.Base(tar))
		}
		runner := &suite.Runner{Bin: bin, PkgDir: pkgDir, Mirror: filepath.Join(o.cache, "mirror"), Parallel: o.parallel, OwnRules: own, Log: log}
		for _, mode := range o.modes {
			funcs := src.Funcs
			if mode == "subrequests" {
				funcs = src.FuncsOf("lintTests", "outlineTests", "targetsTests")
			}
			if o.run != nil {
				funcs = slices.DeleteFunc(slices.Clone(funcs), func(f string) bool { return !o.run.MatchString(f) })
			}
			if len(funcs) == 0 {
				return false, fmt.Errorf("no test function matches --run %s", o.run)
			}
			modeOK, err := runMode(ctx, o, version, channel, mode, src, runner, images, refs, funcs, devs, log)
			if err != nil {
				return false, err
			}
			ok = ok && modeOK
		}
	}
	fmt.Fprintf(log, "done in %s\n", time.Since(start).Round(time.Second))
	return ok, nil
}

func channelTags(moduleDir, channel string) ([]string, error) {
	dt, err := os.ReadFile(filepath.Join(moduleDir, "frontend", "dockerfile", "release", channel, "tags"))
	if err != nil {
		return nil, fmt.Errorf("BuildKit has no channel %s: %w", channel, err)
	}
	return strings.Fields(string(dt)), nil
}

func readDeviations(p string) ([]suite.Deviation, error) {
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return suite.ParseDeviations(f)
}

// runMode runs one mode of one channel on both images, compares them and
// writes the results folder.
func runMode(ctx context.Context, o options, version, channel, mode string, src *suite.Source, runner *suite.Runner, images map[string]suite.Image, refs map[string]string, funcs []string, devs []suite.Deviation, log io.Writer) (bool, error) {
	t0 := time.Now()
	run := channel + "-" + mode
	dir := filepath.Join(o.cache, "results", time.Now().UTC().Format("20060102T150405Z")+"-"+run)
	if err := os.MkdirAll(filepath.Join(dir, "failures"), 0o755); err != nil {
		return false, err
	}
	fmt.Fprintf(log, "%s: %d test functions of BuildKit %s's frontend/dockerfile suite; results in %s\n", run, len(funcs), version, dir)
	streams := map[string]*suite.Stream{}
	results := map[string]map[string]suite.Status{}
	instances := map[string]map[string]suite.Status{}
	elapsed := map[string]time.Duration{}
	for _, name := range []string{"upstream", "stagefront"} {
		t := time.Now()
		fmt.Fprintf(log, "%s (%s): %d test functions, parallel %d\n", name, run, len(funcs), o.parallel)
		s, err := runner.Run(ctx, images[name], mode, funcs, filepath.Join(dir, name+".jsonl"))
		if err != nil {
			return false, err
		}
		streams[name], results[name], elapsed[name] = s, s.Final(), time.Since(t)
		instances[name] = map[string]suite.Status{}
		for test, st := range results[name] {
			if src.IsInstance(test) {
				instances[name][test] = st
			}
		}
		n := suite.Tally(instances[name])
		fmt.Fprintf(log, "%s: %d passed, %d failed, %d skipped, %d no result, in %s\n", name, n[suite.Pass], n[suite.Fail], n[suite.Skip], n[suite.None], elapsed[name].Round(time.Second))
	}
	// A test that passes with upstream and not with stagefront gets one
	// more try.
	var retry []string
	for test, st := range instances["upstream"] {
		if st == suite.Pass && instances["stagefront"][test] != suite.Pass {
			retry = append(retry, strings.SplitN(test, "/", 2)[0])
		}
	}
	slices.Sort(retry)
	retry = slices.Compact(retry)
	retried := map[string]suite.Status{}
	if len(retry) > 0 {
		fmt.Fprintf(log, "stagefront: running again what passed with upstream only: %s\n", strings.Join(retry, " "))
		s, err := runner.Run(ctx, images["stagefront"], mode, retry, filepath.Join(dir, "stagefront-retry.jsonl"))
		if err != nil {
			return false, err
		}
		retried = s.Final()
	}
	subtests := func(test string) []string {
		var out []string
		for name, st := range results["upstream"] {
			if sub, ok := strings.CutPrefix(name, test+"/"); ok && st == suite.Pass && results["stagefront"][name] != suite.Pass {
				out = append(out, sub)
			}
		}
		slices.Sort(out)
		return out
	}
	cmp := suite.Compare(channel, mode, instances["upstream"], instances["stagefront"], retried, subtests, devs, funcs)
	if err := writeResults(dir, cmp, streams, results); err != nil {
		return false, err
	}
	var report strings.Builder
	writeReport(&report, version, run, refs, images, cmp, instances, results, elapsed, streams["stagefront"], time.Since(t0))
	fmt.Print(report.String())
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(report.String()), 0o644); err != nil {
		return false, err
	}
	latest := filepath.Join(o.cache, "results", "latest-"+run)
	os.Remove(latest)
	if err := os.Symlink(filepath.Base(dir), latest); err != nil {
		return false, err
	}
	keepLast(filepath.Join(o.cache, "results"), "-"+run, 10)
	if suite.Tally(instances["upstream"])[suite.Pass] == 0 {
		fmt.Fprintf(log, "ERROR: not one test passed with upstream's image: the harness is broken (see %s)\n", filepath.Join(dir, "failures"))
		return false, nil
	}
	return cmp.OK(), nil
}

// writeResults writes results.tsv (an instance a line), subtests.tsv
// (every test and sub-test) and failures/ (the output of every test that
// failed).
func writeResults(dir string, cmp *suite.Comparison, streams map[string]*suite.Stream, results map[string]map[string]suite.Status) error {
	f, err := os.Create(filepath.Join(dir, "results.tsv"))
	if err != nil {
		return err
	}
	if err := cmp.WriteTSV(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, r := range results {
		for n := range r {
			names[n] = true
		}
	}
	var sub strings.Builder
	sub.WriteString("test\tupstream\tstagefront\n")
	for _, n := range sortedKeys(names) {
		fmt.Fprintf(&sub, "%s\t%s\t%s\n", n, statusOr(results["upstream"], n), statusOr(results["stagefront"], n))
	}
	if err := os.WriteFile(filepath.Join(dir, "subtests.tsv"), []byte(sub.String()), 0o644); err != nil {
		return err
	}
	for _, r := range cmp.Rows {
		for img, st := range map[string]suite.Status{"upstream": r.Upstream, "stagefront": r.Stagefront} {
			if st != suite.Fail && st != suite.None {
				continue
			}
			out := fmt.Sprintf("# %s with %s: %s\n%s", r.Test, img, st, streams[img].OutputOf(r.Test))
			if err := os.WriteFile(filepath.Join(dir, "failures", img+"--"+strings.ReplaceAll(r.Test, "/", "--")+".log"), []byte(out), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func statusOr(m map[string]suite.Status, n string) suite.Status {
	if s, ok := m[n]; ok {
		return s
	}
	return suite.None
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeReport writes what is printed and kept as summary.txt.
func writeReport(w io.Writer, version, run string, refs map[string]string, images map[string]suite.Image, cmp *suite.Comparison, instances, results map[string]map[string]suite.Status, elapsed map[string]time.Duration, stagefront *suite.Stream, took time.Duration) {
	fmt.Fprintf(w, "BuildKit %s frontend/dockerfile suite, %s, %s\n", version, run, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	for _, name := range []string{"upstream", "stagefront"} {
		fmt.Fprintf(w, "%-11s %s %s\n", name+":", refs[name], strings.TrimSuffix(filepath.Base(images[name].Tar), ".tar"))
	}
	fmt.Fprintln(w)
	width := 4
	for _, r := range cmp.Rows {
		width = max(width, len(r.Test))
	}
	fmt.Fprintf(w, "%-*s  %-8s  %-10s  %s\n", width, "test", "upstream", "stagefront", "verdict")
	for _, r := range cmp.Rows {
		fmt.Fprintf(w, "%-*s  %-8s  %-10s  %s\n", width, r.Test, r.Upstream, r.Stagefront, r.Verdict)
	}
	fmt.Fprintln(w)
	for _, name := range []string{"upstream", "stagefront"} {
		n := suite.Tally(instances[name])
		all := suite.Tally(results[name])
		fmt.Fprintf(w, "%-10s %3d tests: %3d pass, %3d fail, %3d skip, %3d no result (%s; sub-tests: %d pass, %d fail)\n", name,
			len(instances[name]), n[suite.Pass], n[suite.Fail], n[suite.Skip], n[suite.None], elapsed[name].Round(time.Second),
			all[suite.Pass]-n[suite.Pass], all[suite.Fail]-n[suite.Fail])
	}
	fmt.Fprintf(w, "fail with both (environment or harness): %d; pass with stagefront only: %d; flaky: %d\n", cmp.Count(suite.BothFail), cmp.Count(suite.StagefrontOnly), cmp.Count(suite.Flaky))
	if strings.HasSuffix(run, "subrequests") {
		fmt.Fprintln(w, "accepted: warnings of stagefront's own rules taken out of lint results:")
		dropped := stagefront.Dropped()
		for _, rule := range sortedByCount(dropped) {
			fmt.Fprintf(w, "  %d %s\n", dropped[rule], rule)
		}
	}
	if n := cmp.Count(suite.Deviates); n > 0 {
		fmt.Fprintf(w, "deviations (%d, listed in the deviations file):\n", n)
		for _, r := range cmp.Rows {
			if r.Verdict == suite.Deviates {
				fmt.Fprintf(w, "  %s: %s\n", r.Test, r.Note)
				for _, l := range stagefront.FailureHead(r.Test, 2) {
					fmt.Fprintf(w, "      %s\n", l)
				}
			}
		}
	}
	if len(cmp.Stale) > 0 {
		fmt.Fprintf(w, "listed in the deviations file but not different any more (remove them): %s\n", strings.Join(cmp.Stale, " "))
	}
	if cmp.OK() {
		fmt.Fprintln(w, "OK: no test passes with upstream and not with stagefront, but for the listed deviations")
	} else {
		fmt.Fprintf(w, "DIFFERENT: %d test(s) pass with upstream and not with stagefront:\n", cmp.Count(suite.Different))
		for _, r := range cmp.Rows {
			if r.Verdict != suite.Different {
				continue
			}
			note := ""
			if r.Note != "" {
				note = " (" + r.Note + ")"
			}
			fmt.Fprintf(w, "  %s%s\n", r.Test, note)
			for _, l := range stagefront.FailureHead(r.Test, 4) {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "%s took %s\n", run, took.Round(time.Second))
}

func sortedByCount(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return out
}

// keepLast removes all but the last n result folders that end in suffix.
func keepLast(dir, suffix string, n int) {
	entries, _ := os.ReadDir(dir)
	var runs []string
	for _, e := range entries {
		if e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
			runs = append(runs, e.Name())
		}
	}
	slices.Sort(runs)
	for len(runs) > n {
		os.RemoveAll(filepath.Join(dir, runs[0]))
		runs = runs[1:]
	}
}
