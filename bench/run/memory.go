package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/rewrite"
)

// rewrite_memory_ratio: the peak memory of a rewrite against BuildKit's
// own parser.Parse of the same file, on large generated files.
//
// Each side runs in a child process that does only that work: this
// program re-executed with the hidden first argument
// -measure-memory=parse|rewrite|read FILE (memoryChild). The peak is the
// child's max RSS as wait4 reports it (Rusage.Maxrss, kilobytes on Linux).
// The child also prints its VmHWM (the high-water RSS of its own address
// space, /proc/self/status) as a cross-check: Linux folds the parent's
// high-water RSS into a vfork'ed child's Maxrss at exec, so Maxrss is only
// the child's own peak while this process stays smaller than the child
// (files are generated to disk by streaming, and this step runs before
// the in-process ones). details.memory.files[].parent_hwm_mb records it.

const measureMemoryFlag = "-measure-memory="

// memoryFile is one generated file of the measurement.
type memoryFile struct {
	name  string
	lines int // the repeated lines (conditions), besides the header
	gen   func(w *bufio.Writer, n int)
}

const memoryHeader = "# syntax=org/stagefront\nARG A=1\nFROM busybox\n"

// conditionTerms is how many `A=='i'` terms a long condition ORs: about
// 3 KB each, under the 4096-byte limit of a condition.
const conditionTerms = 300

var memoryFiles = []memoryFile{
	{"same_condition", 1_000_000, func(w *bufio.Writer, n int) {
		for range n {
			w.WriteString("RUN --if=A echo a\n")
		}
	}},
	{"distinct_conditions", 1_000_000, func(w *bufio.Writer, n int) {
		for i := range n {
			fmt.Fprintf(w, "RUN --if=\"A=='%d'\" echo a\n", i)
		}
	}},
	{"long_conditions", 5_000, func(w *bufio.Writer, n int) {
		var c strings.Builder
		for i := range n {
			c.Reset()
			for t := range conditionTerms {
				if t > 0 {
					c.WriteString("||")
				}
				fmt.Fprintf(&c, "A=='%d'", i+t)
			}
			if c.Len() >= 4096 {
				panic(fmt.Sprintf("condition of %d bytes: over the 4096-byte limit", c.Len()))
			}
			fmt.Fprintf(w, "RUN --if=\"%s\" echo a\n", c.String())
		}
	}},
}

func rewriteMemory() []measure {
	const key = "rewrite_memory_ratio"
	reps, scale := 3, 1
	limit := 5 * time.Minute
	if *smoke {
		reps, scale, limit = 1, 10, time.Minute
	}
	exe, err := os.Executable()
	if err != nil {
		return []measure{{Key: key, Value: errValue(err)}}
	}
	// The same environment for both sides: the default GOGC, no
	// GOMEMLIMIT.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	d := map[string]any{"runs": reps, "gomaxprocs": runtime.GOMAXPROCS(0),
		"method": "max RSS (wait4 Maxrss) of a child that reads the file and runs parser.Parse or rewrite.Rewrite; median of runs per side; value: worst file"}
	details["memory"] = d
	var files []map[string]any
	worst, worstName := 0.0, ""
	var notes []string
	for _, mf := range memoryFiles {
		n := mf.lines / scale
		p := filepath.Join(tmp, "memory", mf.name+".Dockerfile")
		size, err := writeGenerated(p, n, mf.gen)
		if err != nil {
			return []measure{{Key: key, Value: errValue(err)}}
		}
		fd := map[string]any{"name": mf.name, "lines": n, "mb": mb(size)}
		files = append(files, fd)
		d["files"] = files
		// The file alone (read and kept): what both sides have in common.
		base, err := runMemoryChild(exe, env, "read", p, limit)
		if err != nil {
			return []measure{{Key: key, Value: errValue(fmt.Errorf("%s: %w", mf.name, err))}}
		}
		// Its VmHWM: its Maxrss is at least this process's high-water RSS.
		fd["read_only_mb"] = mb(base.vmhwm * 1024)
		samples := map[string][]float64{}
		hwm := map[string][]float64{}
		secs := map[string][]float64{}
		for range reps {
			for _, side := range []string{"parse", "rewrite"} {
				r, err := runMemoryChild(exe, env, side, p, limit)
				if err != nil {
					return []measure{{Key: key, Value: errValue(fmt.Errorf("%s, %s: %w", mf.name, side, err))}}
				}
				samples[side] = append(samples[side], float64(r.maxrss))
				hwm[side] = append(hwm[side], float64(r.vmhwm))
				secs[side] = append(secs[side], round3(r.took.Seconds()))
			}
		}
		parseKB, rwKB := median(samples["parse"]), median(samples["rewrite"])
		ratio := round3(rwKB / parseKB)
		fd["parse_mb"], fd["rewrite_mb"], fd["ratio"] = mb(int64(parseKB)*1024), mb(int64(rwKB)*1024), ratio
		fd["parse_vmhwm_mb"], fd["rewrite_vmhwm_mb"] = mb(int64(median(hwm["parse"]))*1024), mb(int64(median(hwm["rewrite"]))*1024)
		fd["maxrss_kb"], fd["seconds"] = samples, secs
		fd["parent_hwm_mb"] = mb(selfHWM() * 1024)
		logf("  %s (%d lines, %.1f MB): parse %.0f MB, rewrite %.0f MB: %.3f", mf.name, n, mb(size), fd["parse_mb"], fd["rewrite_mb"], ratio)
		notes = append(notes, fmt.Sprintf("%s %.2f", mf.name, ratio))
		if ratio > worst {
			worst, worstName = ratio, mf.name
		}
	}
	return []measure{{Key: key, Value: worst,
		Note: fmt.Sprintf("peak RSS rewrite/parse, worst: %s (%s)", worstName, strings.Join(notes, ", "))}}
}

// writeGenerated writes the header and gen's n lines to p, streaming, so
// that this process stays small (see above), and returns the file's size.
func writeGenerated(p string, n int, gen func(*bufio.Writer, int)) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(p)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString(memoryHeader)
	gen(w, n)
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

type childMemory struct {
	maxrss int64 // kB, wait4
	vmhwm  int64 // kB, the child's own /proc/self/status
	took   time.Duration
}

func runMemoryChild(exe string, env []string, side, file string, limit time.Duration) (childMemory, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, measureMemoryFlag+side, file)
	cmd.Env = env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if ctx.Err() != nil {
		return childMemory{}, fmt.Errorf("over %s", limit)
	}
	if err != nil {
		return childMemory{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return childMemory{}, errors.New("no rusage on this platform")
	}
	r := childMemory{maxrss: ru.Maxrss, took: took}
	if f := strings.Fields(out.String()); len(f) == 2 && f[0] == "vmhwm_kb" {
		r.vmhwm, _ = strconv.ParseInt(f[1], 10, 64)
	}
	return r, nil
}

// memoryChild is the child's side: args are -measure-memory=SIDE FILE.
// It does only that work, keeps the result alive to the end, and prints
// its own high-water RSS.
func memoryChild(args []string) {
	side := strings.TrimPrefix(args[0], measureMemoryFlag)
	if len(args) != 2 {
		fatal(fmt.Errorf("usage: %sparse|rewrite|read FILE", measureMemoryFlag))
	}
	dt, err := os.ReadFile(args[1])
	if err != nil {
		fatal(err)
	}
	var res any
	switch side {
	case "read":
	case "parse":
		res, err = parser.Parse(bytes.NewReader(dt))
	case "rewrite":
		res, err = rewrite.Rewrite(context.Background(), dt, rewrite.Options{})
	default:
		err = fmt.Errorf("unknown side %q", side)
	}
	if err != nil {
		fatal(err)
	}
	fmt.Printf("vmhwm_kb %d\n", selfHWM())
	runtime.KeepAlive(res)
	runtime.KeepAlive(dt)
}

// selfHWM is this process's VmHWM in kB (0 when unknown).
func selfHWM() int64 {
	dt, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(dt), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func mb(bytes int64) float64 { return math.Round(float64(bytes)/(1<<20)*10) / 10 }
