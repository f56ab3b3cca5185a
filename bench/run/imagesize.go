package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// image_size_ratio: the frontend images' compressed sizes, side by side.

// imageSize compares the compressed size (the layers' blobs as the registry
// serves them) of the two frontend images, and the sizes of the binaries.
func imageSize() []measure {
	ours, err := compressedSize("org/stagefront", "latest")
	if err != nil {
		return []measure{{Key: "image_size_ratio", Value: errValue(err)}}
	}
	up, err := compressedSize("docker/dockerfile", "upstream")
	if err != nil {
		return []measure{{Key: "image_size_ratio", Value: errValue(err)}}
	}
	d := map[string]any{"stagefront_compressed_bytes": ours, "upstream_compressed_bytes": up}
	// The binaries: ours as the repo Dockerfile builds it, upstream's as
	// hack/build-tools built it for the image.
	bin := filepath.Join(tmp, "stagefront")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/frontend")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err == nil {
		if fi, err := os.Stat(bin); err == nil {
			d["stagefront_binary_bytes"] = fi.Size()
		}
	} else {
		d["stagefront_binary_error"] = string(out)
	}
	if fi, err := os.Stat(filepath.Join(root, ".cache", "bin", "dockerfile-frontend")); err == nil {
		d["upstream_binary_bytes"] = fi.Size()
	}
	// Like for like: upstream's image keeps its symbols and DWARF (its
	// Dockerfile links with -d, not -s -w); built with our flags, in the
	// module hack/build-tools builds it in, it is smaller.
	note := ""
	if mods, _ := filepath.Glob(filepath.Join(root, ".cache", "tools", "buildkit-*", "go.mod")); len(mods) == 1 {
		upBin := filepath.Join(tmp, "dockerfile-frontend-stripped")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "netgo static_build osusergo", "-ldflags=-s -w", "-o", upBin,
			"github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend")
		cmd.Dir = filepath.Dir(mods[0])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			d["upstream_stripped_error"] = string(out)
		} else {
			a, errA := gzipSize(bin)
			b, errB := gzipSize(upBin)
			if errA == nil && errB == nil {
				fi, _ := os.Stat(upBin)
				d["upstream_stripped_binary_bytes"] = fi.Size()
				d["stagefront_binary_gzip_bytes"], d["upstream_stripped_binary_gzip_bytes"] = a, b
				d["like_for_like_ratio"] = round3(float64(a) / float64(b))
				note = fmt.Sprintf("; same flags (-s -w): %.3f", float64(a)/float64(b))
			}
		}
	}
	details["image_size"] = d
	r := round3(float64(ours) / float64(up))
	return []measure{{Key: "image_size_ratio", Value: r,
		Note: fmt.Sprintf("%.1f MB vs %.1f MB compressed%s", float64(ours)/1e6, float64(up)/1e6, note)}}
}

// gzipSize is the size of the file gzipped (default level, as the image
// layers are).
func gzipSize(p string) (int64, error) {
	dt, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	var n countWriter
	zw := gzip.NewWriter(&n)
	if _, err := zw.Write(dt); err != nil {
		return 0, err
	}
	return int64(n), zw.Close()
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type manifest struct {
	Manifests []descriptor `json:"manifests"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

func getManifest(repo, ref string) (*manifest, error) {
	req, err := http.NewRequest("GET", "http://"+registry+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range []string{"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"} {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s:%s: registry says %s", repo, ref, resp.Status)
	}
	var m manifest
	return &m, json.NewDecoder(resp.Body).Decode(&m)
}

// compressedSize is the sum of the layer blobs of repo:tag for
// linux/<this arch> (the platform the bench's builds pull).
func compressedSize(repo, tag string) (int64, error) {
	m, err := getManifest(repo, tag)
	if err != nil {
		return 0, err
	}
	if len(m.Manifests) > 0 {
		var pick string
		for _, d := range m.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				pick = d.Digest
				break
			}
		}
		if pick == "" {
			return 0, fmt.Errorf("%s:%s has no linux/%s image", repo, tag, runtime.GOARCH)
		}
		if m, err = getManifest(repo, pick); err != nil {
			return 0, err
		}
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}
