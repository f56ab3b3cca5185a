package bkharness

// Faults end to end: a private buildkitd and registry that hack/faults
// starts beside the project's shared ones (which no test may stop,
// restart or reconfigure), with what the tests need to stop, restart and
// look into them: builds that run in the background (and can be killed
// mid-way), in-process builds with a context of the test's own, the
// daemon's runc containers, the processes in its containers' cgroups and
// their memory. The tests are e2e/faults_test.go (build tags e2e faults);
// a test whose variable is missing fails: it never skips.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

// The variables hack/faults sets for the tests.
const (
	EnvFaultsAddr          = "STAGEFRONT_FAULTS_ADDR"           // unix:///run/stagefront/buildkitd-faults.sock
	EnvFaultsState         = "STAGEFRONT_FAULTS_STATE"          // the daemon's state dir (runc state under runc-overlayfs/executor)
	EnvFaultsCgroup        = "STAGEFRONT_FAULTS_CGROUP"         // the daemon's cgroup parent (defaultCgroupParent)
	EnvFaultsDaemonLog     = "STAGEFRONT_FAULTS_DAEMON_LOG"     // the daemon's log
	EnvFaultsDaemonPidfile = "STAGEFRONT_FAULTS_DAEMON_PIDFILE" // the daemon's pid file
	EnvFaultsDaemonStop    = "STAGEFRONT_FAULTS_DAEMON_STOP"    // a command that stops the daemon (TERM, then KILL)
	EnvFaultsDaemonStart   = "STAGEFRONT_FAULTS_DAEMON_START"   // a command that starts it and waits until it answers
	EnvFaultsRegistry      = "STAGEFRONT_FAULTS_REGISTRY"       // the private registry (host:port), the daemon's docker.io mirror
	EnvFaultsRegistryStop  = "STAGEFRONT_FAULTS_REGISTRY_STOP"  // a command that stops the registry
	EnvFaultsRegistryStart = "STAGEFRONT_FAULTS_REGISTRY_START" // a command that starts it and waits until it answers
)

// Faults is the private daemon and registry of hack/faults.
type Faults struct {
	Addr, State, Cgroup, DaemonLog, DaemonPidfile string
	DaemonStop, DaemonStart                       string
	Registry, RegistryStop, RegistryStart         string
}

// FaultsEnv reads the variables hack/faults sets; a missing one fails the
// test.
func FaultsEnv(t TB) Faults {
	t.Helper()
	var missing []string
	get := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	f := Faults{
		Addr: get(EnvFaultsAddr), State: get(EnvFaultsState), Cgroup: get(EnvFaultsCgroup),
		DaemonLog: get(EnvFaultsDaemonLog), DaemonPidfile: get(EnvFaultsDaemonPidfile),
		DaemonStop: get(EnvFaultsDaemonStop), DaemonStart: get(EnvFaultsDaemonStart),
		Registry: get(EnvFaultsRegistry), RegistryStop: get(EnvFaultsRegistryStop), RegistryStart: get(EnvFaultsRegistryStart),
	}
	if len(missing) > 0 {
		t.Fatalf("%s not set: run the fault tests with hack/faults (a private buildkitd and registry; never the shared ones)", strings.Join(missing, ", "))
	}
	if f.Addr == BuildkitAddr {
		t.Fatalf("%s is the shared daemon (%s): the fault tests stop and restart theirs", EnvFaultsAddr, BuildkitAddr)
	}
	return f
}

// Do runs one of the commands (DaemonStop, ...) with bash, within 2
// minutes, and fails the test when it fails.
func (f Faults) Do(t TB, command string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "bash", "-c", command).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	t.Logf("%s: done in %s", command, time.Since(start).Round(time.Millisecond))
}

// DaemonPid is the pid of the running private daemon (its pid file).
func (f Faults) DaemonPid(t TB) int {
	t.Helper()
	b, err := os.ReadFile(f.DaemonPidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", f.DaemonPidfile, err)
	}
	return pid
}

// Answers reports whether the private daemon lists its workers within
// 5 seconds.
func (f Faults) Answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.New(ctx, f.Addr)
	if err != nil {
		return false
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	return err == nil && len(ws) > 0
}

// RuncContainers lists the containers runc knows in the daemon's state
// (its OCI worker's executor root).
func (f Faults) RuncContainers(t TB) []string {
	t.Helper()
	root := filepath.Join(f.State, "runc-overlayfs", "executor")
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return nil
	}
	// runc complains on stderr about the state a killed daemon left
	// (directories without a state.json); stdout lists the containers.
	cmd := exec.Command("runc", "--root", root, "list", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("runc --root %s list: %v\n%s", root, err, stderr.String())
	}
	return strings.Fields(string(out))
}

// Proc is a process in one of the daemon's containers.
type Proc struct {
	Pid    int
	Cmd    string // its command line, arguments separated by spaces
	Cgroup string // its cgroup, relative to the hierarchy's root
	CPU    time.Duration
}

// ContainerProcs lists the processes in the cgroups of the containers the
// daemon started (under its cgroup parent), from /proc: they outlive a
// killed daemon, so this finds what runc no longer knows.
func (f Faults) ContainerProcs() []Proc {
	ents, _ := os.ReadDir("/proc")
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg := procCgroup(pid)
		if !strings.HasPrefix(cg, "/"+f.Cgroup+"/") {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, Proc{Pid: pid, Cmd: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")), Cgroup: cg, CPU: procCPU(pid)})
	}
	return out
}

// procCgroup is the memory cgroup of pid (cgroup v1), or its v2 cgroup.
func procCgroup(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	var v2 string
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return parts[2]
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	return v2
}

// procCPU is the CPU time (user + system) pid has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// SelfCPU is the CPU time (user + system) this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// WaitUntil polls cond every 20 ms until it holds, and fails the test when
// it does not within timeout (what says what was awaited). It returns how
// long it waited.
func WaitUntil(t TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- memory of the daemon's containers --------------------------------------

// cgroupRoot is where the memory controller's hierarchy is mounted, and
// whether it is cgroup v2.
func cgroupRoot() (string, bool) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "/sys/fs/cgroup", true
	}
	return "/sys/fs/cgroup/memory", false
}

// MemPeak is the memory of one container cgroup while it lived.
type MemPeak struct {
	Cgroup string   // relative to the hierarchy's root
	Cmds   []string // the command lines seen in it
	// Peak is the cgroup's own high-water mark (v1 memory.max_usage_in_bytes,
	// v2 memory.peak: anonymous memory and page cache), as last read.
	Peak int64
	// Anon is the highest anonymous memory polled (v1 memory.stat
	// total_rss, v2 anon).
	Anon int64
}

// MemWatch polls the memory of the daemon's containers.
type MemWatch struct {
	parent string
	v2     bool
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	seen   map[string]*MemPeak
	total  int64 // the parent's high-water mark (v1: reset at the start)
}

// WatchMemory starts polling, every 10 ms, every container cgroup under
// the daemon's cgroup parent; on cgroup v1 it also resets the parent's
// high-water mark, which then holds the peak of all of them together,
// even of a container gone between two polls.
func (f Faults) WatchMemory(t TB) *MemWatch {
	t.Helper()
	root, v2 := cgroupRoot()
	w := &MemWatch{parent: filepath.Join(root, f.Cgroup), v2: v2, stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]*MemPeak{}}
	// The daemon makes its cgroup parent with its first container; make it
	// now, so that it is there to reset and read from the start.
	if err := os.MkdirAll(w.parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if !v2 {
		if err := os.WriteFile(filepath.Join(w.parent, "memory.max_usage_in_bytes"), []byte("0"), 0o644); err != nil {
			t.Fatalf("reset the peak of %s: %v", w.parent, err)
		}
	}
	go func() {
		defer close(w.done)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			w.poll()
			select {
			case <-w.stop:
				w.poll()
				return
			case <-tk.C:
			}
		}
	}()
	return w
}

func (w *MemWatch) poll() {
	peakFile, anonKey := "memory.max_usage_in_bytes", "total_rss"
	if w.v2 {
		peakFile, anonKey = "memory.peak", "anon"
	}
	dirs, _ := filepath.Glob(filepath.Join(w.parent, "buildkit", "*"))
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.v2 {
		if v, ok := readInt(filepath.Join(w.parent, peakFile)); ok {
			w.total = max(w.total, v)
		}
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		m := w.seen[d]
		if m == nil {
			rel := strings.TrimPrefix(d, w.parent)
			m = &MemPeak{Cgroup: "/" + filepath.Base(w.parent) + rel}
			w.seen[d] = m
		}
		if v, ok := readInt(filepath.Join(d, peakFile)); ok {
			m.Peak = max(m.Peak, v)
		}
		if st, err := os.ReadFile(filepath.Join(d, "memory.stat")); err == nil {
			for _, l := range strings.Split(string(st), "\n") {
				if k, v, ok := strings.Cut(l, " "); ok && k == anonKey {
					n, _ := strconv.ParseInt(v, 10, 64)
					m.Anon = max(m.Anon, n)
				}
			}
		}
		if procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
			for _, p := range strings.Fields(string(procs)) {
				cmd, _ := os.ReadFile("/proc/" + p + "/cmdline")
				c := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
				if c != "" && !containsString(m.Cmds, c) {
					m.Cmds = append(m.Cmds, c)
				}
			}
		}
	}
	if w.v2 {
		var sum int64
		for _, m := range w.seen {
			sum += m.Peak
		}
		w.total = max(w.total, sum) // at most: the peaks need not coincide
	}
}

// Stop ends the polling and returns the peak of all the containers
// together (cgroup v1: the parent's high-water mark; v2: at most the sum
// of their peaks) and each container's, sorted by cgroup.
func (w *MemWatch) Stop() (total int64, per []MemPeak) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.seen {
		per = append(per, *m)
	}
	sort.Slice(per, func(i, j int) bool { return per[i].Cgroup < per[j].Cgroup })
	return w.total, per
}

func readInt(p string) (int64, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// --- builds in the background ---------------------------------------------

// Running is a buildctl build running in the background (StartBuildctl).
type Running struct {
	r       *Result
	o       Opts
	cmd     *exec.Cmd
	start   time.Time
	done    chan struct{}
	mu      sync.Mutex
	stderr  bytes.Buffer
	stdout  bytes.Buffer
	waitErr error
}

// lockedWriter appends to a buffer under the Running's lock.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// StartBuildctl starts `buildctl --addr addr build --frontend dockerfile.v0`
// as Buildctl does (the same Opts), in a process group of its own, and
// returns at once.
func StartBuildctl(t TB, addr string, o Opts) *Running {
	t.Helper()
	ctxDir, r := prepare(t, &o)
	args := buildctlArgs(addr, ctxDir, r, o)
	b := &Running{r: r, o: o, done: make(chan struct{})}
	b.cmd = exec.Command(toolPath(t, "buildctl"), args...)
	b.cmd.Env = append(os.Environ(), o.Env...)
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b.cmd.Stdout = lockedWriter{&b.mu, &b.stdout}
	b.cmd.Stderr = lockedWriter{&b.mu, &b.stderr}
	if o.Stdin != "" {
		b.cmd.Stdin = strings.NewReader(o.Stdin)
	}
	b.start = time.Now()
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("buildctl: %v", err)
	}
	go func() {
		err := b.cmd.Wait()
		b.mu.Lock()
		b.waitErr = err
		b.mu.Unlock()
		close(b.done)
	}()
	return b
}

// Progress is the progress stream so far.
func (b *Running) Progress() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// Statuses are the statuses so far (Opts.Progress "rawjson").
func (b *Running) Statuses() []*client.SolveStatus {
	return parseRawJSON(b.Progress())
}

// Vertices are the steps so far, as Result.Vertices.
func (b *Running) Vertices() []Vertex {
	r := &Result{Progress: b.Progress()}
	if b.o.Progress == "rawjson" {
		r.Statuses = parseRawJSON(r.Progress)
	}
	return r.Vertices()
}

// Exited reports whether the buildctl process has exited.
func (b *Running) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Kill kills buildctl (its process group) with SIGKILL, as a user's ^C
// twice or a CI runner's timeout does.
func (b *Running) Kill() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
}

// Wait waits for buildctl to exit and returns its result; when it has not
// exited within timeout, it is killed and the test fails (a hang).
func (b *Running) Wait(t TB, timeout time.Duration) *Result {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(timeout):
		b.Kill()
		<-b.done
		t.Fatalf("buildctl did not exit within %s (a hang); progress:\n%s", timeout, Tail(b.Progress(), 40))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.r
	r.Took = time.Since(b.start)
	r.Stdout, r.Progress = b.stdout.String(), b.stderr.String()
	if b.waitErr != nil {
		r.Err = fmt.Errorf("buildctl %s: %w\n%s", strings.Join(b.cmd.Args[1:], " "), b.waitErr, Tail(r.Progress, 60))
	}
	if b.o.Progress == "rawjson" {
		r.Statuses = parseRawJSON(r.Progress)
	}
	t.Logf("buildctl build on %s (%s): %v in %s", b.cmd.Args[2], b.o.Output, errOrOK(b.waitErr), r.Took.Round(time.Millisecond))
	return r
}

// BuildctlOn is Buildctl on the daemon at addr.
func BuildctlOn(t TB, addr string, o Opts) *Result {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	return StartBuildctl(t, addr, o).Wait(t, o.Timeout)
}

// --- in-process builds with the test's context ------------------------------

// WatchReads wraps the gateway BuildFunc f so that onRead is called with
// the name and size of every file f reads from a solved reference (the
// Dockerfile, its fragments, .dockerignore): a test learns when the
// frontend has its input and starts its own work.
func WatchReads(f gateway.BuildFunc, onRead func(name string, size int)) gateway.BuildFunc {
	return func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		res, err := f(ctx, readWatch{Client: c, onRead: onRead})
		if res != nil {
			// The gateway client takes back only its own references.
			if w, ok := res.Ref.(watchedRef); ok {
				res.Ref = w.Reference
			}
			for k, ref := range res.Refs {
				if w, ok := ref.(watchedRef); ok {
					res.Refs[k] = w.Reference
				}
			}
			for _, as := range res.Attestations {
				for i := range as {
					if w, ok := as[i].Ref.(watchedRef); ok {
						as[i].Ref = w.Reference
					}
				}
			}
		}
		return res, err
	}
}

type readWatch struct {
	gateway.Client
	onRead func(string, int)
}

func (c readWatch) Solve(ctx context.Context, req gateway.SolveRequest) (*gateway.Result, error) {
	res, err := c.Client.Solve(ctx, req)
	if res != nil {
		if res.Ref != nil {
			res.Ref = watchedRef{res.Ref, c.onRead}
		}
		for k, ref := range res.Refs {
			if ref != nil {
				res.Refs[k] = watchedRef{ref, c.onRead}
			}
		}
	}
	return res, err
}

type watchedRef struct {
	gateway.Reference
	onRead func(string, int)
}

func (r watchedRef) ReadFile(ctx context.Context, req gateway.ReadRequest) ([]byte, error) {
	b, err := r.Reference.ReadFile(ctx, req)
	if err == nil {
		r.onRead(req.Filename, len(b))
	}
	return b, err
}

// LogLines returns the lines of file from offset on (to read what a
// daemon logged during a test).
func LogLines(path string, offset int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// FileSize is the size of path (0 when it does not exist).
func FileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ProcTree lists the processes below pid (its children, theirs, ...).
func ProcTree(pid int) []Proc {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
	}
	var out []Proc
	for p := range parent {
		for q, n := parent[p], 0; q > 1 && n < 64; q, n = parent[q], n+1 {
			if q == pid {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
				out = append(out, Proc{Pid: p, Cmd: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")), Cgroup: procCgroup(p), CPU: procCPU(p)})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out
}
