// Package llbtest converts Dockerfiles in-process for tests, with an image
// resolver that answers without a registry.
package llbtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// StubResolver answers every image lookup with a one-layer image for the
// requested platform (a DiffID, so the stage is not treated as scratch).
// Like a registry, it only knows fully qualified references
// (docker.io/library/busybox:latest): a lookup of a name as written
// (busybox, org/img:1) fails, as it would against a real one.
type StubResolver struct {
	// Users gives the USER of an image's config, by reference.
	Users map[string]string
}

// ResolveImageConfig implements llb.ImageMetaResolver.
func (r StubResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if named, err := reference.ParseNormalizedNamed(ref); err != nil || named.String() != ref {
		return "", "", nil, fmt.Errorf("stub resolver: %q is not a normalized image reference (a registry would not find it)", ref)
	}
	p := platforms.DefaultSpec()
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	img := ocispecs.Image{
		Platform: p,
		RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("layer of " + ref)}},
		Config: ocispecs.ImageConfig{
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			WorkingDir: "/",
			User:       r.Users[ref],
		},
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromString("manifest of " + ref), dt, nil
}

// Options are the values of one in-process conversion.
type Options struct {
	BuildArgs map[string]string
	Target    string
	Platform  *ocispecs.Platform
}

// ConvertOpt returns a dockerfile2llb.ConvertOpt for opt, with the stub
// resolver and every LLB capability.
func ConvertOpt(opt Options) dockerfile2llb.ConvertOpt {
	caps := pb.Caps.CapSet(pb.Caps.All())
	return dockerfile2llb.ConvertOpt{
		Config:         dockerui.Config{BuildArgs: opt.BuildArgs, Target: opt.Target},
		MetaResolver:   StubResolver{},
		LLBCaps:        &caps,
		TargetPlatform: opt.Platform,
	}
}

// Digest converts dt and returns a digest of its marshalled LLB and its
// image config.
func Digest(ctx context.Context, dt []byte, opt Options) (digest.Digest, error) {
	c, err := Canonical(ctx, dt, opt)
	if err != nil {
		return "", err
	}
	return digest.FromString(c), nil
}

// Canonical converts dt and returns its LLB ops, their metadata and its
// image config as stable text, one op per line, for diffs.
func Canonical(ctx context.Context, dt []byte, opt Options) (string, error) {
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, ConvertOpt(opt))
	if err != nil {
		return "", err
	}
	def, err := res.State.Marshal(ctx, llb.LocalUniqueID("stagefront-test"))
	if err != nil {
		return "", err
	}
	// Ops are content-addressed and their order is stable; metadata is a
	// map, so list it sorted by op digest.
	var canon []string
	for _, op := range def.Def {
		d := digest.FromBytes(op)
		canon = append(canon, "op "+d.String())
		if m, ok := def.Metadata[d]; ok {
			keys := slices.Sorted(maps.Keys(m.Description))
			for _, k := range keys {
				canon = append(canon, fmt.Sprintf("  %s=%s", k, m.Description[k]))
			}
			canon = append(canon, fmt.Sprintf("  ignorecache=%v caps=%v", m.IgnoreCache, slices.Sorted(maps.Keys(m.Caps))))
		}
	}
	img, err := json.Marshal(res.Image)
	if err != nil {
		return "", err
	}
	canon = append(canon, "image "+string(img))
	return strings.Join(canon, "\n"), nil
}

// ModuleCacheDockerfiles lists the paths of every Dockerfile in the Go
// module cache (Dockerfile, Dockerfile.*, *.Dockerfile), a corpus of real
// files from BuildKit, Docker, containerd, buildx and their dependencies.
func ModuleCacheDockerfiles() ([]string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, err
	}
	root := strings.TrimSpace(string(out))
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p == filepath.Join(root, "cache") {
				return filepath.SkipDir
			}
			return nil
		}
		n := strings.ToLower(d.Name())
		if n == "dockerfile" || strings.HasPrefix(n, "dockerfile.") || strings.HasSuffix(n, ".dockerfile") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// ExtendedDockerfile returns a generated extended Dockerfile of stages
// stages of 20 instructions each (keywords included): ARGs, guarded RUNs
// and COPYs, IF/ELSE IF/ELSE blocks, a shell if in a continuation, and a
// COPY --from the previous stage, so the last stage reaches every other.
func ExtendedDockerfile(stages int) []byte {
	var b strings.Builder
	b.WriteString("# syntax=org/stagefront\n# INCLUDE_DOCS adds docs.\nARG INCLUDE_DOCS=true\nARG BUILD_ENV=production\n")
	for s := 0; s < stages; s++ {
		fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM busybox AS s%d\n", s)
		fmt.Fprintf(&b, "ARG V%d=%d\n", s, s)
		fmt.Fprintf(&b, "RUN --if=INCLUDE_DOCS echo docs %d\n", s)
		fmt.Fprintf(&b, "IF BUILD_ENV == 'development' && V%d != ''\n", s)
		fmt.Fprintf(&b, "RUN echo dev %d\n", s)
		fmt.Fprintf(&b, "ELSE IF TARGETARCH == 'arm64'\n")
		fmt.Fprintf(&b, "RUN echo arm %d\n", s)
		fmt.Fprintf(&b, "ELSE\n")
		fmt.Fprintf(&b, "RUN if [ -f /x ]; then \\\n  echo prod; \\\nfi\n")
		fmt.Fprintf(&b, "END\n")
		if s > 0 {
			fmt.Fprintf(&b, "COPY --if=\"BUILD_ENV in ['production', 'staging']\" --from=s%d /out /in\n", s-1)
		} else {
			fmt.Fprintf(&b, "COPY --if=\"BUILD_ENV in ['production', 'staging']\" a /in\n")
		}
		for i := 0; i < 6; i++ {
			fmt.Fprintf(&b, "RUN echo step %d %d\n", s, i)
		}
		fmt.Fprintf(&b, "ENV S%d=%d\n", s, s)
		fmt.Fprintf(&b, "WORKDIR /w%d\n", s)
		fmt.Fprintf(&b, "COPY --if=!INCLUDE_DOCS x /x\n")
	}
	return []byte(b.String())
}

// StandardDockerfile returns the standard counterpart of
// ExtendedDockerfile(stages): stages of 20 instructions each, ARGs, RUNs,
// a shell if in a continuation and a COPY --from the previous stage, and
// no extension.
func StandardDockerfile(stages int) []byte {
	var b strings.Builder
	b.WriteString("# DOCS adds docs.\nARG DOCS=true\nARG BUILD_ENV=production\n")
	for s := 0; s < stages; s++ {
		fmt.Fprintf(&b, "FROM --platform=$BUILDPLATFORM busybox AS s%d\n", s)
		fmt.Fprintf(&b, "ARG V%d=%d\n", s, s)
		fmt.Fprintf(&b, "ARG BUILD_ENV\n")
		fmt.Fprintf(&b, "RUN echo docs %d $BUILD_ENV\n", s)
		fmt.Fprintf(&b, "RUN if [ -f /x ]; then \\\n  echo prod; \\\nfi\n")
		if s > 0 {
			fmt.Fprintf(&b, "COPY --from=s%d /out /in\n", s-1)
		} else {
			fmt.Fprintf(&b, "COPY a /in\n")
		}
		for i := 0; i < 9; i++ {
			fmt.Fprintf(&b, "RUN echo step %d %d\n", s, i)
		}
		fmt.Fprintf(&b, "ENV S%d=%d\n", s, s)
		fmt.Fprintf(&b, "WORKDIR /w%d\n", s)
		fmt.Fprintf(&b, "COPY x /x\n")
	}
	return []byte(b.String())
}

// CPUTime is the CPU time (user and system) the process has used so far,
// in nanoseconds: every thread's, the garbage collector's included. A
// benchmark reports it per op beside its wall time (see LoopCPU): on a
// shared machine the wall time of a run moves with the load of other
// processes, its CPU time much less.
func CPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// LoopCPU runs op in b.Loop and reports the process's CPU time per op as
// the metric cpu-ns/op.
func LoopCPU(b *testing.B, op func()) {
	c0 := CPUTime()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(CPUTime()-c0)/float64(b.N), "cpu-ns/op")
}

// Interleaved runs ops a and b one after the other in each iteration of
// b.Loop, in turn which goes first, each after a collection of the
// garbage before it (not timed, so that neither pays for the other's
// garbage), and reports the median of the ratios of their wall times in
// each iteration as the metric ratio, and each one's median time as
// a-ns/op and b-ns/op: op against op, a few milliseconds apart, a ratio
// the load of a shared machine moves much less than those of runs
// seconds apart.
func Interleaved(tb *testing.B, a, b func()) {
	var ta, tb2, ratios []float64
	timed := func(op func()) float64 {
		runtime.GC()
		t0 := time.Now()
		op()
		return float64(time.Since(t0))
	}
	for i := 0; tb.Loop(); i++ {
		var x, y float64
		if i%2 == 0 {
			x = timed(a)
			y = timed(b)
		} else {
			y = timed(b)
			x = timed(a)
		}
		ta, tb2, ratios = append(ta, x), append(tb2, y), append(ratios, x/y)
	}
	tb.ReportMetric(medianOf(ratios), "ratio")
	tb.ReportMetric(medianOf(ta), "a-ns/op")
	tb.ReportMetric(medianOf(tb2), "b-ns/op")
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
