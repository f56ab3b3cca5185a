//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/org/stagefront/internal/bkharness"
)

func TestMain(m *testing.M) {
	if err := checkEnv(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\nStart the environment with hack/buildkit-up and hack/push-frontend (hack/e2e does both).\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func checkEnv() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, bkharness.BuildkitAddr)
	if err != nil {
		return fmt.Errorf("buildkitd at %s: %w", bkharness.BuildkitAddr, err)
	}
	defer c.Close()
	if _, err := c.ListWorkers(ctx); err != nil {
		return fmt.Errorf("buildkitd at %s does not answer: %w", bkharness.BuildkitAddr, err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "buildx", "inspect", bkharness.BuilderName).CombinedOutput(); err != nil {
		return fmt.Errorf("docker buildx inspect %s: %v: %s", bkharness.BuilderName, err, out)
	}
	return nil
}

// runInBusybox is a standard Dockerfile (no stagefront extension) whose RUN
// steps really run, in the busybox base the harness built, and whose result
// is COPY'd into a scratch image so the local export is small.
const runInBusybox = `
FROM busybox AS base
ARG GREETING=hello
RUN mkdir -p /out && echo "$GREETING from $(uname -s)" > /out/greeting.txt && busybox | head -n1 | cut -d' ' -f1-2 > /out/busybox.txt

FROM scratch
COPY --from=base /out/ /
COPY data.txt /data/data.txt
`

var runInBusyboxFiles = map[string]string{"data.txt": "some data\n"}

func checkRunInBusybox(t *testing.T, r *bkharness.Result, greeting string) {
	t.Helper()
	if got, want := r.File(t, "greeting.txt"), greeting+" from Linux\n"; got != want {
		t.Errorf("greeting.txt = %q, want %q", got, want)
	}
	if got := r.File(t, "busybox.txt"); !strings.HasPrefix(got, "BusyBox v") {
		t.Errorf("busybox.txt = %q, want the busybox version (RUN did not run in the busybox image?)", got)
	}
	if got := r.File(t, "data/data.txt"); got != "some data\n" {
		t.Errorf("data/data.txt = %q", got)
	}
	if got, want := r.Files(t), []string{"busybox.txt", "data/", "data/data.txt", "greeting.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("exported files = %v, want %v", got, want)
	}
}

// (a) A standard Dockerfile through the upstream frontend image: the
// harness's reference point.
func TestUpstreamRunInBusybox(t *testing.T) {
	for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildctl": bkharness.Buildctl, "buildx": bkharness.Buildx} {
		t.Run(name, func(t *testing.T) {
			r := run(t, bkharness.Opts{
				Dockerfile:    bkharness.SyntaxUpstream + runInBusybox,
				Files:         runInBusyboxFiles,
				BuildArgs:     map[string]string{"GREETING": "hi"},
				BuildContexts: bkharness.Busybox,
			}).Must(t)
			checkRunInBusybox(t, r, "hi")
			if !r.Ran("RUN mkdir -p /out") {
				t.Errorf("progress does not show the RUN step:\n%s", r.Progress)
			}
		})
	}
}

// (b) The same standard Dockerfile through `# syntax=org/stagefront` exports
// the same files as upstream.
func TestStagefrontMatchesUpstream(t *testing.T) {
	for name, run := range map[string]func(bkharness.TB, bkharness.Opts) *bkharness.Result{"buildctl": bkharness.Buildctl, "buildx": bkharness.Buildx} {
		t.Run(name, func(t *testing.T) {
			opts := bkharness.Opts{Files: runInBusyboxFiles, BuildContexts: bkharness.Busybox}
			opts.Dockerfile = bkharness.SyntaxUpstream + runInBusybox
			want := run(t, opts).Must(t)
			opts.Dockerfile = bkharness.SyntaxStagefront + runInBusybox
			got := run(t, opts)
			got.Must(t)
			checkRunInBusybox(t, got, "hello")
			if w, g := want.Tree(t), got.Tree(t); !reflect.DeepEqual(w, g) {
				t.Errorf("stagefront export differs from upstream:\nupstream:   %v\nstagefront: %v", w, g)
			}
		})
	}
}

// Our Build run in the test process (no image): the quick loop for gateway work.
func TestInProcessRunInBusybox(t *testing.T) {
	r := inProcess(t, bkharness.Opts{
		Dockerfile:    runInBusybox,
		Files:         runInBusyboxFiles,
		BuildArgs:     map[string]string{"GREETING": "hey"},
		BuildContexts: bkharness.Busybox,
	})
	r.Must(t)
	checkRunInBusybox(t, r, "hey")
}

// A COPY-only multi-platform build needs no emulation: each platform gets its
// own directory in the local export, and its own image in the OCI export.
const perPlatform = `
FROM scratch
ARG TARGETARCH
COPY arch-${TARGETARCH}.txt /arch.txt
`

var perPlatformFiles = map[string]string{"arch-amd64.txt": "amd64\n", "arch-arm64.txt": "arm64\n"}

func TestMultiPlatformCopyOnly(t *testing.T) {
	platforms := []string{"linux/amd64", "linux/arm64"}
	for _, syntax := range []string{bkharness.SyntaxUpstream, bkharness.SyntaxStagefront} {
		t.Run(strings.TrimPrefix(syntax, "# syntax="), func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: syntax + perPlatform, Files: perPlatformFiles, Platforms: platforms})
			r.Must(t)
			for _, a := range []string{"amd64", "arm64"} {
				if got := r.File(t, "linux_"+a+"/arch.txt"); got != a+"\n" {
					t.Errorf("linux_%s/arch.txt = %q", a, got)
				}
			}
			o := bkharness.Buildctl(t, bkharness.Opts{Dockerfile: syntax + perPlatform, Files: perPlatformFiles, Platforms: platforms, Output: bkharness.OutputOCI}).Must(t)
			for _, a := range []string{"amd64", "arm64"} {
				img := o.OCIImage(t, "linux/"+a)
				if got := img.Files["arch.txt"]; got != a+"\n" {
					t.Errorf("OCI linux/%s arch.txt = %q (files %v)", a, got, img.Files)
				}
				if img.Config.Architecture != a {
					t.Errorf("OCI linux/%s config architecture = %q", a, img.Config.Architecture)
				}
			}
		})
	}
}

// A broken standard Dockerfile fails with upstream's error through both
// frontends, and the error points at the user's line.
func TestErrorShowsUserLine(t *testing.T) {
	const df = "\nFROM scratch\nCOPY missing.txt /x\n"
	for _, syntax := range []string{bkharness.SyntaxUpstream, bkharness.SyntaxStagefront} {
		t.Run(strings.TrimPrefix(syntax, "# syntax="), func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: syntax + df, Output: bkharness.OutputNone})
			msg := r.MustFail(t)
			for _, want := range []string{"missing.txt", "COPY missing.txt /x"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error output lacks %q:\n%s", want, bkharness.Tail(msg, 30))
				}
			}
		})
	}
}

// --call=outline answers through both frontends (the stagefront additions are
// tested where the extension is).
func TestCallOutline(t *testing.T) {
	const df = "\nARG GREETING=hello\nFROM scratch\n# GREETING is what the file says\nARG GREETING\nRUN echo $GREETING\n"
	for _, syntax := range []string{bkharness.SyntaxUpstream, bkharness.SyntaxStagefront} {
		t.Run(strings.TrimPrefix(syntax, "# syntax="), func(t *testing.T) {
			r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: syntax + df, Call: "outline", Output: bkharness.OutputNone})
			r.Must(t)
			if !strings.Contains(r.Stdout, "GREETING") {
				t.Errorf("outline lacks GREETING:\n%s", r.Stdout)
			}
		})
	}
}

// The in-process path answers subrequests too; the answer is in the metadata.
func TestInProcessOutline(t *testing.T) {
	const df = "ARG GREETING=hello\nFROM scratch\n# GREETING is what the file says\nARG GREETING\nRUN echo $GREETING\n"
	r := inProcess(t, bkharness.Opts{Dockerfile: df, Call: "outline", Output: bkharness.OutputNone})
	r.Must(t)
	if js := string(r.Metadata["result.json"]); !strings.Contains(js, `"GREETING"`) {
		t.Errorf("outline result.json lacks GREETING: %s (metadata keys: %v)", js, keys(r.Metadata))
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
