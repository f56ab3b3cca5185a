package release

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/registry"
	"github.com/org/stagefront/internal/version"
)

// fakeRegistry serves a release of every tag, as make builds it for a
// channel.
type fakeRegistry struct {
	blobs map[digest.Digest][]byte
	tags  map[string][]byte
}

func (f *fakeRegistry) put(v any) ocispecs.Descriptor {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	d := digest.FromBytes(b)
	f.blobs[d] = b
	return ocispecs.Descriptor{Digest: d, Size: int64(len(b))}
}

// release is what a tag holds: each platform's image and, unless left
// out, its attestations; labels override the config's labels.
type release struct {
	platforms []string
	attest    []string // predicate types
	labels    map[string]string
	// buildkit is the version of BuildKit the SBOM lists (default: the
	// one this stagefront embeds).
	buildkit string
}

func (f *fakeRegistry) tag(tag, channel string, r release) {
	var idx ocispecs.Index
	idx.MediaType = ocispecs.MediaTypeImageIndex
	for _, p := range r.platforms {
		os, arch, _ := strings.Cut(p, "/")
		labels := map[string]string{
			"org.opencontainers.image.version":  version.Version,
			"org.stagefront.channel":            channel,
			"org.stagefront.dockerfile.version": version.Dockerfile(),
		}
		for k, v := range r.labels {
			labels[k] = v
		}
		img := ocispecs.Image{Platform: ocispecs.Platform{OS: os, Architecture: arch}}
		img.Config.Labels = labels
		cfg := f.put(img)
		m := f.put(ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: cfg})
		m.MediaType, m.Platform = ocispecs.MediaTypeImageManifest, &ocispecs.Platform{OS: os, Architecture: arch}
		idx.Manifests = append(idx.Manifests, m)
		var layers []ocispecs.Descriptor
		bk := r.buildkit
		if bk == "" {
			bk = version.BuildKit()
		}
		for _, pt := range r.attest {
			statement := map[string]any{"predicateType": pt}
			if pt == predicateSPDX {
				statement["predicate"] = map[string]any{"packages": []map[string]string{
					{"name": "github.com/org/stagefront", "versionInfo": "UNKNOWN"},
					{"name": sbomModule, "versionInfo": bk},
				}}
			}
			l := f.put(statement)
			l.Annotations = map[string]string{"in-toto.io/predicate-type": pt}
			layers = append(layers, l)
		}
		am := f.put(ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: f.put(struct{}{}), Layers: layers})
		am.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": m.Digest.String()}
		am.Platform = &ocispecs.Platform{OS: "unknown", Architecture: "unknown"}
		idx.Manifests = append(idx.Manifests, am)
	}
	b, _ := json.Marshal(idx)
	f.tags[tag] = b
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/org/stagefront/"), "/")
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	if b, ok := f.tags[parts[1]]; ok {
		w.Write(b)
		return
	}
	if b, ok := f.blobs[digest.Digest(parts[1])]; ok {
		w.Write(b)
		return
	}
	http.NotFound(w, r)
}

func TestCheck(t *testing.T) {
	whole := release{platforms: Platforms, attest: []string{"https://slsa.dev/provenance/v0.2", predicateSPDX}}
	for _, tc := range []struct {
		name string
		// broken is what the tag 1-labs holds instead of a whole release.
		broken *release
		want   []string
	}{
		{name: "whole"},
		{name: "no SBOM", broken: &release{platforms: Platforms, attest: whole.attest[:1]}, want: []string{"org/stagefront:1-labs: no sbom attestation for linux/amd64", "no sbom attestation for linux/arm64"}},
		{name: "an SBOM of another BuildKit", broken: &release{platforms: Platforms, attest: whole.attest, buildkit: "v0.10.0"},
			want: []string{"org/stagefront:1-labs: the SBOM sha256:", "lists github.com/moby/buildkit at [v0.10.0], want " + version.BuildKit()}},
		{name: "no arm64", broken: &release{platforms: Platforms[:1], attest: whole.attest}, want: []string{"org/stagefront:1-labs: no image for linux/arm64"}},
		{name: "another channel's image", broken: &release{platforms: Platforms, attest: whole.attest, labels: map[string]string{"org.stagefront.channel": "mainline"}},
			want: []string{`org/stagefront:1-labs: linux/amd64: label org.stagefront.channel is "mainline", want "labs"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRegistry{blobs: map[digest.Digest][]byte{}, tags: map[string][]byte{}}
			for _, ch := range Channels {
				for _, tag := range version.Tags(ch) {
					f.tag(tag, ch, whole)
				}
			}
			if tc.broken != nil {
				f.tag("1-labs", "labs", *tc.broken)
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			err := Check(context.Background(), registry.Client{Host: strings.TrimPrefix(srv.URL, "http://")}, "org/stagefront")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("a whole release: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem found, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}
