// Package version says which stagefront this is: its own semantic
// version, its channel (mainline or labs: upstream's build tags it was
// built with), and the upstream Dockerfile frontend and BuildKit it
// embeds.
package version

import (
	"runtime/debug"
	"strings"

	dockerfileversion "github.com/moby/buildkit/frontend/dockerfile/version"
)

// Version is stagefront's semantic version. The images are tagged with
// it (1.0.0, 1.0, 1; and -labs for the labs channel); CHANGELOG.md says
// what each version changed and which upstream it embeds.
const Version = "1.0.0"

// Channel is the channel the binary was built for: "mainline", or
// "labs", built with the labs tags of upstream's
// frontend/dockerfile/release/labs/tags. The image build sets it
// (-ldflags -X); a plain go build is mainline.
var Channel = "mainline"

// Dockerfile returns the version of upstream's Dockerfile frontend that
// stagefront embeds, as its images are labelled (major.minor, "1.29").
func Dockerfile() string {
	v := dockerfileversion.Version() // "1.29.0", or with -dev when built without BuildKit's version
	v, _, _ = strings.Cut(v, "-")
	if parts := strings.Split(v, "."); len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// BuildKit returns the version of the BuildKit module stagefront was
// built with ("v0.35.1"), from the binary's build information.
func BuildKit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/moby/buildkit" {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

// Tags are the image tags of this version in its channel, the most
// precise first: 1.0.0, 1.0, 1, latest; or 1.0.0-labs, 1.0-labs, 1-labs,
// labs.
func Tags(channel string) []string {
	parts := strings.Split(Version, ".")
	tags := []string{Version, parts[0] + "." + parts[1], parts[0]}
	if channel == "mainline" {
		return append(tags, "latest")
	}
	for i := range tags {
		tags[i] += "-" + channel
	}
	return append(tags, channel)
}
