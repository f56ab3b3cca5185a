// Package registry reads images from a registry over plain HTTP (the
// local one the hack/ scripts start on 127.0.0.1:5000): manifests and
// blobs, checked against their digests. The upstream suite copies images
// out of it, the e2e harness and the release check read their configs and
// attestations.
package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestTypes are the manifest media types asked for.
var manifestTypes = []string{
	ocispecs.MediaTypeImageIndex,
	ocispecs.MediaTypeImageManifest,
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// Client reads a registry at Host (host:port) over plain HTTP.
type Client struct {
	Host string
	HTTP *http.Client
}

// Manifest returns the manifest or index repo:ref names (a tag or a
// digest), and its digest.
func (c Client) Manifest(ctx context.Context, repo, ref string) ([]byte, digest.Digest, error) {
	b, hdr, err := c.get(ctx, repo, "manifests", ref)
	if err != nil {
		return nil, "", err
	}
	d := digest.Digest(hdr.Get("Docker-Content-Digest"))
	if d == "" {
		d = digest.FromBytes(b)
	}
	if dd, err := digest.Parse(ref); err == nil && dd != digest.FromBytes(b) {
		return nil, "", fmt.Errorf("%s@%s: the registry sent a manifest of digest %s", repo, ref, digest.FromBytes(b))
	}
	return b, d, nil
}

// Blob returns the blob d of repo, checked against its digest.
func (c Client) Blob(ctx context.Context, repo string, d digest.Digest) ([]byte, error) {
	b, _, err := c.get(ctx, repo, "blobs", d.String())
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(b); got != d {
		return nil, fmt.Errorf("%s: blob %s has digest %s", repo, d, got)
	}
	return b, nil
}

// Index reads b as an index or a manifest (their common fields).
func Index(b []byte) (ocispecs.Index, ocispecs.Manifest, error) {
	var idx ocispecs.Index
	var m ocispecs.Manifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, m, err
	}
	err := json.Unmarshal(b, &m)
	return idx, m, err
}

func (c Client) get(ctx context.Context, repo, kind, ref string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Host+"/v2/"+repo+"/"+kind+"/"+ref, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, mt := range manifestTypes {
		req.Header.Add("Accept", mt)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s %s of %s: %s", kind, ref, repo, resp.Status)
	}
	return b, resp.Header, nil
}
