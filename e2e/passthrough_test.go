//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

// What BuildKit v0.35 added that reaches a build through its frontend
// reaches it through stagefront too: each case builds the same file
// through upstream's frontend and ours and expects the same.

// TestGitDebugCommands: BUILDKIT_GIT_DEBUG_COMMANDS shows the git commands
// of an ADD of a git repository in the progress.
func TestGitDebugCommands(t *testing.T) {
	url := bkharness.GitServer(t, map[string]map[string]string{
		"up":   {"hello.txt": "from upstream's build\n"},
		"ours": {"hello.txt": "from ours\n"},
	})
	for syntax, repo := range map[string]string{bkharness.SyntaxUpstream: "up", bkharness.SyntaxStagefront: "ours"} {
		for _, debug := range []bool{true, false} {
			args := map[string]string{}
			if debug {
				args["BUILDKIT_GIT_DEBUG_COMMANDS"] = "1"
			}
			r := bkharness.Buildx(t, bkharness.Opts{
				Dockerfile: syntax + "\nFROM scratch\nADD " + url + "/" + repo + ".git#main /src\n",
				BuildArgs:  args,
				Args:       []string{"--no-cache"},
			}).Must(t)
			if !strings.Contains(r.File(t, "src/hello.txt"), "from") {
				t.Errorf("%s: ADD of the repository exported %v", syntax, r.Files(t))
			}
			if shown := strings.Contains(r.Progress, "+ git "); shown != debug {
				t.Errorf("%s, BUILDKIT_GIT_DEBUG_COMMANDS=%t: git commands in the progress: %t\n%s", syntax, debug, shown, bkharness.Tail(r.Progress, 30))
			}
		}
	}
}

// onbuildFile's last stage is built on a stage with an ONBUILD trigger.
const onbuildFile = `
FROM busybox AS base
ONBUILD RUN echo triggered > /onbuild
FROM base
RUN cat /onbuild > /seen 2>/dev/null || echo skipped > /seen
FROM scratch
COPY --from=1 /seen /seen
`

// TestDisableOnbuild: BUILDKIT_DISABLE_ONBUILD skips ONBUILD triggers.
func TestDisableOnbuild(t *testing.T) {
	for _, syntax := range []string{bkharness.SyntaxUpstream, bkharness.SyntaxStagefront} {
		for disable, want := range map[string]string{"": "triggered\n", "1": "skipped\n"} {
			r := bkharness.Buildx(t, bkharness.Opts{
				Dockerfile:    syntax + onbuildFile,
				BuildArgs:     map[string]string{"BUILDKIT_DISABLE_ONBUILD": disable},
				BuildContexts: bkharness.Busybox,
			}).Must(t)
			if got := r.File(t, "seen"); got != want {
				t.Errorf("%s, BUILDKIT_DISABLE_ONBUILD=%q: /seen = %q, want %q", syntax, disable, got, want)
			}
		}
	}
}

// TestProvenance: a build with provenance records the frontend image and
// the Dockerfile version as it does for upstream's.
func TestProvenance(t *testing.T) {
	type facts struct {
		frontend, source, dockerfileVersion string
		frontendDependency                  bool
	}
	read := func(syntax, image string) facts {
		r := bkharness.Buildx(t, bkharness.Opts{
			Dockerfile: syntax + "\nFROM scratch\nCOPY a /a\n",
			Files:      map[string]string{"a": "a\n"},
			Args:       []string{"--provenance=mode=max"},
			Output:     bkharness.OutputOCI,
		}).Must(t)
		var f facts
		for _, st := range r.Attestations(t) {
			if !strings.Contains(st["predicateType"].(string), "slsa.dev/provenance") {
				continue
			}
			dt, _ := json.Marshal(st["predicate"])
			var p struct {
				BuildDefinition struct {
					ExternalParameters struct {
						Request struct {
							Frontend string            `json:"frontend"`
							Args     map[string]string `json:"args"`
						} `json:"request"`
					} `json:"externalParameters"`
					InternalParameters struct {
						DockerfileVersion string `json:"dockerfileVersion"`
					} `json:"internalParameters"`
					ResolvedDependencies []struct {
						URI string `json:"uri"`
					} `json:"resolvedDependencies"`
				} `json:"buildDefinition"`
				// SLSA v0.2, buildx's default on some versions.
				Invocation struct {
					Parameters struct {
						Frontend string            `json:"frontend"`
						Args     map[string]string `json:"args"`
					} `json:"parameters"`
				} `json:"invocation"`
				Materials []struct {
					URI string `json:"uri"`
				} `json:"materials"`
			}
			if err := json.Unmarshal(dt, &p); err != nil {
				t.Fatal(err)
			}
			req := p.BuildDefinition.ExternalParameters.Request
			f.frontend, f.source = req.Frontend, req.Args["source"]
			if f.frontend == "" {
				f.frontend, f.source = p.Invocation.Parameters.Frontend, p.Invocation.Parameters.Args["source"]
			}
			f.dockerfileVersion = p.BuildDefinition.InternalParameters.DockerfileVersion
			for _, d := range p.BuildDefinition.ResolvedDependencies {
				f.frontendDependency = f.frontendDependency || strings.Contains(d.URI, image)
			}
			for _, m := range p.Materials {
				f.frontendDependency = f.frontendDependency || strings.Contains(m.URI, image)
			}
		}
		if f.frontend == "" {
			t.Fatalf("%s: no provenance attestation", syntax)
		}
		return f
	}
	up := read(bkharness.SyntaxUpstream, "docker/dockerfile")
	ours := read(bkharness.SyntaxStagefront, "org/stagefront")
	if ours.frontend != up.frontend || ours.dockerfileVersion != up.dockerfileVersion {
		t.Errorf("provenance through stagefront %+v, through upstream %+v", ours, up)
	}
	if !ours.frontendDependency || !up.frontendDependency {
		t.Errorf("the frontend image is not among the provenance's dependencies: stagefront %+v, upstream %+v", ours, up)
	}
}
