package suite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Compile builds the suite of the BuildKit module in moduleDir with tags:
// a writable copy of the module under srcRoot, patched, and `go test -c
// ./frontend/dockerfile` there with BuildKit's own go.mod. The binary is
// kept in binDir under a name of everything that went into it, and reused.
// It returns the binary and the patched package's directory.
func Compile(ctx context.Context, moduleDir, version string, tags []string, srcRoot, binDir string, log io.Writer) (bin, pkgDir string, err error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%q|", version, runtime.Version(), tags)
	h.Write(patchKey())
	key := hex.EncodeToString(h.Sum(nil))[:16]
	bin = filepath.Join(binDir, "dockerfile-"+version+"-"+key+".test")
	src := filepath.Join(srcRoot, "buildkit-"+version+"-"+key)
	pkgDir = filepath.Join(src, "frontend", "dockerfile")
	if fileExists(bin) && fileExists(pkgDir) {
		fmt.Fprintf(log, "suite binary up to date: %s\n", bin)
		return bin, pkgDir, nil
	}
	fmt.Fprintf(log, "compiling BuildKit %s's frontend/dockerfile suite, tags %q (a few minutes the first time)\n", version, tags)
	t0 := time.Now()
	tmp := src + ".tmp"
	os.RemoveAll(tmp)
	if err := copyTree(moduleDir, tmp); err != nil {
		return "", "", err
	}
	if err := Patch(filepath.Join(tmp, "frontend", "dockerfile")); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-tags", strings.Join(tags, " "), "-o", bin+".tmp", "./frontend/dockerfile")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("compiling the suite: %v\n%s", err, tail(out.String(), 30))
	}
	os.RemoveAll(src)
	if err := os.Rename(tmp, src); err != nil {
		return "", "", err
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		return "", "", err
	}
	// Sources and binaries of other versions, tags or patches are stale.
	for _, pat := range []string{filepath.Join(binDir, "dockerfile-*.test"), filepath.Join(srcRoot, "buildkit-*")} {
		old, _ := filepath.Glob(pat)
		for _, o := range old {
			if o != bin && o != src && !strings.HasSuffix(o, ".tmp") {
				os.RemoveAll(o)
			}
		}
	}
	fmt.Fprintf(log, "compiled the suite in %s\n", time.Since(t0).Round(time.Second))
	return bin, pkgDir, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyTree copies the module (read-only in the module cache) to dst,
// writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, dt, info.Mode().Perm()|0o200)
		}
		return nil
	})
}

// Runner runs the compiled suite.
type Runner struct {
	Bin, PkgDir string
	// Mirror is BUILDKIT_REGISTRY_MIRROR_DIR, seeded with stand-ins.
	Mirror   string
	Parallel int
	// OwnRules are stagefront's rule names, taken out of lint results in
	// the subrequests mode.
	OwnRules []string
	Log      io.Writer
}

// Image is a frontend image under test.
type Image struct {
	// Name is "upstream" or "stagefront"; Tar its OCI layout tarball.
	Name, Tar string
}

// Round runs funcs of the suite once against img, in mode, appending the
// test2json stream to out. The daemons of a test binary that dies are
// ended, and what they mounted unmounted.
func (r *Runner) Round(ctx context.Context, img Image, mode string, out io.Writer, funcs []string) error {
	tmp, err := os.MkdirTemp("", "upstream-suite.")
	if err != nil {
		return err
	}
	defer func() {
		r.reap(tmp)
		os.RemoveAll(tmp)
	}()
	quoted := make([]string, len(funcs))
	for i, f := range funcs {
		quoted[i] = regexp.QuoteMeta(f)
	}
	pattern := "^TestIntegration$/^(" + strings.Join(quoted, "|") + ")$/^worker=oci$"
	subreq := "0"
	if mode == "subrequests" {
		subreq = "1"
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "test2json", "-t", "-p", "frontend/dockerfile",
		r.Bin, "-test.v=test2json", "-test.run", pattern, "-test.parallel", strconv.Itoa(r.Parallel), "-test.timeout", "90m")
	cmd.Dir = r.PkgDir
	env := slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "BUILDKIT_HOST=") })
	cmd.Env = append(env,
		"TMPDIR="+tmp,
		"FRONTEND_GATEWAY_ONLY=local:"+img.Tar,
		"BUILDKIT_REGISTRY_MIRROR_DIR="+r.Mirror,
		"BUILDKIT_RUN_NETWORK_INTEGRATION_TESTS=1",
		"STAGEFRONT_SUBREQUESTS="+subreq,
		"STAGEFRONT_OWN_RULES="+strings.Join(r.OwnRules, ","),
	)
	cmd.Stdout, cmd.Stderr = out, out
	// A failing test binary is what the results say; only a binary that
	// did not start is an error.
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return err
		}
	}
	return nil
}

// reap ends the processes a test binary left (they run in sessions of
// their own): those whose command line names tmp, this run's TMPDIR, or
// the mirror's registry config. Then it unmounts what they left under tmp.
func (r *Runner) reap(tmp string) {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil {
			continue
		}
		c := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		if strings.Contains(c, tmp+"/") || strings.Contains(c, filepath.Join(r.Mirror, "config.yaml")) {
			pids = append(pids, pid)
		}
	}
	if len(pids) > 0 {
		fmt.Fprintf(r.Log, "ending %d leftover process(es) of the test binary: %v\n", len(pids), pids)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && slices.ContainsFunc(pids, alive) {
			time.Sleep(200 * time.Millisecond)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var under []string
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], tmp+"/") {
			under = append(under, f[1])
		}
	}
	slices.Sort(under)
	for i := len(under) - 1; i >= 0; i-- {
		syscall.Unmount(under[i], syscall.MNT_DETACH)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// Run runs funcs against img until every test has a result, or a round
// brings none: rounds over the functions without results (a panic ends
// the binary, and the tests that were running with it), then one process
// per function. jsonl gets every round's stream.
func (r *Runner) Run(ctx context.Context, img Image, mode string, funcs []string, jsonl string) (*Stream, error) {
	f, err := os.Create(jsonl)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := NewStream()
	round := func(funcs []string) error {
		var buf bytes.Buffer
		if err := r.Round(ctx, img, mode, io.MultiWriter(f, &buf), funcs); err != nil {
			return err
		}
		return s.Read(&buf)
	}
	pending := funcs
	for before := 0; len(pending) > 0; {
		if err := round(pending); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		pending = s.Pending(funcs)
		if len(pending) == 0 {
			break
		}
		if len(s.Results) == before {
			// No progress: one process per function, so that a panic
			// takes no other test along.
			fmt.Fprintf(r.Log, "%s: no new results; running %d function(s) one process each\n", img.Name, len(pending))
			for _, fn := range pending {
				if err := round([]string{fn}); err != nil {
					return nil, err
				}
			}
			break
		}
		fmt.Fprintf(r.Log, "%s: %d results; %d function(s) got none or not all (a panic ends the binary): running them again\n", img.Name, len(s.Results), len(pending))
		before = len(s.Results)
	}
	return s, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
