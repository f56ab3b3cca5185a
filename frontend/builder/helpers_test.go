package builder

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/llbtest"
)

// stubResolver answers image lookups without a registry (see llbtest).
type stubResolver = llbtest.StubResolver

var (
	sourceMapsMu sync.Mutex
	sourceMaps   = map[string]*llb.SourceMap{}
)

// fixedUnique makes local sources marshal the same every time (BuildKit
// gives each Marshal of a local source a random unique ID).
var fixedUnique = llb.LocalUniqueID("stagefront-test")

// sourceMapFor is a source map for dt as ReadEntrypoint makes one: with
// a Definition (DockerfileLint needs it). The same content gets the same
// map (a local source is unique per call), as both conversions of one
// build share one map.
func sourceMapFor(t testing.TB, dt []byte) *llb.SourceMap {
	t.Helper()
	sourceMapsMu.Lock()
	defer sourceMapsMu.Unlock()
	if sm, ok := sourceMaps[string(dt)]; ok {
		return sm
	}
	st := llb.Local(dockerui.DefaultLocalNameDockerfile, llb.FollowPaths([]string{"Dockerfile"}))
	sm := llb.NewSourceMap(&st, "Dockerfile", "Dockerfile", dt)
	def, err := st.Marshal(context.Background(), fixedUnique)
	if err != nil {
		t.Fatal(err)
	}
	sm.Definition = def
	sourceMaps[string(dt)] = sm
	return sm
}

// warning is one converter warning, as recorded by a test.
type warning struct {
	Rule, Msg string
	Lines     []int
}

type warnings struct {
	mu   sync.Mutex
	list []warning
}

func (w *warnings) fn(rule, _, _, msg string, loc []parser.Range) {
	if isStagefrontRule(rule) {
		return // upstream parity: stagefront's own rules are tested in lint_test.go
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var lines []int
	for _, r := range loc {
		lines = append(lines, r.Start.Line)
	}
	w.list = append(w.list, warning{rule, msg, lines})
}

// testConvertOpt is a ConvertOpt for in-process conversion.
func testConvertOpt(t testing.TB, dt []byte, args map[string]string, target string, w *warnings) dockerfile2llb.ConvertOpt {
	caps := pb.Caps.CapSet(pb.Caps.All())
	opt := dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:      args,
			Target:         target,
			BuildPlatforms: []ocispecs.Platform{platforms.MustParse("linux/amd64")},
		},
		SourceMap:    sourceMapFor(t, dt),
		MetaResolver: stubResolver{},
		LLBCaps:      &caps,
	}
	if w != nil {
		opt.Warn = w.fn
	}
	return opt
}

// defDigest is the digest of an LLB definition's ops, in order.
func defDigest(def [][]byte) digest.Digest {
	d := digest.Canonical.Digester()
	for _, op := range def {
		d.Hash().Write([]byte(digest.FromBytes(op)))
	}
	return d.Digest()
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}
