//go:build e2e && faults

package e2e

// Faults end to end, on the private buildkitd and registry of hack/faults
// (never the shared ones): a build cancelled by its client during a long
// rewrite stops the frontend within seconds and leaves no process or
// container; the frontend's memory on the largest hostile files, read from
// the cgroups of the containers buildkitd starts, against upstream's on
// standard files of the same size; the registry down gives a clear error
// and no panic; buildkitd restarted during a build gives the client an
// error, not a hang, and the next build works.
//
//	hack/faults                      # all of them
//	hack/faults -run TestFaults/Restart
//
// Without hack/faults' variables every test fails (it never skips).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/org/stagefront/frontend/builder"
	"github.com/org/stagefront/internal/bkharness"
)

// maxDockerfile is the size of the largest files: under BuildKit's 16 MiB
// (one gRPC message, the README's Limits: File size), with room for the
// message's own fields.
const maxDockerfile = 16<<20 - 4096

// memoryBound is the most the frontend's peak memory on a hostile file may
// be, as a multiple of upstream's frontend on a standard file of the same
// size and lines: the README bounds a rewrite's peak by 1.5x BuildKit's own
// parser.Parse of the same file (Limits: Memory), and states no absolute
// bound for the gateway.
const memoryBound = 1.5

// cancelBound is how soon the frontend must stop once its client is gone.
const cancelBound = 10 * time.Second

// inProcessCancelBound is how soon stagefront's own Build must return once
// its context is cancelled during the rewrite. BuildKit's parse of the
// file is one step that does not look at the context (README: Limits,
// Time; analysis.Analyze): on the largest files it takes 3-4 s here.
const inProcessCancelBound = 10 * time.Second

// hostileKind is one of the largest hostile files: every line guarded and
// off, so the whole cost is stagefront's (nothing is left to convert).
type hostileKind struct {
	name   string
	header string           // after the # syntax= line
	line   func(int) string // line i, with its newline
}

var largestHostile = []hostileKind{
	// A million-line file of one condition (bench/run/memory.go's
	// same_condition, cut to the file size limit: 931,837 lines).
	{"same_condition", "ARG A=false\nFROM busybox\n", func(int) string { return "RUN --if=A echo a\n" }},
	// Distinct conditions, each compiled (distinct_conditions, 562,806
	// lines): the worst of rewrite_memory_ratio.
	{"distinct_conditions", "ARG A=none\nFROM busybox\n", func(i int) string { return fmt.Sprintf("RUN --if=\"A=='%d'\" echo a\n", i) }},
}

// file is the kind's file of maxDockerfile bytes at most, with syntax.
func (k hostileKind) file(syntax, nonce string) (string, int) {
	var b strings.Builder
	b.Grow(maxDockerfile)
	b.WriteString(syntax + "\n# " + nonce + "\n" + k.header)
	n := 0
	for {
		l := k.line(n)
		if b.Len()+len(l) > maxDockerfile {
			return b.String(), n
		}
		b.WriteString(l)
		n++
	}
}

// standard is a standard file of the same lines and size as the kind's:
// each line a RUN of the same length, in a stage no target reaches (so
// that, as with the hostile file, little is left to convert), then the
// target.
func (k hostileKind) standard(syntax, nonce string, lines int) string {
	var b strings.Builder
	b.Grow(maxDockerfile)
	b.WriteString(syntax + "\n# " + nonce + "\nARG A=none\nFROM busybox AS unused\n")
	for i := range lines {
		l := k.line(i)
		b.WriteString("RUN echo " + strings.Repeat("a", len(l)-len("RUN echo \n")) + "\n")
	}
	b.WriteString("FROM busybox\n")
	return b.String()
}

var dumpRe = regexp.MustCompile(`(?i)panic|goroutine \d+ \[`)

// noPanic fails the test when out holds a panic or a goroutine dump.
func noPanic(t *testing.T, what, out string) {
	t.Helper()
	if m := dumpRe.FindStringIndex(out); m != nil {
		lo, hi := max(m[0]-300, 0), min(m[1]+300, len(out))
		t.Errorf("%s has a panic or goroutine dump: ...%s...", what, out[lo:hi])
	}
}

func TestFaults(t *testing.T) {
	f := bkharness.FaultsEnv(t)
	if !f.Answers() {
		t.Fatalf("the private buildkitd does not answer on %s (hack/faults starts it)", f.Addr)
	}
	logFrom := bkharness.FileSize(f.DaemonLog)
	// The order matters: Restart leaves the old daemon's containers behind.
	t.Run("Memory", func(t *testing.T) { testFaultsMemory(t, f) })
	t.Run("CancelClientKilled", func(t *testing.T) { testFaultsCancelClientKilled(t, f) })
	t.Run("CancelInProcess", func(t *testing.T) { testFaultsCancelInProcess(t, f) })
	t.Run("RegistryDown", func(t *testing.T) { testFaultsRegistryDown(t, f) })
	t.Run("Restart", func(t *testing.T) { testFaultsRestart(t, f) })
	// The daemon itself never panicked meanwhile.
	noPanic(t, "the private buildkitd's log ("+f.DaemonLog+")", strings.Join(bkharness.LogLines(f.DaemonLog, logFrom), "\n"))
}

// waitIdle waits until no container of the daemon has a process left.
func waitIdle(t *testing.T, f bkharness.Faults) {
	t.Helper()
	bkharness.WaitUntil(t, time.Minute, "no process left in the private daemon's containers", func() bool {
		return len(f.ContainerProcs()) == 0
	})
}

// frontendPeak builds df on the private daemon (no export) and returns the
// peak memory of the frontend's container, from its cgroup.
func frontendPeak(t *testing.T, f bkharness.Faults, what, df, binary string) int64 {
	t.Helper()
	var r *bkharness.Result
	var total int64
	var per []bkharness.MemPeak
	for attempt := 1; ; attempt++ {
		waitIdle(t, f)
		w := f.WatchMemory(t)
		r = bkharness.BuildctlOn(t, f.Addr, bkharness.Opts{Dockerfile: df, Output: bkharness.OutputNone, Timeout: 3 * time.Minute})
		total, per = w.Stop()
		// On a machine loaded by other work the largest files may run
		// out of the rewrite's time budget (30 s of wall time): that
		// build stopped before its work was done, so its peak is no
		// measure. Try again, a few times.
		if r.Err != nil && strings.Contains(r.Progress, "longer than its budget") && attempt < 3 {
			t.Logf("%s: the rewrite ran out of its time budget (load %s); again", what, loadavg())
			continue
		}
		break
	}
	r.Must(t)
	var fe []bkharness.MemPeak
	for _, m := range per {
		for _, c := range m.Cmds {
			if strings.HasPrefix(c, binary) {
				fe = append(fe, m)
				break
			}
		}
	}
	if len(fe) != 1 {
		t.Fatalf("%s: want one container running %s, saw %+v", what, binary, per)
	}
	for _, m := range per {
		if m.Cgroup != fe[0].Cgroup {
			t.Logf("%s: another container cgroup: %+v", what, m)
		}
	}
	t.Logf("%s: frontend container peak %.0f MB (anonymous %.0f MB), all containers %.0f MB, %d container(s), build %s",
		what, mb(fe[0].Peak), mb(fe[0].Anon), mb(total), len(per), r.Took.Round(time.Millisecond))
	// On cgroup v1 the parent's high-water mark is exact even for a peak
	// between two polls; the frontend is the only container here.
	return max(fe[0].Peak, total)
}

// loadavg is the machine's load average (1, 5, 15 minutes).
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:min(3, len(strings.Fields(string(b))))], " ")
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func testFaultsMemory(t *testing.T, f bkharness.Faults) {
	nonce := nonce(t)
	var report []string
	for _, k := range largestHostile {
		df, lines := k.file(bkharness.SyntaxStagefront, nonce)
		std := k.standard(bkharness.SyntaxUpstream, nonce, lines)
		ours := frontendPeak(t, f, "stagefront, "+k.name, df, "/bin/stagefront")
		up := frontendPeak(t, f, "upstream, standard file like "+k.name, std, "/bin/dockerfile-frontend")
		pass := frontendPeak(t, f, "stagefront, standard file like "+k.name, strings.Replace(std, bkharness.SyntaxUpstream, bkharness.SyntaxStagefront, 1), "/bin/stagefront")
		ratio := float64(ours) / float64(up)
		line := fmt.Sprintf("%s (%d lines, %.1f MB): stagefront %.0f MB, upstream on a standard file of the same size %.0f MB: %.2f; stagefront on that standard file %.0f MB (%.2f)",
			k.name, lines, mb(int64(len(df))), mb(ours), mb(up), ratio, mb(pass), float64(pass)/float64(up))
		report = append(report, line)
		if ratio > memoryBound {
			t.Errorf("%s: the frontend's peak is %.2fx upstream's on a standard file of the same size; the bound is %.1fx", k.name, ratio, memoryBound)
		}
		if r := float64(pass) / float64(up); r > memoryBound {
			t.Errorf("%s: on a standard file stagefront's peak is %.2fx upstream's; the bound is %.1fx", k.name, r, memoryBound)
		}
	}
	t.Logf("frontend peak memory, in the build (container cgroups):\n  %s", strings.Join(report, "\n  "))
}

// isFrontend reports whether a command line runs a frontend binary
// (stagefront's /bin/stagefront, upstream's /bin/dockerfile-frontend).
func isFrontend(cmd string) bool {
	argv0, _, _ := strings.Cut(cmd, " ")
	switch filepath.Base(argv0) {
	case "stagefront", "dockerfile-frontend", "frontend":
		return true
	}
	return false
}

// longRewrite is a file whose rewrite takes seconds (the largest
// distinct_conditions file: about 9 s on 2 cores).
func longRewrite(nonce string) string {
	df, _ := largestHostile[1].file(bkharness.SyntaxStagefront, nonce)
	return df
}

func testFaultsCancelClientKilled(t *testing.T, f bkharness.Faults) {
	waitIdle(t, f)
	b := bkharness.StartBuildctl(t, f.Addr, bkharness.Opts{Dockerfile: longRewrite(nonce(t)), Output: bkharness.OutputNone, Progress: "rawjson", Timeout: 3 * time.Minute})
	t.Cleanup(b.Kill)
	// The frontend's container is at work on the file: it has used a
	// second of CPU (reading the file costs far less; the rewrite about 9).
	var fe bkharness.Proc
	bkharness.WaitUntil(t, 2*time.Minute, "the frontend container has used 1 s of CPU", func() bool {
		if b.Exited() {
			t.Fatalf("the build ended before the frontend got to work:\n%s", bkharness.Tail(b.Progress(), 30))
		}
		for _, p := range f.ContainerProcs() {
			if isFrontend(p.Cmd) && p.CPU >= time.Second {
				fe = p
				return true
			}
		}
		return false
	})
	if b.Exited() {
		t.Fatal("the build ended before it could be cancelled")
	}
	t.Logf("frontend pid %d in %s, %s of CPU: killing the client", fe.Pid, fe.Cgroup, fe.CPU)
	daemon := f.DaemonPid(t)
	b.Kill()
	took := bkharness.WaitUntil(t, time.Minute, "no process left in the private daemon's containers after the client was killed", func() bool {
		return len(f.ContainerProcs()) == 0
	})
	t.Logf("the frontend stopped %s after its client was killed", took.Round(time.Millisecond))
	if took > cancelBound {
		t.Errorf("the frontend stopped %s after its client was killed; want within %s", took, cancelBound)
	}
	bkharness.WaitUntil(t, 10*time.Second, "runc lists no container of the private daemon", func() bool {
		return len(f.RuncContainers(t)) == 0
	})
	// Nor is any process named like a frontend binary under buildkitd (a
	// container's init, runc's child, is what it would be).
	bkharness.WaitUntil(t, 10*time.Second, "no frontend process under the private buildkitd", func() bool {
		for _, p := range bkharness.ProcTree(daemon) {
			if isFrontend(p.Cmd) {
				t.Logf("still under buildkitd: %+v", p)
				return false
			}
		}
		return true
	})
	r := b.Wait(t, 10*time.Second)
	if r.Err == nil {
		t.Error("the killed build succeeded")
	}
	// The daemon goes on: the next build through the frontend works.
	n := nonce(t)
	r = bkharness.BuildctlOn(t, f.Addr, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\nARG A=1\nFROM busybox\nRUN --if=A echo " + n + " > /n\nFROM scratch\nCOPY --from=0 /n /n\n"}).Must(t)
	if got := r.File(t, "n"); got != n+"\n" {
		t.Errorf("after the cancel, exported n = %q", got)
	}
}

// inProcessRewrite builds df with stagefront's Build in this process on
// the private daemon; with cancelAfter > 0, it cancels the build once
// the rewrite has used that much CPU after the Dockerfile was read (the
// rewrite is this process's only work then). It returns when the
// Dockerfile was read, when the build was cancelled (zero: it was not)
// and when Build returned.
func inProcessRewrite(t *testing.T, f bkharness.Faults, df string, cancelAfter time.Duration) (r *bkharness.Result, read, cancelled, returned time.Time) {
	t.Helper()
	var mu sync.Mutex
	var readCPU time.Duration
	loaded := make(chan struct{})
	var once sync.Once
	onRead := func(name string, size int) {
		if size < 1<<20 {
			return
		}
		once.Do(func() {
			mu.Lock()
			read, readCPU = time.Now(), bkharness.SelfCPU()
			mu.Unlock()
			close(loaded)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		if cancelAfter == 0 {
			return
		}
		select {
		case <-loaded:
		case <-ctx.Done():
			return
		}
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			used := bkharness.SelfCPU() - readCPU
			mu.Unlock()
			if used >= cancelAfter {
				break
			}
		}
		mu.Lock()
		cancelled = time.Now()
		mu.Unlock()
		cancel()
	}()
	r, returned = bkharness.InProcessOn(ctx, t, f.Addr, bkharness.Opts{Dockerfile: df, Output: bkharness.OutputNone, Timeout: 3 * time.Minute},
		bkharness.WatchReads(builder.Build, onRead))
	cancel()
	<-watcherDone
	mu.Lock()
	defer mu.Unlock()
	if read.IsZero() {
		t.Fatalf("the frontend never read the Dockerfile: %v", r.Err)
	}
	if returned.IsZero() {
		t.Fatalf("stagefront's Build never returned: %v", r.Err)
	}
	return r, read, cancelled, returned
}

func testFaultsCancelInProcess(t *testing.T, f bkharness.Faults) {
	df := longRewrite(nonce(t))
	// The whole build, not cancelled: how long the rewrite would go on.
	ref, read, _, returned := inProcessRewrite(t, f, df, 0)
	full := returned.Sub(read)
	t.Logf("not cancelled: Build returned %s after the Dockerfile was read (%v)", full.Round(time.Millisecond), errOrOK(ref.Err))

	r, read, cancelled, returned := inProcessRewrite(t, f, df, time.Second)
	if cancelled.IsZero() || cancelled.After(returned) {
		t.Fatalf("the build ended before it was cancelled: %v", r.Err)
	}
	if r.Err == nil {
		t.Fatal("the cancelled build succeeded")
	}
	stop, ran := returned.Sub(cancelled), returned.Sub(read)
	t.Logf("cancelled %s after the Dockerfile was read (1 s of CPU in the rewrite); Build returned %s later (%s in all, against %s not cancelled): %s",
		cancelled.Sub(read).Round(time.Millisecond), stop.Round(time.Millisecond), ran.Round(time.Millisecond), full.Round(time.Millisecond), bkharness.FirstLine(r.Err.Error()))
	if stop > inProcessCancelBound {
		t.Errorf("stagefront's Build returned %s after its context was cancelled; want within %s", stop, inProcessCancelBound)
	}
	if ran >= full {
		t.Errorf("the cancelled Build ran %s after the Dockerfile was read, no shorter than the whole build (%s): the cancel did not stop it", ran, full)
	}
	noPanic(t, "the cancelled build's output", r.Err.Error()+"\n"+r.Progress)
}

func errOrOK(err error) string {
	if err != nil {
		return bkharness.FirstLine(err.Error())
	}
	return "ok"
}

func testFaultsRegistryDown(t *testing.T, f bkharness.Faults) {
	f.Do(t, f.RegistryStop)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			f.Do(t, f.RegistryStart)
		}
	})
	n := nonce(t)
	df := bkharness.SyntaxStagefront + "\nARG A=1\nFROM busybox\nRUN --if=A echo " + n + " > /n\nFROM scratch\nCOPY --from=0 /n /n\n"

	// Through the image: `# syntax=org/stagefront` does not resolve.
	r := bkharness.BuildctlOn(t, f.Addr, bkharness.Opts{Dockerfile: df, Timeout: 2 * time.Minute})
	out := r.MustFail(t)
	for _, want := range []string{"failed to resolve source metadata for docker.io/org/stagefront", f.Registry} {
		if !strings.Contains(out, want) {
			t.Errorf("the registry down: no %q in the output:\n%s", want, bkharness.Tail(out, 30))
		}
	}
	noPanic(t, "buildctl's output", out)
	t.Logf("through the image, in %s: %s", r.Took.Round(time.Millisecond), lastError(out))

	// stagefront's own Build (in process): its FROM does not resolve.
	r, _ = bkharness.InProcessOn(context.Background(), t, f.Addr, bkharness.Opts{Dockerfile: df, Timeout: 2 * time.Minute}, builder.Build)
	out = r.MustFail(t)
	for _, want := range []string{"docker.io/library/busybox", f.Registry} {
		if !strings.Contains(out, want) {
			t.Errorf("the registry down, in process: no %q in the output:\n%s", want, bkharness.Tail(out, 30))
		}
	}
	noPanic(t, "the in-process build's output", out)
	t.Logf("in process, in %s: %s", r.Took.Round(time.Millisecond), bkharness.FirstLine(r.Err.Error()))

	// The registry back: the same build works.
	f.Do(t, f.RegistryStart)
	restarted = true
	r = bkharness.BuildctlOn(t, f.Addr, bkharness.Opts{Dockerfile: df}).Must(t)
	if got := r.File(t, "n"); got != n+"\n" {
		t.Errorf("with the registry back, exported n = %q", got)
	}
}

// lastError is the last line of out with "error".
func lastError(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(lines[i]), "error") {
			return strings.TrimSpace(lines[i])
		}
	}
	return bkharness.FirstLine(out)
}

func testFaultsRestart(t *testing.T, f bkharness.Faults) {
	n := nonce(t)
	df := bkharness.SyntaxStagefront + "\nARG A=1\nFROM busybox\nRUN --if=A echo started-" + n + " && sleep 300\n"
	b := bkharness.StartBuildctl(t, f.Addr, bkharness.Opts{Dockerfile: df, Output: bkharness.OutputNone, Progress: "rawjson", Timeout: 5 * time.Minute})
	t.Cleanup(b.Kill)
	t.Cleanup(func() {
		// Whatever happened, leave a daemon that answers.
		if !f.Answers() {
			f.Do(t, f.DaemonStart)
		}
	})
	bkharness.WaitUntil(t, 2*time.Minute, "the RUN step printed started-"+n, func() bool {
		if b.Exited() {
			t.Fatalf("the build ended before its RUN step ran:\n%s", bkharness.Tail(b.Progress(), 30))
		}
		for _, ss := range b.Statuses() {
			for _, l := range ss.Logs {
				if strings.Contains(string(l.Data), "started-"+n) {
					return true
				}
			}
		}
		return false
	})
	before := f.DaemonPid(t)
	restart := time.Now()
	f.Do(t, f.DaemonStop)
	f.Do(t, f.DaemonStart)
	if after := f.DaemonPid(t); after == before {
		t.Fatalf("the daemon was not restarted (pid %d)", after)
	}
	r := b.Wait(t, time.Minute)
	t.Logf("the client exited %s after the restart began", time.Since(restart).Round(time.Millisecond))
	out := r.MustFail(t)
	t.Logf("the client's error: %s", lastError(out))
	if !regexp.MustCompile(`(?i)unavailable|connection|EOF|closing`).MatchString(out) {
		t.Errorf("the client's error does not say the daemon went away:\n%s", bkharness.Tail(out, 20))
	}
	noPanic(t, "buildctl's output", out)
	// What the killed daemon left running (its RUN container's process:
	// BuildKit's doing, not the frontend's) is reported, then killed by
	// pid (hack/faults down would too), so that a next test finds the
	// daemon's containers idle.
	if left := f.ContainerProcs(); len(left) > 0 {
		t.Logf("processes the old daemon left in its containers: %+v", left)
		for _, p := range left {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}

	// The next build works.
	n2 := nonce(t)
	r = bkharness.BuildctlOn(t, f.Addr, bkharness.Opts{Dockerfile: bkharness.SyntaxStagefront + "\nARG A=1\nFROM busybox\nRUN --if=A echo " + n2 + " > /n\nFROM scratch\nCOPY --from=0 /n /n\n"}).Must(t)
	if got := r.File(t, "n"); got != n2+"\n" {
		t.Errorf("after the restart, exported n = %q", got)
	}
}
