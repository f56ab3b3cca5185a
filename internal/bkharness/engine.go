package bkharness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Docker Engine, the way most users build: hack/docker-engine starts two
// engines beside the project's buildkitd, each on a socket of its own, and
// tells the tests where they are in these variables. A test of an engine
// whose variable is missing fails: it never skips.
const (
	// EnvEngine20Host is Debian's docker.io (Engine 20.10, embedded
	// BuildKit ~0.8), built with the classic client:
	// DOCKER_BUILDKIT=1 /usr/bin/docker build.
	EnvEngine20Host = "STAGEFRONT_ENGINE20_HOST" // e.g. unix:///run/stagefront/docker20.sock
	// EnvEngine29Host is Engine 29 (github.com/moby/moby/v2 v2.0.0-beta.24),
	// built with docker buildx's docker driver (the engine's own BuildKit).
	EnvEngine29Host = "STAGEFRONT_ENGINE29_HOST" // e.g. unix:///run/stagefront/docker29.sock
)

// Engine is a Docker Engine and the client that builds on it.
type Engine struct {
	// Name is "engine20", "engine20buildx" or "engine29" (a subtest's name).
	Name string
	// Host is its DOCKER_HOST.
	Host string
	// Client is the docker CLI: /usr/bin/docker (20.10, Debian's) for the
	// classic builder, /usr/local/bin/docker with the buildx plugin.
	Client string
	// Classic: `DOCKER_BUILDKIT=1 docker build` (the classic client's
	// BuildKit session); otherwise `docker buildx build --builder default`
	// (buildx's docker driver).
	Classic bool
}

// Engine20 is Engine 20.10 with its classic client ($STAGEFRONT_ENGINE20_HOST).
func Engine20(t TB) Engine {
	t.Helper()
	return Engine{Name: "engine20", Host: engineHost(t, EnvEngine20Host), Client: "/usr/bin/docker", Classic: true}
}

// Engine20Buildx is Engine 20.10 with docker buildx's docker driver
// ($STAGEFRONT_ENGINE20_HOST): a user of the old engine with a current
// client has --call and --build-context.
func Engine20Buildx(t TB) Engine {
	t.Helper()
	return Engine{Name: "engine20buildx", Host: engineHost(t, EnvEngine20Host), Client: "/usr/local/bin/docker"}
}

// Engine29 is Engine 29 with docker buildx's docker driver
// ($STAGEFRONT_ENGINE29_HOST).
func Engine29(t TB) Engine {
	t.Helper()
	return Engine{Name: "engine29", Host: engineHost(t, EnvEngine29Host), Client: "/usr/local/bin/docker"}
}

func engineHost(t TB, env string) string {
	t.Helper()
	h := os.Getenv(env)
	if h == "" {
		t.Fatalf("%s is not set: run the engine tests with hack/docker-engine e2e", env)
	}
	return h
}

// env is the environment of a client command on this engine. The classic
// client gets a configuration directory of its own (empty), so that no
// `docker buildx install` alias turns `docker build` into buildx.
func (e Engine) env(t TB) []string {
	env := []string{"DOCKER_HOST=" + e.Host}
	if e.Classic {
		env = append(env, "DOCKER_BUILDKIT=1", "DOCKER_CONFIG="+t.TempDir())
	} else {
		env = append(env, "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
	}
	return env
}

// Version is `docker version` of the engine (client and server).
func (e Engine) Version(t TB) string {
	t.Helper()
	return e.docker(t, "version")
}

// ServerVersion is the engine's version (`docker version --format
// '{{.Server.Version}}'`).
func (e Engine) ServerVersion(t TB) string {
	t.Helper()
	return strings.TrimSpace(e.docker(t, "version", "--format", "{{.Server.Version}}"))
}

// BuildKitVersion is the version of the engine's embedded BuildKit, as
// `docker buildx inspect default` reports it (buildx clients only; the
// classic client cannot tell).
func (e Engine) BuildKitVersion(t TB) string {
	t.Helper()
	if e.Classic {
		t.Fatalf("%s: the classic client does not report the engine's BuildKit", e.Name)
	}
	out := e.docker(t, "buildx", "inspect", "default")
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "BuildKit version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("docker buildx inspect default on %s reports no BuildKit version:\n%s", e.Host, out)
	return ""
}

// docker runs the engine's client with args and returns its output.
func (e Engine) docker(t TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(e.Client, args...)
	cmd.Env = append(os.Environ(), e.env(t)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s on %s: %v\n%s", e.Client, strings.Join(args, " "), e.Host, err, out)
	}
	return string(out)
}

// Build builds on the engine as a user would: the classic client's
// `docker build` or `docker buildx build --builder default`, with
// --progress=plain (or Opts.Progress) and --no-cache, so that no step can
// pass from a cache hit. Of Opts it uses Dockerfile, Files, Dir,
// Filename, BuildArgs, Target, Output (local or none), Args, Env, Stdin
// (the Dockerfile then comes from standard input, -f -) and Timeout; and
// with buildx BuildContexts, Platforms and Call. Output none exports
// nothing from the classic client (it keeps an untagged image in the
// engine) and loads nothing with buildx.
func (e Engine) Build(t TB, o Opts) *Result {
	t.Helper()
	if e.Classic && (len(o.BuildContexts) > 0 || o.Call != "" || len(o.Platforms) > 0) {
		t.Fatalf("the classic docker build of %s has no --build-context, --call or --platform", e.Name)
	}
	if o.ContextURL != "" || len(o.Locals) > 0 || len(o.FrontendOpts) > 0 || o.DockerfileDir != "" {
		t.Fatal("Engine.Build takes no ContextURL, Locals, FrontendOpts or DockerfileDir")
	}
	ctxDir, r := prepare(t, &o)
	var args []string
	if e.Classic {
		args = []string{"build"}
	} else {
		args = []string{"buildx", "build", "--builder", "default"}
	}
	args = append(args, "--progress="+o.Progress, "--no-cache")
	if o.Stdin != "" {
		args = append(args, "-f", "-")
	} else {
		args = append(args, "-f", filepath.Join(ctxDir, o.Filename))
	}
	args = append(args, buildFlags(o)...)
	switch o.Output {
	case OutputLocal:
		args = append(args, "--output", "type=local,dest="+r.Dir)
	case OutputNone:
	default:
		t.Fatalf("Engine.Build exports only %q or %q, not %q", OutputLocal, OutputNone, o.Output)
	}
	args = append(args, o.Args...)
	args = append(args, ctxDir)
	o.Env = append(e.env(t), o.Env...)
	run(t, r, o, e.Client, args)
	return r
}
