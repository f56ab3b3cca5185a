// Package release checks what hack/release pushed: every tag of this
// version in both channels, for every platform, labelled with the version
// and the upstream it embeds, with a provenance and an SBOM attestation
// for each platform, as upstream's release images carry them.
package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/internal/registry"
	"github.com/org/stagefront/internal/version"
)

// Channels are stagefront's channels.
var Channels = []string{"mainline", "labs"}

// Platforms are the platforms a release is built for.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// The predicate types of the attestations a release carries.
const (
	predicateSPDX = "https://spdx.dev/Document"
	// provenance is the prefix of SLSA provenance, v0.2 or v1.
	provenance = "https://slsa.dev/provenance/"
)

// Check reads every tag of repo (as "org/stagefront") from the registry
// and returns what is missing, all of it; nil when the release is whole.
func Check(ctx context.Context, c registry.Client, repo string) error {
	var problems []error
	for _, channel := range Channels {
		for _, tag := range version.Tags(channel) {
			for _, p := range checkTag(ctx, c, repo, tag, channel) {
				problems = append(problems, fmt.Errorf("%s:%s: %s", repo, tag, p))
			}
		}
	}
	return errors.Join(problems...)
}

// checkTag returns what is wrong with one tag.
func checkTag(ctx context.Context, c registry.Client, repo, tag, channel string) []string {
	b, _, err := c.Manifest(ctx, repo, tag)
	if err != nil {
		return []string{err.Error()}
	}
	idx, _, err := registry.Index(b)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	images := map[string]ocispecs.Descriptor{} // by platform
	attested := map[string]map[string]bool{}   // by image digest: provenance, sbom
	for _, d := range idx.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			kinds, err := attestationKinds(ctx, c, repo, d)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			attested[d.Annotations["vnd.docker.reference.digest"]] = kinds
			continue
		}
		if d.Platform != nil {
			images[d.Platform.OS+"/"+d.Platform.Architecture] = d
		}
	}
	for _, p := range Platforms {
		d, ok := images[p]
		if !ok {
			problems = append(problems, "no image for "+p)
			continue
		}
		problems = append(problems, checkLabels(ctx, c, repo, d, channel, p)...)
		for _, kind := range []string{"provenance", "sbom"} {
			if !attested[d.Digest.String()][kind] {
				problems = append(problems, fmt.Sprintf("no %s attestation for %s", kind, p))
			}
		}
	}
	return problems
}

// sbomModule is the Go module an SBOM of the frontend must list, at the
// version this stagefront is built with: the upstream it embeds.
const sbomModule = "github.com/moby/buildkit"

// attestationKinds reads an attestation manifest: which of "provenance"
// and "sbom" its layers hold. An SBOM counts when it lists sbomModule at
// the version this stagefront embeds (else its error says what it lists).
func attestationKinds(ctx context.Context, c registry.Client, repo string, d ocispecs.Descriptor) (map[string]bool, error) {
	b, _, err := c.Manifest(ctx, repo, d.Digest.String())
	if err != nil {
		return nil, err
	}
	_, m, err := registry.Index(b)
	if err != nil {
		return nil, err
	}
	kinds := map[string]bool{}
	for _, l := range m.Layers {
		switch pt := l.Annotations["in-toto.io/predicate-type"]; {
		case pt == predicateSPDX:
			if err := checkSBOM(ctx, c, repo, l); err != nil {
				return nil, err
			}
			kinds["sbom"] = true
		case strings.HasPrefix(pt, provenance):
			kinds["provenance"] = true
		}
	}
	return kinds, nil
}

// checkSBOM reads an SPDX statement: it must list sbomModule at the
// version of the BuildKit this stagefront embeds.
func checkSBOM(ctx context.Context, c registry.Client, repo string, l ocispecs.Descriptor) error {
	b, err := c.Blob(ctx, repo, l.Digest)
	if err != nil {
		return err
	}
	var st struct {
		Predicate struct {
			Packages []struct {
				Name        string `json:"name"`
				VersionInfo string `json:"versionInfo"`
			} `json:"packages"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("the SBOM %s: %w", l.Digest, err)
	}
	want := version.BuildKit()
	var listed []string
	for _, p := range st.Predicate.Packages {
		if p.Name == sbomModule {
			if p.VersionInfo == want {
				return nil
			}
			listed = append(listed, p.VersionInfo)
		}
	}
	return fmt.Errorf("the SBOM %s (%d packages) lists %s at %v, want %s", l.Digest, len(st.Predicate.Packages), sbomModule, listed, want)
}

// checkLabels reads the image's config: its version labels.
func checkLabels(ctx context.Context, c registry.Client, repo string, d ocispecs.Descriptor, channel, platform string) []string {
	b, _, err := c.Manifest(ctx, repo, d.Digest.String())
	if err != nil {
		return []string{err.Error()}
	}
	_, m, err := registry.Index(b)
	if err != nil {
		return []string{err.Error()}
	}
	cb, err := c.Blob(ctx, repo, m.Config.Digest)
	if err != nil {
		return []string{err.Error()}
	}
	var img ocispecs.Image
	if err := json.Unmarshal(cb, &img); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, l := range []struct{ key, want string }{
		{"org.opencontainers.image.version", version.Version},
		{"org.stagefront.channel", channel},
		{"org.stagefront.dockerfile.version", version.Dockerfile()},
	} {
		if got := img.Config.Labels[l.key]; got != l.want {
			problems = append(problems, fmt.Sprintf("%s: label %s is %q, want %q", platform, l.key, got, l.want))
		}
	}
	if got := img.OS + "/" + img.Architecture; !slices.Contains(Platforms, got) || got != platform {
		problems = append(problems, fmt.Sprintf("the image for %s is built for %s", platform, got))
	}
	return problems
}
