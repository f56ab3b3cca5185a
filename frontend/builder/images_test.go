package builder

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/llbtest"
)

// countingClient is a gateway client whose image lookups a stub answers
// (it fails on names that are not normalized, as a registry would), and
// which counts them by reference.
type countingClient struct {
	client.Client
	stub  llbtest.StubResolver
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingClient) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	c.mu.Lock()
	c.calls[ref]++
	c.mu.Unlock()
	return c.stub.ResolveImageConfig(ctx, ref, opt)
}

// imageUsers are the USER of the test images' configs.
var imageUsers = map[string]string{
	"docker.io/org/img:1":                 "1000",
	"docker.io/library/node:20-alpine":    "",
	"localhost:5000/stagefront/nonroot:1": "65532",
}

// TestChecksReadResolvedImages: FinalStageRunsAsRoot reads the final
// image's user from what the conversion resolved, with short names as
// users write them (asking again for "org/img:1" as written would be a
// second request, and a failing one), in --call=check and in a build
// alike; one lookup per image.
func TestChecksReadResolvedImages(t *testing.T) {
	for _, tc := range []struct {
		name, from string
		fires      bool
	}{
		{"short name, USER 1000", "FROM org/img:1", false},
		{"library image, root", "FROM node:20-alpine", true},
		{"stage chain", "FROM org/img:1 AS base\nFROM base", false},
		{"a USER instruction decides", "FROM org/img:1\nUSER root", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df := "# syntax=org/stagefront\nARG DOCS=true\n" + tc.from + "\nRUN --if=DOCS echo docs\n"
			dt := []byte(df)
			for _, mode := range []string{"check", "build"} {
				cc := &countingClient{stub: llbtest.StubResolver{Users: imageUsers}, calls: map[string]int{}}
				resolver := newWithResolveCache(cc)
				var warned []string
				opt := testConvertOpt(t, dt, nil, "", nil)
				opt.MetaResolver = resolver
				opt.Warn = func(rule, _, _, _ string, _ []parser.Range) { warned = append(warned, rule) }
				cv := &converter{orig: dt, opt: opt, images: resolver}
				switch mode {
				case "check":
					lr, err := cv.lint(context.Background(), nil)
					if err != nil {
						t.Fatal(err)
					}
					if lr.Error != nil {
						t.Fatalf("check: %s", lr.Error.Message)
					}
					for _, w := range lr.Warnings {
						warned = append(warned, w.RuleName)
					}
				case "build":
					if _, _, err := cv.toLLB(context.Background(), nil, true); err != nil {
						t.Fatalf("build: %v", err)
					}
				}
				if fired := slices.Contains(warned, "FinalStageRunsAsRoot"); fired != tc.fires {
					t.Errorf("%s: FinalStageRunsAsRoot fired: %v, want %v (warnings %v)", mode, fired, tc.fires, warned)
				}
				for ref, n := range cc.calls {
					if n != 1 {
						t.Errorf("%s: %s looked up %d times", mode, ref, n)
					}
					if !strings.Contains(ref, "/") || !strings.Contains(ref, ":") {
						t.Errorf("%s: looked up %q, not a normalized reference", mode, ref)
					}
				}
			}
		})
	}
}

// TestBaseImageRef: the reference the conversion resolves a base name
// with, named contexts included (dockerui's keys).
func TestBaseImageRef(t *testing.T) {
	t.Parallel()
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		base string
		opts map[string]string
		want string
	}{
		{"busybox", nil, "docker.io/library/busybox:latest"},
		{"org/img:1", nil, "docker.io/org/img:1"},
		{"node:20-alpine", nil, "docker.io/library/node:20-alpine"},
		{"localhost:5000/x/y@sha256:" + strings.Repeat("a", 64), nil, "localhost:5000/x/y@sha256:" + strings.Repeat("a", 64)},
		{"busybox", map[string]string{"context:busybox": "docker-image://localhost:5000/t/bb:1"}, "localhost:5000/t/bb:1"},
		{"busybox:latest", map[string]string{"context:busybox::linux/amd64": "docker-image://alpine"}, "docker.io/library/alpine:latest"},
		{"org/img:1", map[string]string{"context:org/img:1": "docker-image://org/other"}, "docker.io/org/other:latest"},
		{"busybox", map[string]string{"context:busybox": "local:dir"}, ""},
		{"Not A Ref", nil, ""},
	} {
		got, ok := baseImageRef(tc.opts, tc.base, amd64)
		if !ok {
			got = ""
		}
		if got != tc.want {
			t.Errorf("baseImageRef(%q, %v) = %q, want %q", tc.base, tc.opts, got, tc.want)
		}
	}
}
