//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
	"github.com/org/stagefront/internal/version"
)

// TestChannelTags: hack/push-frontend pushed every tag of this version in
// both channels, each labelled with stagefront's version, its channel and
// the upstream Dockerfile version it embeds.
func TestChannelTags(t *testing.T) {
	for _, channel := range []string{"mainline", "labs"} {
		for _, tag := range version.Tags(channel) {
			imgs := bkharness.RegistryImages(t, "org/stagefront:"+tag)
			if len(imgs) == 0 {
				t.Fatalf("org/stagefront:%s has no image", tag)
			}
			for _, img := range imgs {
				l := img.Config.Config.Labels
				for k, want := range map[string]string{
					"org.opencontainers.image.version":  version.Version,
					"org.stagefront.channel":            channel,
					"org.stagefront.dockerfile.version": version.Dockerfile(),
				} {
					if l[k] != want {
						t.Errorf("org/stagefront:%s (%s): label %s = %q, want %q", tag, img.Platform, k, l[k], want)
					}
				}
			}
		}
	}
}

// exposeFile is a standard Dockerfile whose history shows Dockerfile
// 1.29's EXPOSE entry ("EXPOSE 443/udp 80/tcp"; 1.28 wrote
// "EXPOSE [443/udp 80/tcp]").
const exposeFile = "\nFROM scratch\nEXPOSE 80 443/udp\n"

// TestPinnedMainlineIsUpstreams: `# syntax=org/stagefront:1` builds a
// standard file as the upstream frontend of this BuildKit does, with
// Dockerfile 1.29's history.
func TestPinnedMainlineIsUpstreams(t *testing.T) {
	history := func(syntax string) []string {
		r := bkharness.Buildx(t, bkharness.Opts{Dockerfile: syntax + exposeFile, Output: bkharness.OutputOCI}).Must(t)
		var out []string
		for _, h := range r.OCIImage(t, "").Config.History {
			out = append(out, h.CreatedBy)
		}
		return out
	}
	ours, theirs := history("# syntax=org/stagefront:1"), history(bkharness.SyntaxUpstream)
	if !slices.Equal(ours, theirs) {
		t.Errorf("history through org/stagefront:1 %q, through upstream %q", ours, theirs)
	}
	if !slices.ContainsFunc(ours, func(s string) bool { return strings.Contains(s, "EXPOSE 443/udp 80/tcp") }) {
		t.Errorf("history %q lacks Dockerfile 1.29's EXPOSE 443/udp 80/tcp", ours)
	}
}

// labsFile uses the labs instructions as extended files use anything:
// guarded with --if=, in an IF block, and in a fragment.
const labsFile = `
ARG SLIM=true
FROM busybox AS base
ENV A=1 B=2 C=3
LABEL keep=1 drop=1
CMD ["base"]
FROM --reset=cmd base AS final
IF SLIM
ENV --unset A
END
LABEL --if=SLIM --unset drop
INCLUDE unset-c.Dockerfile
RUN echo "A=[$A] B=[$B] C=[$C]" > /env
`

// TestLabsChannel: ENV --unset, LABEL --unset and FROM --reset work
// through org/stagefront:labs exactly as through upstream's labs frontend
// of the same BuildKit, and fail through org/stagefront:1 with upstream
// mainline's own error.
func TestLabsChannel(t *testing.T) {
	opts := func(syntax string) bkharness.Opts {
		return bkharness.Opts{
			Dockerfile:    syntax + labsFile,
			Files:         map[string]string{"unset-c.Dockerfile": "ENV --unset C\n"},
			BuildContexts: bkharness.Busybox,
			Output:        bkharness.OutputOCI,
		}
	}
	// upstream's labs frontend has no INCLUDE: its file has the
	// fragment's line in place.
	upstream := opts(bkharness.SyntaxUpstreamLabs)
	upstream.Dockerfile = strings.Replace(upstream.Dockerfile, "INCLUDE unset-c.Dockerfile", "ENV --unset C", 1)
	upstream.Dockerfile = strings.Replace(upstream.Dockerfile, "IF SLIM\nENV --unset A\nEND", "ENV --unset A", 1)
	upstream.Dockerfile = strings.Replace(upstream.Dockerfile, "LABEL --if=SLIM --unset drop", "LABEL --unset drop", 1)
	want := bkharness.Buildx(t, upstream).Must(t).OCIImage(t, "")
	got := bkharness.Buildx(t, opts(bkharness.SyntaxStagefrontLabs)).Must(t).OCIImage(t, "")

	if g := got.Files["env"]; g != "A=[] B=[2] C=[]\n" || g != want.Files["env"] {
		t.Errorf("/env through org/stagefront:labs %q, upstream labs %q, want A and C unset", g, want.Files["env"])
	}
	if g, w := got.Config.Config.Env, want.Config.Config.Env; !slices.Equal(g, w) || slices.ContainsFunc(g, func(e string) bool { return strings.HasPrefix(e, "A=") }) {
		t.Errorf("Env %q, upstream labs %q", g, w)
	}
	if _, ok := got.Config.Config.Labels["drop"]; ok || got.Config.Config.Labels["keep"] != "1" {
		t.Errorf("labels %v: want drop unset, keep kept", got.Config.Config.Labels)
	}
	if len(got.Config.Config.Cmd) != 0 || len(want.Config.Config.Cmd) != 0 {
		t.Errorf("FROM --reset=cmd kept Cmd %q (upstream labs: %q)", got.Config.Config.Cmd, want.Config.Config.Cmd)
	}
	var gh, wh []string
	for _, h := range got.Config.History {
		gh = append(gh, h.CreatedBy)
	}
	for _, h := range want.Config.History {
		wh = append(wh, h.CreatedBy)
	}
	if !slices.Equal(gh, wh) {
		t.Errorf("history %q, upstream labs %q", gh, wh)
	}

	// Mainline: upstream mainline's error, at the same line.
	mainline := opts("# syntax=org/stagefront:1")
	mainline.Output = bkharness.OutputNone
	ours := mainline.Dockerfile
	errOurs := bkharness.Buildx(t, mainline).MustFail(t)
	plain := opts(bkharness.SyntaxUpstream)
	plain.Output = bkharness.OutputNone
	plain.Dockerfile = upstream.Dockerfile[len(bkharness.SyntaxUpstreamLabs):]
	plain.Dockerfile = bkharness.SyntaxUpstream + plain.Dockerfile
	errUpstream := bkharness.Buildx(t, plain).MustFail(t)
	for _, want := range []string{"dockerfile parse error on line 7: unknown flag: --reset"} {
		if !strings.Contains(errUpstream, want) {
			t.Fatalf("upstream mainline says no %q:\n%s", want, bkharness.Tail(errUpstream, 20))
		}
		if !strings.Contains(errOurs, want) {
			t.Errorf("org/stagefront:1 on\n%s\nsays no %q:\n%s", ours, want, bkharness.Tail(errOurs, 20))
		}
	}
}
