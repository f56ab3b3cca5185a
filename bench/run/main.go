// Command run is the driver of hack/bench: it measures stagefront against
// the upstream dockerfile frontend (docker/dockerfile:upstream, built from
// the same BuildKit) on the local buildkitd, in one run, prints a table and
// writes bench/results.json. hack/bench sets up the environment (buildkitd,
// registry, both frontend images) and runs it from the repository root.
//
//	go run ./bench/run [-smoke] [-runs N] [-out bench/results.json]
//	go run ./bench/run -profile   (where the gateway's time goes; see profile.go)
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	registry      = "127.0.0.1:5000"
	busyboxImage  = "localhost:5000/stagefront-test/busybox:latest"
	syntaxUpstrem = "# syntax=docker/dockerfile:upstream"
)

// goal returns the most a key may measure: a fixed goal, and for the
// conversion ratios the double-parse floor this run
// measured (details.convert.floor: the engine must parse the file, and
// dockerfile2llb parses the rewrite again) plus a margin: 0.05 for the
// engine and the conversion, 0.10 for the gateway's whole per-platform
// path, its build checks included.
func goal(key string) (max float64, text string, ok bool) {
	fixed := map[string]float64{
		"cached_build_ratio":  1.03,
		"image_size_ratio":    1.05,
		"rewrite_parse_ratio": 1.25,
		"rewrite_growth":      11,
		"gate_parallel_ratio": 1.15,
		// Peak RSS of a rewrite over parser.Parse's, worst of three files.
		"rewrite_memory_ratio": 1.5,
		// Time at 8n over time at n, worst kind of hostile file (linear: 8).
		"hostile_growth": 12,
		// A Dockerfile that INCLUDEs 50 fragments over the same content as
		// one file.
		"include_ratio": 1.1,
		// Milliseconds from a change of a 2,000-line extended file to its
		// diagnostics, published by the language server (median).
		"lsp_diagnostics_ms": 50,
		// 16 cached builds at once through stagefront over 16 through
		// upstream's frontend on the same daemon (median of paired rounds).
		"concurrent_build_ratio": 1.05,
		// A standard file through the gateway over upstream: its cost is
		// a scan that proves it plain.
		"plain_convert_ratio": 1.02,
	}
	if g, ok := fixed[key]; ok {
		return g, "<= " + strconv.FormatFloat(g, 'f', -1, 64), true
	}
	margin := map[string]float64{"convert_ratio": 0.05, "gateway_path_ratio": 0.10}[key]
	if margin == 0 {
		return 0, "", false
	}
	c, _ := details["convert"].(map[string]any)
	floor, ok := c["floor"].(float64)
	if !ok {
		return 0, fmt.Sprintf("<= floor + %.2f", margin), false
	}
	g := round3(floor + margin)
	return g, fmt.Sprintf("<= %.3f (floor %.3f + %.2f)", g, floor, margin), true
}

var (
	smoke   = flag.Bool("smoke", false, "a short run (few runs, small files) that checks every measurement still works")
	runs    = flag.Int("runs", 0, "alternating runs per Dockerfile for cached_build_ratio (default 15, smoke 3)")
	outPath = flag.String("out", "", "where to write the results (default bench/results.json; smoke: a temp file)")
	only    = flag.String("only", "", "comma-separated keys to measure (default all)")
	image   = flag.String("stagefront", "org/stagefront", "the # syntax= image of the stagefront side (to compare an experimental build pushed under another name)")
	filter  = flag.String("files", "", "for cached_build_ratio, a regexp of the Dockerfiles to build (default all)")
	profile = flag.Bool("profile", false, "instead of the measurements: profile the gateway's per-platform path on the 200-stage file and print where its time and allocations go, phase by phase (writes .cache/profile/)")
)

// measure is one row of the table and one key of results.json.
type measure struct {
	Key   string
	Value any // float64, int, or a string: "pending", "error: ..."
	Note  string
}

// syntaxOurs is the stagefront side's # syntax= line (-stagefront).
var syntaxOurs = "# syntax=org/stagefront"

var (
	root    string
	tmp     string
	details = map[string]any{}
)

func main() {
	// The children of rewrite_memory_ratio and hostile_growth.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], measureMemoryFlag) {
		memoryChild(os.Args[1:])
		return
	}
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], measureCheckFlag) {
		checkChild(os.Args[1:])
		return
	}
	flag.Parse()
	syntaxOurs = "# syntax=" + *image
	if *runs == 0 {
		*runs = 15
		if *smoke {
			*runs = 3
		}
	}
	var err error
	if root, err = os.Getwd(); err != nil {
		fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fatal(errors.New("run from the repository root (hack/bench does)"))
	}
	if *profile {
		if err := runProfile(); err != nil {
			fatal(err)
		}
		return
	}
	if tmp, err = os.MkdirTemp("", "stagefront-bench-"); err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	if *outPath == "" {
		*outPath = filepath.Join(root, "bench", "results.json")
		if *smoke {
			*outPath = filepath.Join(tmp, "results.json")
		}
	}

	start := time.Now()
	machine := map[string]any{
		"cores":       runtime.NumCPU(),
		"goos_goarch": runtime.GOOS + "/" + runtime.GOARCH,
		"go":          runtime.Version(),
		"load_start":  loadavg(),
		"date":        start.UTC().Format(time.RFC3339),
		"smoke":       *smoke,
		"runs":        *runs,
	}

	steps := []struct {
		key string
		f   func() []measure
	}{
		{"image_size_ratio", imageSize},
		// Before the in-process steps: this process must stay smaller
		// than its children (see memory.go).
		{"rewrite_memory_ratio", rewriteMemory},
		{"rewrite_parse_ratio", rewriteBench}, // and rewrite_growth
		{"hostile_growth", hostileGrowth},
		{"include_ratio", includeBench},
		{"lsp_diagnostics_ms", lspBench},
		{"convert_ratio", convertBench},
		{"flag_toggle_rebuilt_steps", flagToggle},
		{"gate_parallel_ratio", gateParallel},
		{"cached_build_ratio", cachedBuilds},
		{"concurrent_build_ratio", concurrentBuildRatio},
	}
	var ms []measure
	for _, s := range steps {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), s.key) {
			continue
		}
		t0 := time.Now()
		logf("measuring %s ...", s.key)
		got := s.f()
		for _, m := range got {
			logf("  %s = %s (%s)", m.Key, show(m.Value), time.Since(t0).Round(time.Millisecond))
		}
		ms = append(ms, got...)
	}
	machine["load_end"] = loadavg()
	machine["seconds"] = math.Round(time.Since(start).Seconds())

	printTable(ms, machine)
	if err := write(ms, machine); err != nil {
		fatal(err)
	}
	logf("wrote %s in %s", *outPath, time.Since(start).Round(time.Second))

	// A smoke run fails when a measurement broke (not when it misses its
	// goal: that is for the full run to show).
	if *smoke {
		var broken []string
		for _, m := range ms {
			if s, ok := m.Value.(string); ok && strings.HasPrefix(s, "error") {
				broken = append(broken, m.Key+": "+s)
			}
		}
		if len(broken) > 0 {
			fatal(fmt.Errorf("smoke run: %d measurement(s) broke:\n  %s", len(broken), strings.Join(broken, "\n  ")))
		}
	}
}

// --- output --------------------------------------------------------------

func show(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', 3, 64)
	default:
		return fmt.Sprint(v)
	}
}

func verdict(m measure) string {
	f, ok := m.Value.(float64)
	if !ok {
		if m.Key == "flag_toggle_rebuilt_steps" {
			if n, ok := m.Value.(int); ok {
				ft, _ := details["flag_toggle"].(map[string]any)
				if g, ok := ft["guarded_steps"].(int); ok && n == g {
					return "ok"
				}
				return "MISS"
			}
		}
		return "-"
	}
	g, _, ok := goal(m.Key)
	if !ok {
		return "-"
	}
	if f <= g {
		return "ok"
	}
	return "MISS"
}

func goalText(key string) string {
	if key == "flag_toggle_rebuilt_steps" {
		return "= guarded"
	}
	_, text, _ := goal(key)
	return text
}

func printTable(ms []measure, machine map[string]any) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nstagefront vs docker/dockerfile:upstream (%v cores, load %v -> %v, %s%s)\n\n",
		machine["cores"], machine["load_start"], machine["load_end"], machine["date"], map[bool]string{true: ", SMOKE run"}[*smoke])
	fmt.Fprintf(&b, "| %-27s | %-10s | %-9s | %-4s | %s\n", "key", "value", "goal", "", "note")
	fmt.Fprintf(&b, "|%s|%s|%s|%s|%s\n", strings.Repeat("-", 29), strings.Repeat("-", 12), strings.Repeat("-", 11), strings.Repeat("-", 6), strings.Repeat("-", 6))
	for _, m := range ms {
		fmt.Fprintf(&b, "| %-27s | %-10s | %-9s | %-4s | %s\n", m.Key, show(m.Value), goalText(m.Key), verdict(m), m.Note)
	}
	if cb, ok := details["cached_build"].(map[string]any); ok {
		if files, ok := cb["files"].([]map[string]any); ok {
			fmt.Fprintf(&b, "\ncached builds, median wall time (ms) over %d alternating runs; ratio: median of paired runs:\n", *runs)
			fmt.Fprintf(&b, "  %-24s %10s %10s %7s\n", "Dockerfile", "stagefront", "upstream", "ratio")
			for _, f := range files {
				if s, ok := f["skipped"]; ok {
					fmt.Fprintf(&b, "  %-24s skipped: %v\n", f["name"], s)
					continue
				}
				fmt.Fprintf(&b, "  %-24s %10.0f %10.0f %7.3f\n", f["name"], f["stagefront_ms"], f["upstream_ms"], f["ratio"])
			}
		}
	}
	fmt.Println(b.String())
}

func write(ms []measure, machine map[string]any) error {
	out := map[string]any{}
	for _, m := range ms {
		out[m.Key] = m.Value
	}
	gs := map[string]string{}
	for _, m := range ms {
		gs[m.Key] = goalText(m.Key)
	}
	out["goals"] = gs
	out["details"] = details
	out["machine"] = machine
	dt, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*outPath, append(dt, '\n'), 0o644)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench] "+format+"\n", args...)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "[bench] ERROR: %v\n", err)
	os.Exit(1)
}

func errValue(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return "error: " + s
}

func loadavg() string {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(dt))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
