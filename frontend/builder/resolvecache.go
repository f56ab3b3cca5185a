// Follows BuildKit v0.35.1 frontend/dockerfile/builder/resolvecache.go:
// withResolveCache, which also keeps the configs it answered for the
// checks (see imagePeeker).

package builder

import (
	"context"
	"strconv"
	"sync"

	"github.com/gohugoio/hashstructure"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/flightcontrol"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// withResolveCache is a client.Client whose ResolveImageConfig asks BuildKit
// once per (ref, options) within one Build, however many platforms or
// stages need the same image; results and errors are both remembered.
type withResolveCache struct {
	client.Client
	calls flightcontrol.CachedGroup[resolved]
	// answers are the configs answered, by resolvedKey, for the checks
	// (see imagePeeker).
	answers sync.Map
}

type resolved struct {
	ref    string
	digest digest.Digest
	config []byte
}

func newWithResolveCache(c client.Client) *withResolveCache {
	return &withResolveCache{
		Client: c,
		calls:  flightcontrol.CachedGroup[resolved]{CacheError: true},
	}
}

// resolved implements imagePeeker.
func (d *withResolveCache) resolved(ref string, p ocispecs.Platform) (*ocispecs.Image, bool) {
	v, ok := d.answers.Load(resolvedKey(ref, p))
	if !ok {
		return nil, false
	}
	return parseImageConfig(v.([]byte))
}

func (d *withResolveCache) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	h, err := hashstructure.Hash(opt, nil)
	if err != nil {
		return "", "", nil, err
	}
	key := ref + "|" + strconv.FormatUint(h, 16)
	r, err := d.calls.Do(ctx, key, func(ctx context.Context) (resolved, error) {
		name, dgst, cfg, err := d.Client.ResolveImageConfig(ctx, ref, opt)
		if err == nil && opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
			d.answers.Store(resolvedKey(ref, *opt.ImageOpt.Platform), cfg)
		}
		return resolved{ref: name, digest: dgst, config: cfg}, err
	})
	if err != nil {
		return "", "", nil, err
	}
	return r.ref, r.digest, r.config, nil
}
