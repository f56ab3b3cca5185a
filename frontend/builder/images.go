package builder

// The image names the conversion resolves, worked out as upstream works
// them out, so that the checks read the answers the conversion already
// got instead of asking again.
//
// Follows BuildKit v0.35.1 frontend/dockerfile/dockerfile2llb/convert.go:
// resolveBaseImage: the base name is normalized and tagged "latest" when
// untagged (reference.TagNameOnly), a named context of that name is asked
// first, then the resolver, with the stage's platform or the target's.
//
// Follows BuildKit v0.35.1 frontend/dockerui/config.go:
// Client.NamedContext: a context is looked up as
// "context:<familiar name without :latest>::<platform>", then without the
// platform.
//
// Follows BuildKit v0.35.1 frontend/dockerui/namedcontext.go:
// NamedContext.load: a docker-image:// context resolves its image,
// normalized and tagged the same way, with the same platform.

import (
	"encoding/json"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
)

// imagePeeker gives the image configs a build's resolver has answered,
// without asking for any.
type imagePeeker interface {
	// resolved returns the config of ref for platform p, when the
	// resolver answered it.
	resolved(ref string, p ocispecs.Platform) (*ocispecs.Image, bool)
}

// finalBase returns the image the final stage of the rewrite is built on
// (rewrite.Result.FinalBase) and the platform its FROM asks for (nil: the
// target's); false when that is scratch or not known.
func finalBase(rw *rewrite.Result) (string, *ocispecs.Platform, bool) {
	base, st, ok := rw.FinalBase()
	if !ok {
		return "", nil, false
	}
	if st.Platform == "" {
		return base, nil, true
	}
	v, ok := rw.ExpandGlobal(st.Platform)
	if !ok {
		return "", nil, false
	}
	p, err := platforms.Parse(v)
	if err != nil {
		return "", nil, false
	}
	return base, &p, true
}

// baseImageRef is the reference the conversion resolves the base image
// name with for platform p: the name normalized and tagged, or the image
// of the named context (--build-context) that replaces it. false when a
// named context of another kind replaces it, or the name is no image
// reference.
func baseImageRef(opts map[string]string, base string, p ocispecs.Platform) (string, bool) {
	named, err := reference.ParseNormalizedNamed(base)
	if err != nil {
		return "", false
	}
	named = reference.TagNameOnly(named)
	name := strings.TrimSuffix(reference.FamiliarString(named), ":latest")
	v, ok := opts["context:"+name+"::"+platforms.FormatAll(platforms.Normalize(p))]
	if !ok {
		v, ok = opts["context:"+name]
	}
	if !ok {
		return named.String(), true
	}
	img, isImage := strings.CutPrefix(v, "docker-image://")
	if !isImage {
		return "", false
	}
	cn, err := reference.ParseNormalizedNamed(strings.TrimPrefix(img, "//"))
	if err != nil {
		return "", false
	}
	return reference.TagNameOnly(cn).String(), true
}

// resolvedKey is how answers are kept: by reference and platform.
func resolvedKey(ref string, p ocispecs.Platform) string {
	return ref + "|" + platforms.FormatAll(platforms.Normalize(p))
}

// parseImageConfig reads an image config as the resolver returns it.
func parseImageConfig(dt []byte) (*ocispecs.Image, bool) {
	var img ocispecs.Image
	if err := json.Unmarshal(dt, &img); err != nil {
		return nil, false
	}
	return &img, true
}
