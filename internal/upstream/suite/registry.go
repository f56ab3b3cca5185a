package suite

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/registry"
)

// Registry reads images from a registry over plain HTTP (the local one
// at 127.0.0.1:5000).
type Registry struct{ registry.Client }

// OCILayoutTar copies the linux/amd64 image of repo:tag, blob for blob,
// into an OCI layout tarball in dir, named <name>-<manifest digest>.tar,
// and returns its path; a tarball of that digest already there is kept.
// The layout's index names the image ref (as the suite's
// FRONTEND_GATEWAY_ONLY=local:<tar> wants it). Every blob's digest is
// checked.
func (r Registry) OCILayoutTar(ctx context.Context, repo, tag, dir, name string) (string, error) {
	top, topDigest, err := r.Manifest(ctx, repo, tag)
	if err != nil {
		return "", err
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(top, &idx); err != nil {
		return "", fmt.Errorf("%s:%s: %w", repo, tag, err)
	}
	var desc ocispecs.Descriptor
	if len(idx.Manifests) > 0 {
		for _, d := range idx.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
				desc = d
				break
			}
		}
		if desc.Digest == "" {
			return "", fmt.Errorf("%s:%s has no linux/amd64 manifest", repo, tag)
		}
	} else {
		desc = ocispecs.Descriptor{MediaType: idx.MediaType, Size: int64(len(top)), Digest: topDigest}
		if desc.MediaType == "" {
			desc.MediaType = ocispecs.MediaTypeImageManifest
		}
	}
	out := filepath.Join(dir, name+"-"+desc.Digest.Encoded()+".tar")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	blobs := map[digest.Digest][]byte{}
	raw, _, err := r.Manifest(ctx, repo, desc.Digest.String())
	if err != nil {
		return "", err
	}
	blobs[desc.Digest] = raw
	var m ocispecs.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", err
	}
	for _, d := range append([]ocispecs.Descriptor{m.Config}, m.Layers...) {
		if blobs[d.Digest], err = r.Blob(ctx, repo, d.Digest); err != nil {
			return "", fmt.Errorf("%s:%s: %w", repo, tag, err)
		}
	}
	desc.Annotations = map[string]string{ocispecs.AnnotationRefName: r.Host + "/" + repo + ":" + tag}
	desc.Platform = nil
	index, err := json.Marshal(ocispecs.Index{Versioned: idx.Versioned, MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{desc}})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	tw := tar.NewWriter(tmp)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add(ocispecs.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return "", err
	}
	if err := add("index.json", index); err != nil {
		return "", err
	}
	for d, b := range blobs {
		if err := add("blobs/"+d.Algorithm().String()+"/"+d.Encoded(), b); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	// Older tarballs of this name are stale.
	old, _ := filepath.Glob(filepath.Join(dir, name+"-*.tar"))
	for _, o := range old {
		if o != out && !strings.Contains(filepath.Base(o), ".tmp-") {
			os.Remove(o)
		}
	}
	return out, nil
}
