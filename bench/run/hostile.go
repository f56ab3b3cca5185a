package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/lint"
	"github.com/org/stagefront/frontend/rewrite"
)

// hostile_growth: how the engine's time grows on hostile files. For each
// kind of file, the in-process time of rewrite.Rewrite on size 8n over
// its time on size n (linear: 8); the value is the worst kind. Most of
// these files are errors: the time measured is the time to get the error
// back, which is what a hostile (or broken) file costs a builder.

// hostileKind generates one kind of hostile file of n units.
type hostileKind struct {
	name string
	// n is the kind's small size, in its units; the big one is 8n.
	n int
	// fails is a piece of the error the file must get at both sizes, ""
	// when it must rewrite without one (checked, to catch a generator
	// that stopped testing what it meant to, or a file stopped early by
	// another error: a limit of the engine).
	fails string
	// check: also time the check path (rewrite, then stagefront's own
	// rules, as `stagefront check` runs them) on this kind.
	check bool
	gen   func(b *strings.Builder, n int)
}

// hostileHeader starts every file: an ARG and a condition, so that the
// file is extended and the engine does its work.
const hostileHeader = "# syntax=org/stagefront\nARG A=1\n"

// stageN is the small size of the kinds whose units are stages: at 8n,
// under syntax.MaxStages (10,000), past which an extended file is
// rejected before its analysis.
const stageN = 1200

var hostileKinds = []hostileKind{
	// Blocks of 64 nested IFs (the deepest allowed) around a RUN; a unit
	// is one block (129 lines).
	{name: "nested_if_64", n: 1000, gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox\n")
		for range n {
			b.WriteString(strings.Repeat("IF A\n", 64))
			b.WriteString("RUN echo a\n")
			b.WriteString(strings.Repeat("END\n", 64))
		}
	}},
	{name: "stray_end", n: 5000, fails: "END without IF", gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox\nRUN --if=A echo a\n")
		for range n {
			b.WriteString("END\n")
		}
	}},
	// One block: IF, then n ELSEs (each after an ELSE but the first).
	{name: "else_after_else", n: 5000, fails: "ELSE after ELSE", gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox\nIF A\nRUN echo a\n")
		for range n {
			b.WriteString("ELSE\nRUN echo b\n")
		}
		b.WriteString("END\n")
	}},
	// Stage i REQUIREs stage i-1; the target (the last) gates on all.
	{name: "require_chain", n: stageN, check: true, gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox AS s0\nRUN --if=A echo 0\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(b, "FROM busybox AS s%d\nREQUIRE s%d\nRUN echo %d\n", i, i-1, i)
		}
	}},
	// One stage REQUIREs n stages, one a line.
	{name: "require_fan_in", n: stageN, check: true, gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "FROM busybox AS s%d\nRUN echo %d\n", i, i)
		}
		b.WriteString("FROM busybox AS final\n")
		for i := range n {
			fmt.Fprintf(b, "REQUIRE --if=A s%d\n", i)
		}
	}},
	// Stage i copies from stage i-1 by number.
	{name: "copy_from_number", n: stageN, check: true, gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox\nRUN --if=A echo 0\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(b, "FROM busybox\nCOPY --if=A --from=%d /a /a%d\n", i-1, i)
		}
	}},
	// n stages, then one stage with n pairs ARG Xi=si, COPY --from=${Xi}.
	{name: "arg_copy_from_pairs", n: stageN, check: true, gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "FROM busybox AS s%d\nRUN echo %d\n", i, i)
		}
		b.WriteString("FROM busybox AS final\n")
		for i := range n {
			fmt.Fprintf(b, "ARG X%d=s%d\nCOPY --from=${X%d} /a /a%d\n", i, i, i, i)
		}
	}},
	// n global ARGs, and n conditions that each read a misspelling of one
	// of them: n undeclared names, each with a did-you-mean to find.
	{name: "undeclared_names", n: 5000, fails: "undeclared name", gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "ARG OPT_%d=1\n", i)
		}
		b.WriteString("FROM busybox\n")
		for i := range n {
			fmt.Fprintf(b, "RUN --if=OPTX_%d echo %d\n", i, i)
		}
	}},
	// n stages, each copying from a misspelt stage name held by an ARG.
	{name: "misspelt_copy_from_arg", n: stageN, fails: "names no stage of this file; did you mean", gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "FROM busybox AS stage%d\nARG X=stagex%d\nCOPY --from=${X} /a /a\n", i, i)
		}
	}},
	// n stages, and one that REQUIREs a misspelling of each.
	{name: "misspelt_require", n: stageN, fails: "which is not a stage of this file; did you mean", gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "FROM busybox AS stage%d\nRUN echo %d\n", i, i)
		}
		b.WriteString("FROM busybox AS final\n")
		for i := range n {
			fmt.Fprintf(b, "REQUIRE stagex%d\n", i)
		}
	}},
	// n distinct exists() conditions (a context that answers from memory,
	// as a build's answers after its one read of the context).
	{name: "exists_paths", n: 5000, check: true, gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox\n")
		for i := range n {
			fmt.Fprintf(b, "RUN --if=\"exists('p%d')\" echo %d\n", i, i)
		}
	}},
	// n blocks that each start one of two stages with an ARG of one name;
	// after each END, a condition reads it in whichever holds.
	{name: "stage_joins", n: stageN / 2, check: true, gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "IF A\nFROM busybox AS a%d\nARG V=1\nELSE\nFROM busybox AS b%d\nARG V=0\nEND\nRUN --if=V echo %d\n", i, i, i)
		}
	}},
	// n blocks without ELSE that each start a stage: the lines after them
	// may continue more and more stages, past the limit; each declares an
	// ARG that a condition after the next block reads.
	{name: "joins_over_limit", n: stageN, fails: "may continue any of more than", gen: func(b *strings.Builder, n int) {
		b.WriteString("FROM busybox AS base\n")
		for i := range n {
			fmt.Fprintf(b, "IF A\nFROM busybox AS s%d\nARG V=1\nEND\nRUN --if=V echo %d\n", i, i)
		}
	}},
	// n global ARGs, each read by one stage (redeclared, a condition and
	// the RUN).
	{name: "global_args", n: stageN, check: true, gen: func(b *strings.Builder, n int) {
		for i := range n {
			fmt.Fprintf(b, "ARG G%d=1\n", i)
		}
		for i := range n {
			fmt.Fprintf(b, "FROM busybox AS s%d\nARG G%d\nRUN --if=G%d echo $G%d\n", i, i, i, i)
		}
	}},
}

// existsContext answers exists() from memory: every path whose name ends
// in an even digit exists.
type existsContext struct{}

func (existsContext) Exists(_ context.Context, p string) (bool, error) {
	return p != "" && (p[len(p)-1]-'0')%2 == 0, nil
}
func (existsContext) Expect([]string) {}

func hostileGrowth() []measure {
	const key = "hostile_growth"
	reps, div := 5, 1
	limit := 2 * time.Minute  // one rewrite
	checkLimit := time.Minute // one size of the check path, all its runs
	if *smoke {
		reps, div, limit, checkLimit = 1, 10, 10*time.Second, 10*time.Second
	}
	d := map[string]any{"runs": reps, "factor": 8, "gomaxprocs": runtime.GOMAXPROCS(0),
		"method": "wall time of rewrite.Rewrite in this process, median of runs (rounds of n then 8n, after a warm-up at n), each after a GC; cpu_ratio: the same with the process's CPU time (user+sys), less sensitive to a loaded machine"}
	details["hostile"] = d
	var kinds []map[string]any
	worst, worstName := 0.0, ""
	var notes, over []string
	overBy := 0.0
	checkWorst, checkWorstName := 0.0, ""
	var checkOther []string // the check ratios that are no number
	for _, k := range hostileKinds {
		n := max(k.n/div, 1)
		kd := map[string]any{"name": k.name, "n": n}
		kinds = append(kinds, kd)
		d["kinds"] = kinds
		small, big := hostileFile(k, n), hostileFile(k, 8*n)
		kd["lines"] = []int{strings.Count(string(small), "\n"), strings.Count(string(big), "\n")}
		opt := rewrite.Options{Context: existsContext{}}

		// A warm-up at n (not timed): the first run pays for growing the
		// heap and the engine's lazily built tables.
		if _, err := timeRewrite(small, opt, 1, limit, false); err != nil {
			return []measure{{Key: key, Value: errValue(fmt.Errorf("%s at n: %w", k.name, err))}}
		}
		// Rounds of n then 8n, so that both sizes see the same drift of
		// a shared machine's load.
		var r, rb timing
		var overErr error
		for range reps {
			ri, err := timeRewrite(small, opt, 1, limit, false)
			if err != nil {
				return []measure{{Key: key, Value: errValue(fmt.Errorf("%s at n: %w", k.name, err))}}
			}
			r.add(ri)
			rbi, err := timeRewrite(big, opt, 1, limit, false)
			if err != nil {
				overErr = err
				break
			}
			rb.add(rbi)
		}
		r.finish()
		rb.finish()
		if r.err != "" {
			kd["error"] = r.err
		}
		for i, t := range []timing{r, rb} {
			if t.err == "" && k.fails == "" || k.fails != "" && strings.Contains(t.err, k.fails) || i == 1 && overErr != nil {
				continue
			}
			want := "no error"
			if k.fails != "" {
				want = fmt.Sprintf("an error with %q", k.fails)
			}
			return []measure{{Key: key, Value: fmt.Sprintf("error: %s at %s: want %s, got %q", k.name, []string{"n", "8n"}[i], want, t.err)}}
		}
		kd["ms"] = []float64{round3(r.wall * 1e3)}
		if overErr != nil {
			// Over the limit: the ratio is at least limit / time(n).
			lb := limit.Seconds() / r.wall
			kd["ratio"] = fmt.Sprintf("> %.0f", lb)
			logf("  %s: n=%d %.1f ms, 8n %v", k.name, n, r.wall*1e3, overErr)
			over = append(over, fmt.Sprintf("%s > %.0f (8n: %v)", k.name, lb, overErr))
			overBy = max(overBy, lb)
			continue
		}
		ratio := round3(rb.wall / r.wall)
		kd["ms"] = []float64{round3(r.wall * 1e3), round3(rb.wall * 1e3)}
		kd["ratio"] = ratio
		kd["cpu_ms"] = []float64{round3(r.cpu * 1e3), round3(rb.cpu * 1e3)}
		kd["cpu_ratio"] = round3(rb.cpu / r.cpu)
		kd["samples_ms"] = [][]float64{r.samples, rb.samples}
		logf("  %s: n=%d %.1f ms, 8n %.1f ms: %.2f (cpu %.2f)", k.name, n, r.wall*1e3, rb.wall*1e3, ratio, rb.cpu/r.cpu)
		notes = append(notes, fmt.Sprintf("%s %.1f", k.name, ratio))
		if ratio > worst {
			worst, worstName = ratio, k.name
		}

		if k.check {
			timeCheck(k, kd, n, reps, checkLimit)
			switch cr := kd["check_ratio"].(type) {
			case float64:
				if cr > checkWorst {
					checkWorst, checkWorstName = cr, k.name
				}
			case string:
				checkOther = append(checkOther, k.name+" "+cr)
			}
		}
	}
	if checkWorstName != "" {
		d["check_worst"] = map[string]any{"name": checkWorstName, "ratio": checkWorst}
	}
	note := fmt.Sprintf("time(8n)/time(n), linear 8: %s", strings.Join(notes, ", "))
	if checkWorstName != "" {
		note += fmt.Sprintf("; check path (details) worst: %s %.1f", checkWorstName, checkWorst)
	}
	if len(checkOther) > 0 {
		note += "; check path: " + strings.Join(checkOther, ", ")
	}
	if len(over) > 0 {
		return []measure{{Key: key, Value: fmt.Sprintf("> %.0f", max(overBy, worst)),
			Note: fmt.Sprintf("over the %s limit: %s; %s", limit, strings.Join(over, ", "), note)}}
	}
	return []measure{{Key: key, Value: worst, Note: "worst: " + worstName + "; " + note}}
}

// timeCheck times the check path of kind k at n and 8n, into kd. Each
// size runs in a child process (this program, -measure-check=KIND N REPS
// WARM: checkChild), killed after limit: stagefront's rules do not all
// look at the context, and a run left behind in this process would slow
// every measurement after it. The runs that finished in time count.
func timeCheck(k hostileKind, kd map[string]any, n, reps int, limit time.Duration) {
	c, err := runCheckChild(k.name, n, reps, true, limit)
	if err != nil {
		kd["check_ratio"] = errValue(err)
		return
	}
	kd["check_ms"] = []float64{round3(c.wall * 1e3)}
	cb, err := runCheckChild(k.name, 8*n, reps, false, limit)
	if err != nil {
		kd["check_ratio"] = errValue(err)
		return
	}
	if cb.runs == 0 {
		// Not one run in limit (no warm-up at 8n): at least limit/time(n).
		kd["check_ratio"] = fmt.Sprintf("> %.0f", limit.Seconds()/c.wall)
		logf("  %s check: n %.1f ms, 8n over %s", k.name, c.wall*1e3, limit)
		return
	}
	cr := round3(cb.wall / c.wall)
	kd["check_ms"] = []float64{round3(c.wall * 1e3), round3(cb.wall * 1e3)}
	kd["check_ratio"] = cr
	kd["check_cpu_ratio"] = round3(cb.cpu / c.cpu)
	if cb.runs < reps {
		kd["check_runs_8n"] = cb.runs // the others were over the limit
	}
	if c.err != "" || cb.err != "" {
		// The check kinds are valid files.
		kd["check_ratio"] = "error: " + c.err + cb.err
		return
	}
	logf("  %s check: n %.1f ms, 8n %.1f ms (%d runs): %.2f (cpu %.2f)", k.name, c.wall*1e3, cb.wall*1e3, cb.runs, cr, cb.cpu/c.cpu)
}

const measureCheckFlag = "-measure-check="

// checkRun is one timed run of a check child, a line of its output.
type checkRun struct {
	Wall, CPU float64 // seconds
	Err       string
}

type checkTiming struct {
	wall, cpu float64 // medians, seconds
	runs      int     // the runs that finished in time
	err       string
}

// runCheckChild times the check path of kind on n units in a child, and
// returns the medians of the runs that finished within limit (runs 0: none
// did, and the child was killed).
func runCheckChild(kind string, n, reps int, warm bool, limit time.Duration) (checkTiming, error) {
	exe, err := os.Executable()
	if err != nil {
		return checkTiming{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, measureCheckFlag+kind, strconv.Itoa(n), strconv.Itoa(reps), strconv.FormatBool(warm))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil && ctx.Err() == nil {
		return checkTiming{}, fmt.Errorf("check child: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var t checkTiming
	var walls, cpus []float64
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if l == "" {
			continue
		}
		var r checkRun
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return checkTiming{}, fmt.Errorf("check child: %v: %q", err, l)
		}
		walls, cpus = append(walls, r.Wall), append(cpus, r.CPU)
		t.err = r.Err
	}
	t.runs = len(walls)
	if t.runs == 0 && ctx.Err() == nil {
		return checkTiming{}, errors.New("check child: no runs")
	}
	if warm && t.runs < reps {
		return checkTiming{}, fmt.Errorf("the check path at n: %d of %d runs in %s", t.runs, reps, limit)
	}
	t.wall, t.cpu = median(walls), median(cpus)
	return t, nil
}

// checkChild is a check child's side: args are -measure-check=KIND N REPS
// WARM. It runs the check path on the kind's file of N units (once
// untimed first when WARM), then REPS timed runs, printing each as a line
// of JSON as soon as it is done.
func checkChild(args []string) {
	if len(args) != 4 {
		fatal(fmt.Errorf("usage: %sKIND N REPS WARM", measureCheckFlag))
	}
	name := strings.TrimPrefix(args[0], measureCheckFlag)
	n, err1 := strconv.Atoi(args[1])
	reps, err2 := strconv.Atoi(args[2])
	warm, err3 := strconv.ParseBool(args[3])
	if err := errors.Join(err1, err2, err3); err != nil {
		fatal(err)
	}
	i := slices.IndexFunc(hostileKinds, func(k hostileKind) bool { return k.name == name })
	if i < 0 {
		fatal(fmt.Errorf("no hostile kind %q", name))
	}
	dt := hostileFile(hostileKinds[i], n)
	opt := rewrite.Options{Context: existsContext{}}
	const noLimit = 24 * time.Hour // the parent kills this process
	if warm {
		if _, err := timeRewrite(dt, opt, 1, noLimit, true); err != nil {
			fatal(err)
		}
	}
	for range reps {
		t, err := timeRewrite(dt, opt, 1, noLimit, true)
		if err != nil {
			fatal(err)
		}
		out, _ := json.Marshal(checkRun{Wall: t.wall, CPU: t.cpu, Err: t.err})
		fmt.Printf("%s\n", out)
	}
}

func hostileFile(k hostileKind, n int) []byte {
	var b strings.Builder
	b.WriteString(hostileHeader)
	k.gen(&b, n)
	return []byte(b.String())
}

type timing struct {
	wall, cpu float64   // seconds, medians
	samples   []float64 // wall, ms
	cpus      []float64 // seconds
	err       string    // the first line of the rewrite's error, "" when none
}

// add appends the samples of o to t (then finish computes the medians).
func (t *timing) add(o timing) {
	t.samples = append(t.samples, o.samples...)
	t.cpus = append(t.cpus, o.cpus...)
	if o.err != "" {
		t.err = o.err
	}
}

func (t *timing) finish() { t.wall, t.cpu = median(t.samples)/1e3, median(t.cpus) }

// timeRewrite times reps runs of rewrite.Rewrite on dt (with check, the
// check path: the rewrite, then stagefront's rules on it), each after a
// GC, and returns their medians. A run over limit stops the measurement
// (the rewrite is cancelled; it may go on in the background until it
// next looks at its context).
func timeRewrite(dt []byte, opt rewrite.Options, reps int, limit time.Duration, check bool) (timing, error) {
	var t timing
	for range reps {
		runtime.GC()
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		done := make(chan error, 1)
		c0 := cpuTime()
		t0 := time.Now()
		go func() {
			rw, err := rewrite.Rewrite(ctx, dt, opt)
			if err == nil && check {
				err = runLint(ctx, dt, rw)
			}
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(limit):
			cancel()
			return t, fmt.Errorf("a run took over %s", limit)
		}
		took := time.Since(t0)
		t.cpus = append(t.cpus, cpuTime()-c0)
		cancel()
		t.samples = append(t.samples, round3(took.Seconds()*1e3))
		if err != nil {
			s := err.Error()
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[:i]
			}
			t.err = s
		}
	}
	t.finish()
	return t, nil
}

// cpuTime is the CPU time (user + system) this process has used, in
// seconds: every goroutine's, the GC's included.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// runLint runs stagefront's own rules on a rewrite, as `stagefront check`
// does after it (cmd/frontend/check.go; upstream's rules are not ours).
func runLint(ctx context.Context, dt []byte, rw *rewrite.Result) error {
	cfg, err := lint.Config(dt, nil)
	if err != nil {
		return err
	}
	_, err = lint.Run(ctx, &lint.Input{Rewrite: rw}, cfg, func(string, string, string, string, []parser.Range) {})
	return err
}
