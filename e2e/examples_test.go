//go:build e2e

package e2e

// Every example of examples/ built for real, through `# syntax=org/stagefront`
// on the local BuildKit, with the user's command (docker buildx build), the
// base images replaced by hack/example-images' stand-ins via --build-context.
// Each test asserts on what the build produced and on which stages ran.

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/org/stagefront/internal/bkharness"
)

func TestExampleBasic(t *testing.T) {
	r := buildExample(t, exampleBuild{Example: "basic", Ran: []string{"builder", "production"}})
	r.wantStages(t, []string{"builder", "production"}, nil)
	r.wantStep(t, "builder", "npm ci", true)
	html := "/usr/share/nginx/html"
	r.wantFile(t, html+"/index.html", "window.BUILD_TIME =", "Built by the builder stage")
	js := r.wantFile(t, html+"/app.js", "getElementById")
	if strings.Contains(js, "//") {
		t.Errorf("app.js still has its comment: the build step did not run:\n%s", js)
	}
	r.wantFile(t, "/etc/nginx/nginx.conf")
	r.wantNo(t, "/app") // the builder's work tree stays in the builder
}

func TestExampleNamedStages(t *testing.T) {
	// builder and tester are images with the whole Go toolchain: look at
	// the build, not at the files.
	t.Run("target builder", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "named-stages", Target: "builder", Output: "none", Ran: []string{"dependencies", "builder"}})
		r.wantStages(t, []string{"dependencies", "builder"}, []string{"tester", "production"})
		r.wantStep(t, "builder", "go build -o /app/hello", true)
	})
	t.Run("target tester", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "named-stages", Target: "tester", Output: "none", Ran: []string{"dependencies", "tester"}})
		r.wantStages(t, []string{"dependencies", "tester"}, []string{"builder", "production"})
		r.wantOutput(t, "go test -v", "--- PASS: TestGreeting")
	})
	t.Run("target production", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "named-stages", Target: "production", Ran: []string{"dependencies", "builder", "production"}})
		r.wantStages(t, []string{"dependencies", "builder", "production"}, []string{"tester"})
		wantELF(t, r.path("/usr/local/bin/hello"), elf.EM_X86_64)
		r.wantNo(t, "/usr/local/go")
		r.wantNo(t, "/app")
	})
}

func TestExampleParallelStages(t *testing.T) {
	r := buildExample(t, exampleBuild{Example: "parallel-stages", Ran: []string{"base", "dev-deps", "prod-deps", "builder", "tester", "production"}})
	r.wantStages(t, []string{"base", "dev-deps", "prod-deps", "builder", "tester", "production"}, nil)
	r.wantStep(t, "dev-deps", "npm ci --include=dev", true)
	r.wantStep(t, "prod-deps", "npm ci --omit=dev", true)
	r.wantStep(t, "tester", "npm run test", true)
	// production has the runtime dependency and the build output, not the
	// development dependency
	r.wantFile(t, "/app/node_modules/greet/index.js", "hello, ")
	r.wantNo(t, "/app/node_modules/check-lite")
	r.wantFile(t, "/app/dist/server.js", `require("greet")`)
	r.wantNo(t, "/app/build.js")

	t.Run("failing test fails the image", func(t *testing.T) {
		dir := copyExample(t, "parallel-stages", func(dir string) {
			writeFile(t, filepath.Join(dir, "test", "greet.test.js"), `
const test = require("node:test");
const assert = require("node:assert");
test("broken on purpose", () => assert.strictEqual(1, 2));
`)
		})
		buildExampleFails(t, exampleBuild{Example: "parallel-stages", Dir: dir}, "[tester 1/1] RUN npm run test")
	})
}

func TestExampleMultiArch(t *testing.T) {
	r := buildExample(t, exampleBuild{Example: "multi-arch", Platforms: []string{"linux/amd64", "linux/arm64"}, Ran: []string{"builder", "production"}})
	r.wantOutput(t, "Building on", "Building on linux/amd64 for linux/arm64")
	r.wantOutput(t, "Building on", "Building on linux/amd64 for linux/amd64")
	for _, c := range []struct {
		arch    string
		machine elf.Machine
		setting string
		conf    string
	}{
		{"amd64", elf.EM_X86_64, "GOAMD64=v2", "workers=auto\n"},
		{"arm64", elf.EM_AARCH64, "GOARM64=v8.0", "gomaxprocs_factor=2"},
	} {
		t.Run(c.arch, func(t *testing.T) {
			root := r.path("linux_" + c.arch)
			bin := filepath.Join(root, "app", "server")
			wantELF(t, bin, c.machine)
			// the base image is this platform's too (alpine's stand-in is
			// multi-platform)
			wantELF(t, filepath.Join(root, "bin", "busybox"), c.machine)
			// the ENV --if= of this architecture reached the compiler
			info, err := buildinfo.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			var settings []string
			for _, s := range info.Settings {
				settings = append(settings, s.Key+"="+s.Value)
			}
			if !slices.Contains(settings, c.setting) {
				t.Errorf("%s: build settings %v lack %s", bin, settings, c.setting)
			}
			conf, err := os.ReadFile(filepath.Join(root, "app", "server.conf"))
			if err != nil || !strings.Contains(string(conf), c.conf) {
				t.Errorf("%s server.conf = %q (%v), want it to contain %q", c.arch, conf, err, c.conf)
			}
			if c.arch == "amd64" && strings.Contains(string(conf), "gomaxprocs_factor") {
				t.Errorf("amd64 got the arm64 config: %q", conf)
			}
		})
	}
}

func TestExampleConditionalStages(t *testing.T) {
	t.Run("production (default)", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "conditional-stages", Ran: []string{"base", "builder", "production"}})
		r.wantStages(t, []string{"base", "builder", "production"}, []string{"development", "invalid"})
		r.wantFile(t, "/app/dist/app", "app running in")
		r.wantNo(t, "/app/src")
		r.wantNo(t, "/usr/local/bin/debug")
	})
	t.Run("development", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "conditional-stages", Args: map[string]string{"BUILD_ENV": "development"}, Ran: []string{"base", "builder", "development"}})
		r.wantStages(t, []string{"base", "builder", "development"}, []string{"production", "invalid"})
		r.wantFile(t, "/app/dist/app")
		r.wantFile(t, "/app/src/debug.sh")
		r.wantFile(t, "/usr/local/bin/debug", "env | sort")
	})
	t.Run("a value that is neither", func(t *testing.T) {
		buildExampleFails(t, exampleBuild{Example: "conditional-stages", Args: map[string]string{"BUILD_ENV": "staging"}},
			"BUILD_ENV must be development or production, not 'staging'")
	})
}

func TestExampleIncludeDocs(t *testing.T) {
	t.Run("default: docs included", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "include-docs", Ran: []string{"docs-builder", "final"}})
		r.wantStages(t, []string{"docs-builder", "final"}, nil)
		r.wantFile(t, "/app/docs/index.html", "<h1>Widget service</h1>", "<code>WIDGETS_FILE</code>")
		r.wantFile(t, "/app/widgets.sh")
	})
	t.Run("INCLUDE_DOCS=false", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "include-docs", Args: map[string]string{"INCLUDE_DOCS": "false"}, Ran: []string{"final"}})
		r.wantStages(t, []string{"final"}, []string{"docs-builder"})
		r.wantFile(t, "/app/widgets.sh")
		r.wantNo(t, "/app/docs")
	})
	t.Run("a value that is not a flag", func(t *testing.T) {
		buildExampleFails(t, exampleBuild{Example: "include-docs", Args: map[string]string{"INCLUDE_DOCS": "maybe"}}, "maybe")
	})
	t.Run("outline shows the flag and its doc comment", func(t *testing.T) {
		for _, v := range []string{"true", "false"} {
			r := buildExample(t, exampleBuild{Example: "include-docs", Call: "outline", Args: map[string]string{"INCLUDE_DOCS": v}})
			r.wantLog(t, "INCLUDE_DOCS", true)
			r.wantLog(t, "ships the HTML manual under /app/docs", true)
		}
	})
}

func TestExampleCacheMounts(t *testing.T) {
	t.Run("production", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "cache-mounts", Ran: []string{"builder", "tool-builder", "production"}})
		r.wantStages(t, []string{"builder", "tool-builder", "production"}, []string{"export"})
		r.wantStep(t, "builder", "npm ci", true)
		r.wantStep(t, "builder", "npm install", false)
		r.wantFile(t, "/usr/share/nginx/html/index.html", "<h1>hello, cache mounts</h1>")
		r.wantFile(t, "/usr/share/nginx/html/sitemap.xml", "<loc>https://www.example.com/index.html</loc>")
		// the bind-mounted tool is not left in the image
		r.wantNo(t, "/usr/local/bin/sitemap")
	})
	t.Run("builder keeps no npm cache", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "cache-mounts", Target: "builder"})
		r.wantFile(t, "/app/node_modules/greet/index.js")
		r.wantFile(t, "/app/dist/index.html")
		if m := r.glob("/root/.npm/_cacache/*"); len(m) > 0 {
			t.Errorf("the npm cache is in the image (it belongs in the cache mount): %v", m)
		}
	})
	t.Run("export", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "cache-mounts", Target: "export", Ran: []string{"tool-builder", "export"}})
		r.wantStages(t, []string{"tool-builder", "export"}, []string{"builder", "production"})
		wantELF(t, r.path("/sitemap"), elf.EM_X86_64)
		entries, _ := os.ReadDir(r.Root)
		if len(entries) != 1 {
			t.Errorf("export holds %d entries, want only the binary", len(entries))
		}
	})
	t.Run("without a lock file", func(t *testing.T) {
		dir := copyExample(t, "cache-mounts", func(dir string) {
			if err := os.Remove(filepath.Join(dir, "package-lock.json")); err != nil {
				t.Fatal(err)
			}
		})
		r := buildExample(t, exampleBuild{Example: "cache-mounts", Dir: dir, Target: "builder", Ran: []string{"builder"}})
		r.wantStep(t, "builder", "npm install", true)
		r.wantStep(t, "builder", "npm ci", false)
		r.wantFile(t, "/app/node_modules/greet/index.js")
	})
}

func TestExampleSharedBase(t *testing.T) {
	t.Run("frontend", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "shared-base", Target: "frontend", Ran: []string{"node-base", "frontend-builder", "frontend"}})
		r.wantStages(t, []string{"node-base", "frontend-builder", "frontend"}, []string{"backend-builder", "backend"})
		// no service has native addons, so no compiler is installed
		r.wantLog(t, "apk add", false)
		r.wantFile(t, "/usr/share/nginx/html/index.html", "<h1>Frontend</h1>")
		r.wantFile(t, "/usr/share/nginx/html/config.js", `window.API = "/api"`)
	})
	t.Run("backend", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "shared-base", Target: "backend", Ran: []string{"node-base", "backend-builder", "backend"}})
		r.wantStages(t, []string{"node-base", "backend-builder", "backend"}, []string{"frontend-builder", "frontend"})
		r.wantFile(t, "/app/server.js", "/api/health")
		r.wantFile(t, "/usr/local/bin/node")
		r.wantNo(t, "/app/src")
		r.wantNo(t, "/app/build.js")
	})
}

func TestExampleGoTesting(t *testing.T) {
	t.Run("RUN_TESTS=true (default)", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "go-testing", Ran: []string{"deps", "builder", "tester", "security", "production"}})
		r.wantStages(t, []string{"deps", "builder", "tester", "security", "production"}, nil)
		r.wantOutput(t, "go test -v", "--- PASS: TestHandler")
		r.wantOutput(t, "seccheck", "seccheck: 2 file(s), no issues")
		wantELF(t, r.path("/main"), elf.EM_X86_64)
		r.wantFile(t, "/etc/ssl/certs/ca-certificates.crt")
		entries, _ := os.ReadDir(r.Root)
		if len(entries) != 2 { // /main and /etc
			t.Errorf("production (FROM scratch) holds %d top-level entries, want 2", len(entries))
		}
	})
	t.Run("RUN_TESTS=false", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "go-testing", Args: map[string]string{"RUN_TESTS": "false"}, Ran: []string{"builder", "production"}})
		r.wantStages(t, []string{"builder", "production"}, []string{"tester", "security"})
		r.wantFile(t, "/main")
	})
	t.Run("outline shows the gates and the flag", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "go-testing", Call: "outline"})
		r.wantLog(t, "requires: tester", true)
		r.wantLog(t, "gates the image on go test", true)
		// with the gate off, the flag is still listed: that is when the
		// user needs to know it exists
		r = buildExample(t, exampleBuild{Example: "go-testing", Call: "outline", Args: map[string]string{"RUN_TESTS": "false"}})
		r.wantLog(t, "RUN_TESTS", true)
		r.wantLog(t, "gates the image on go test", true)
	})
	failing := copyExample(t, "go-testing", func(dir string) {
		writeFile(t, filepath.Join(dir, "internal", "token", "broken_test.go"), `package token

import "testing"

func TestBrokenOnPurpose(t *testing.T) { t.Fatal("this test fails on purpose") }
`)
	})
	t.Run("a failing test fails the image", func(t *testing.T) {
		buildExampleFails(t, exampleBuild{Example: "go-testing", Dir: failing}, "this test fails on purpose")
	})
	t.Run("the same failing test with RUN_TESTS=false", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "go-testing", Dir: failing, Args: map[string]string{"RUN_TESTS": "false"}, Ran: []string{"production"}})
		r.wantStages(t, []string{"production"}, []string{"tester"})
	})
	t.Run("a security finding fails the image", func(t *testing.T) {
		dir := copyExample(t, "go-testing", func(dir string) {
			writeFile(t, filepath.Join(dir, "internal", "token", "weak.go"), `package token

import "math/rand"

// Weak is what the security stage must catch.
func Weak() int { return rand.Int() }
`)
		})
		buildExampleFails(t, exampleBuild{Example: "go-testing", Dir: dir}, "math/rand is not a secure random source")
	})
}

func TestExamplePythonWheels(t *testing.T) {
	t.Run("RUN_TESTS=true (default)", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "python-wheels", Ran: []string{"deps-builder", "app-builder", "tester", "production"}})
		r.wantStages(t, []string{"deps-builder", "app-builder", "tester", "production"}, nil)
		r.wantOutput(t, "pip wheel", "greeter-1.2.0-py3-none-any.whl")
		r.wantOutput(t, "unittest", "Ran 1 test")
		if m := r.glob("/opt/venv/lib/python3*/site-packages/greeter/__init__.py"); len(m) != 1 {
			t.Errorf("greeter is not installed in the venv: %v", m)
		}
		if m := r.glob("/opt/venv/lib/python3*/site-packages/greeter-1.2.0.dist-info/RECORD"); len(m) != 1 {
			t.Errorf("greeter's dist-info is missing: %v", m)
		}
		r.wantFile(t, "/app/main.py", "import greeter")
		r.wantFile(t, "/etc/passwd", "app:")
		r.wantNo(t, "/wheels")
		r.wantNo(t, "/src")
		r.wantNo(t, "/app/tests")
	})
	t.Run("RUN_TESTS=false", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "python-wheels", Args: map[string]string{"RUN_TESTS": "false"}, Ran: []string{"deps-builder", "app-builder", "production"}})
		r.wantStages(t, []string{"deps-builder", "app-builder", "production"}, []string{"tester"})
	})
}

func TestExampleFullStack(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "full-stack", Target: "all", Ran: []string{"frontend-builder", "backend-builder", "backend-tests", "migrations-check", "frontend", "backend", "migrations"}})
		r.wantStages(t, []string{"frontend-builder", "backend-builder", "backend-tests", "migrations-check", "frontend", "backend", "migrations"}, nil)
		r.wantOutput(t, "migrate -check", "migrate: 2 migrations OK")
	})
	t.Run("frontend (default)", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "full-stack", Ran: []string{"frontend-builder", "frontend"}})
		r.wantStages(t, []string{"frontend-builder", "frontend"}, []string{"backend-builder", "backend-tests", "migrations"})
		r.wantFile(t, "/usr/share/nginx/html/index.html", "<h1>Widgets</h1>")
		r.wantFile(t, "/etc/nginx/nginx.conf", "proxy_pass $backend;")
	})
	t.Run("backend", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "full-stack", Target: "backend", Ran: []string{"backend-builder", "backend-tests", "backend"}})
		r.wantStages(t, []string{"backend-builder", "backend-tests", "backend"}, []string{"frontend-builder", "migrations", "migrations-check"})
		wantELF(t, r.path("/app/server"), elf.EM_X86_64)
	})
	t.Run("backend RUN_CHECKS=false", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "full-stack", Target: "backend", Args: map[string]string{"RUN_CHECKS": "false"}, Ran: []string{"backend-builder", "backend"}})
		r.wantStages(t, []string{"backend-builder", "backend"}, []string{"backend-tests"})
	})
	t.Run("migrations", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "full-stack", Target: "migrations", Ran: []string{"migrations-check", "migrations"}})
		r.wantStages(t, []string{"migrations-check", "migrations"}, []string{"backend-tests", "frontend"})
		r.wantFile(t, "/flyway/sql/V1__create_widgets.sql", "CREATE TABLE widgets")
		r.wantFile(t, "/flyway/sql/V2__add_price.sql")
		wantELF(t, r.path("/usr/local/bin/migrate"), elf.EM_X86_64)
	})
	t.Run("a bad migration fails the migrations image", func(t *testing.T) {
		dir := copyExample(t, "full-stack", func(dir string) {
			writeFile(t, filepath.Join(dir, "database", "migrations", "V4__skips_a_version.sql"), "SELECT 1;\n")
		})
		buildExampleFails(t, exampleBuild{Example: "full-stack", Dir: dir, Target: "migrations"}, "expected version 3")
	})
}

func TestExampleSizeComparison(t *testing.T) {
	single := buildExample(t, exampleBuild{Example: "size-comparison", Target: "single-stage", Output: "oci", Ran: []string{"single-stage"}})
	single.wantStages(t, []string{"single-stage"}, []string{"builder", "multi-stage"})
	multi := buildExample(t, exampleBuild{Example: "size-comparison", Target: "multi-stage", Output: "oci", Ran: []string{"builder", "multi-stage"}})
	multi.wantStages(t, []string{"builder", "multi-stage"}, []string{"single-stage"})
	s, m := readOCIImage(t, single.OCI), readOCIImage(t, multi.OCI)
	t.Logf("single-stage: %s compressed, %s unpacked, %d layers", megabytes(s.Compressed), megabytes(s.Uncompressed), s.Layers)
	t.Logf("multi-stage:  %s compressed, %s unpacked, %d layers", megabytes(m.Compressed), megabytes(m.Uncompressed), m.Layers)
	ratio := float64(m.Uncompressed) / float64(s.Uncompressed)
	t.Logf("multi-stage / single-stage = %.3f unpacked (%.0f%% smaller), %.3f compressed",
		ratio, 100*(1-ratio), float64(m.Compressed)/float64(s.Compressed))
	if ratio > 0.2 {
		t.Errorf("multi-stage is %.0f%% of single-stage, want under 20%%", 100*ratio)
	}
	if s.Config.Config.Cmd == nil || m.Config.Config.Cmd == nil || s.Config.Config.Cmd[0] != "/app/server" || m.Config.Config.Cmd[0] != "/app/server" {
		t.Errorf("CMD: single %v, multi %v; want /app/server in both", s.Config.Config.Cmd, m.Config.Config.Cmd)
	}
}

func TestExampleExternalStages(t *testing.T) {
	t.Run("with the tools image", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "external-stages", Ran: []string{"builder"}})
		r.wantStages(t, []string{"builder"}, nil)
		r.wantFile(t, "/tools/VERSION", "1.4.0")
		r.wantFile(t, "/app/BUILD_INFO", "built-with=org/build-tools:1.4")
		r.wantFile(t, "/app/mime.types", "text/html")
		r.wantFile(t, "/app/server.js")
	})
	t.Run("TOOLS_IMAGE empty and no tools image at hand", func(t *testing.T) {
		// org/build-tools is not given as a build context: resolving it would
		// fail, so this also shows that the dead stage is not resolved at all.
		r := buildExample(t, exampleBuild{Example: "external-stages", Args: map[string]string{"TOOLS_IMAGE": ""}, Omit: []string{"org/build-tools:1.4"}})
		r.wantLog(t, "build-tools", false)
		r.wantNo(t, "/tools")
		r.wantNo(t, "/app/BUILD_INFO")
		r.wantFile(t, "/app/mime.types", "text/html")
	})
}

func TestExampleBuildArgs(t *testing.T) {
	t.Run("production (default)", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "build-args", Output: "oci", Ran: []string{"base", "production"}})
		r.wantStages(t, []string{"base", "production"}, []string{"development"})
		r.wantStep(t, "production", "RELEASE", false)
		img := readOCIImage(t, r.OCI)
		if got := img.Config.Config.Labels["org.example.node-major"]; got != "20" {
			t.Errorf("label org.example.node-major = %q, want 20", got)
		}
		if !slices.Contains(img.Config.Config.Env, "NODE_ENV=production") {
			t.Errorf("env %v lacks NODE_ENV=production", img.Config.Config.Env)
		}
	})
	t.Run("release version", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "build-args", Args: map[string]string{"APP_VERSION": "1.2.3"}})
		r.wantFile(t, "/app/VERSION", "1.2.3")
		r.wantFile(t, "/app/RELEASE", "release 1.2.3")
		r.wantNo(t, "/app/LOG_LEVEL")
	})
	t.Run("development", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "build-args", Args: map[string]string{"BUILD_ENV": "development"}, Ran: []string{"base", "development"}})
		r.wantStages(t, []string{"base", "development"}, []string{"production"})
		r.wantFile(t, "/app/LOG_LEVEL", "debug")
		r.wantNo(t, "/app/VERSION")
	})
	t.Run("NODE_VERSION=22", func(t *testing.T) {
		// the stand-in for node:22-alpine is the same image; the label shows
		// that the FROM read the build arg.
		setupExamples(t)
		saved := standinContexts["node:22-alpine"]
		standinContexts["node:22-alpine"] = standinContexts["node:20-alpine"]
		defer func() {
			if saved == "" {
				delete(standinContexts, "node:22-alpine")
			} else {
				standinContexts["node:22-alpine"] = saved
			}
		}()
		r := buildExample(t, exampleBuild{Example: "build-args", Output: "oci", Args: map[string]string{"NODE_VERSION": "22"}})
		r.wantLog(t, "[context node:22-alpine]", true)
		if got := readOCIImage(t, r.OCI).Config.Config.Labels["org.example.node-major"]; got != "22" {
			t.Errorf("label org.example.node-major = %q, want 22", got)
		}
	})
	t.Run("a BUILD_ENV that is neither", func(t *testing.T) {
		buildExampleFails(t, exampleBuild{Example: "build-args", Args: map[string]string{"BUILD_ENV": "staging"}},
			"BUILD_ENV must be development or production, not 'staging'")
	})
}

func TestExampleIncludeFragments(t *testing.T) {
	fragments := filepath.Join(bkharness.RepoRoot(t), "examples", "include-fragments", "fragments")
	ctx := map[string]string{"fragments": fragments}
	for _, svc := range []string{"api", "worker"} {
		t.Run(svc+", RUN_TESTS=true (default)", func(t *testing.T) {
			r := buildExample(t, exampleBuild{Example: "include-fragments/" + svc, Contexts: ctx, Ran: []string{"deps", "builder", "tester", "production"}})
			r.wantStages(t, []string{"deps", "builder", "tester", "production"}, nil)
			r.wantOutput(t, "go test -v", "--- PASS: Test")
			wantELF(t, r.path("/"+svc), elf.EM_X86_64)
		})
	}
	t.Run("worker, RUN_TESTS=false: the gate's fragment is not included", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "include-fragments/worker", Contexts: ctx, Args: map[string]string{"RUN_TESTS": "false"}, Ran: []string{"builder", "production"}})
		r.wantStages(t, []string{"builder", "production"}, []string{"tester"})
		r.wantFile(t, "/worker")
	})
	failing := copyExample(t, "include-fragments", func(dir string) {
		writeFile(t, filepath.Join(dir, "worker", "broken_test.go"), `package main

import "testing"

func TestBrokenOnPurpose(t *testing.T) { t.Fatal("this test fails on purpose") }
`)
	})
	t.Run("a failing test fails the image, at the fragment's line", func(t *testing.T) {
		buildExampleFails(t, exampleBuild{Example: "include-fragments", Dir: filepath.Join(failing, "worker"), Contexts: map[string]string{"fragments": filepath.Join(failing, "fragments")}},
			"this test fails on purpose", "fragments:go/test-gate.Dockerfile:7")
	})
	t.Run("outline lists RUN_TESTS with its doc comment", func(t *testing.T) {
		r := buildExample(t, exampleBuild{Example: "include-fragments/api", Contexts: ctx, Call: "outline"})
		r.wantLog(t, "gates the image on go vet and go test", true)
	})
}

// TestExamplesAllCovered fails when a folder of examples/ has no test above,
// or lacks the pieces every example must have.
func TestExamplesAllCovered(t *testing.T) {
	tested := map[string]bool{
		"basic": true, "named-stages": true, "parallel-stages": true, "multi-arch": true,
		"conditional-stages": true, "include-docs": true, "cache-mounts": true, "shared-base": true,
		"go-testing": true, "python-wheels": true, "full-stack": true, "size-comparison": true,
		"external-stages": true, "build-args": true, "include-fragments": true,
	}
	// The Dockerfiles of a folder: its own, or its services' (an example of
	// several images).
	dockerfiles := map[string][]string{"include-fragments": {"api/Dockerfile", "worker/Dockerfile"}}
	root := filepath.Join(bkharness.RepoRoot(t), "examples")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen++
		if !tested[e.Name()] {
			t.Errorf("examples/%s has no test in examples_test.go", e.Name())
		}
		files, ok := dockerfiles[e.Name()]
		if !ok {
			files = []string{"Dockerfile"}
		}
		for _, name := range files {
			df, err := os.ReadFile(filepath.Join(root, e.Name(), name))
			if err != nil {
				t.Errorf("examples/%s: %v", e.Name(), err)
				continue
			}
			if first, _, _ := strings.Cut(string(df), "\n"); first != "# syntax=org/stagefront" {
				t.Errorf("examples/%s/%s: first line is %q, want # syntax=org/stagefront", e.Name(), name, first)
			}
		}
		readme, err := os.ReadFile(filepath.Join(root, e.Name(), "README.md"))
		if err != nil {
			t.Errorf("examples/%s: %v", e.Name(), err)
		} else if !strings.Contains(string(readme), "docker buildx build --builder stagefront") {
			t.Errorf("examples/%s/README.md has no `docker buildx build --builder stagefront` command", e.Name())
		}
	}
	if seen != len(tested) {
		t.Errorf("examples/ has %d folders, the tests know %d", seen, len(tested))
	}
}

func wantELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("want an executable at %s: %v", path, err)
		return
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is for %v, want %v", path, f.Machine, machine)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
