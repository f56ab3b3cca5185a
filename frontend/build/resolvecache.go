package build

import (
	"context"
	"strconv"

	"github.com/gohugoio/hashstructure"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/flightcontrol"
	digest "github.com/opencontainers/go-digest"
)

// dedupeResolve is a client.Client whose ResolveImageConfig asks BuildKit
// once per (ref, options) within one Build, however many platforms or
// stages need the same image; results and errors are both remembered.
type dedupeResolve struct {
	client.Client
	calls flightcontrol.CachedGroup[resolved]
}

type resolved struct {
	ref    string
	digest digest.Digest
	config []byte
}

func newDedupeResolve(c client.Client) *dedupeResolve {
	d := &dedupeResolve{Client: c}
	d.calls.CacheError = true
	return d
}

func (d *dedupeResolve) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	h, err := hashstructure.Hash(opt, nil)
	if err != nil {
		return "", "", nil, err
	}
	key := ref + "|" + strconv.FormatUint(h, 16)
	r, err := d.calls.Do(ctx, key, func(ctx context.Context) (resolved, error) {
		name, dgst, cfg, err := d.Client.ResolveImageConfig(ctx, ref, opt)
		return resolved{ref: name, digest: dgst, config: cfg}, err
	})
	if err != nil {
		return "", "", nil, err
	}
	return r.ref, r.digest, r.config, nil
}
