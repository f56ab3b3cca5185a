package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/llbtest"
	"google.golang.org/protobuf/proto"
)

// standardDockerfiles use no extension: through stagefront they must give
// exactly what the upstream converter gives.
var standardDockerfiles = []struct {
	name   string
	dt     string
	args   map[string]string
	target string
	warns  bool // upstream warns about it: the warnings must come through
}{
	{name: "multi-stage", dt: `FROM busybox AS base
ARG GREETING=hello
RUN echo $GREETING > /greeting

FROM base AS build
WORKDIR /src
COPY . .
RUN make

# docs builds the documentation
FROM base AS docs
RUN mkdir -p /site && echo docs > /site/index.html

FROM scratch
COPY --from=build /src/out /app
COPY --from=docs /site /app/docs
`},
	{name: "global args and target", args: map[string]string{"VERSION": "2.0", "BUILD_ENV": "dev"}, target: "dev", dt: `ARG VERSION=1.0
ARG BUILD_ENV=prod
FROM busybox:${VERSION} AS base
ARG BUILD_ENV
ENV BUILD_ENV=${BUILD_ENV}

FROM base AS dev
RUN echo dev

FROM base AS prod
RUN echo prod
`},
	{name: "platform args", dt: `FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`},
	{name: "heredocs", dt: `# syntax=docker/dockerfile:1
FROM busybox
RUN <<EOF
if [ -f /etc/os-release ]; then
  echo yes
fi
EOF
COPY <<EOT /etc/motd
IF this looks like an instruction, it is not
END
EOT
RUN <<-EOF sh
	echo tabbed
	EOF
`},
	{name: "run mounts and copy from", dt: `FROM busybox AS deps
RUN mkdir /deps && touch /deps/a

FROM busybox
RUN --mount=type=bind,from=deps,source=/deps,target=/mnt \
    --mount=type=secret,id=token \
    --mount=type=ssh \
    ls /mnt
COPY --from=deps --chmod=0644 /deps/a /a
COPY --link --from=busybox /bin/busybox /bb
`},
	{name: "shell if in continuation", dt: `FROM busybox
RUN set -e; \
    if [ -n "$X" ]; then \
      echo x; \
    else \
      echo y; \
    fi
RUN if true; then echo ok; fi
`},
	{name: "warnings", warns: true, dt: `FROM busybox as Build
ENV key value
RUN echo hi

from busybox
COPY --from=Build / /
CMD echo done
`},
	{name: "check directive and escape", dt: "# escape=`\n# check=skip=FromAsCasing\nFROM busybox as b\nRUN echo a `\n    b\n"},
}

var testPlatforms = []*ocispecs.Platform{
	nil,
	ptr(platforms.MustParse("linux/amd64")),
	ptr(platforms.MustParse("linux/arm64")),
}

func ptr[T any](v T) *T { return &v }

func platformName(p *ocispecs.Platform) string {
	if p == nil {
		return "default"
	}
	return platforms.Format(*p)
}

// TestConversionParity: rewrite then convert with the original source map
// gives the same LLB, image config and warnings as upstream's conversion
// of the original file.
func TestConversionParity(t *testing.T) {
	{
		for _, tc := range standardDockerfiles {
			for _, p := range testPlatforms {
				t.Run(tc.name+"/"+platformName(p), func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					dt := []byte(tc.dt)

					var upW warnings
					upOpt := testConvertOpt(t, dt, tc.args, tc.target, &upW)
					upOpt.TargetPlatform = p
					want, err := dockerfile2llb.Dockerfile2LLB(ctx, dt, upOpt)
					if err != nil {
						t.Fatalf("upstream: %v", err)
					}

					var ourW warnings
					cv := &converter{orig: dt, opt: testConvertOpt(t, dt, tc.args, tc.target, &ourW)}
					got, rw, err := cv.toLLB(ctx, p, true)
					if err != nil {
						t.Fatalf("stagefront: %v", err)
					}
					if string(rw.Dockerfile) != tc.dt {
						t.Errorf("rewrite of a standard Dockerfile changed it:\n%s", rw.Dockerfile)
					}
					if rw.Extended {
						t.Errorf("rewrite says a standard Dockerfile is extended")
					}
					assertSameLLB(t, ctx, want, got)
					if tc.warns && len(upW.list) == 0 {
						t.Errorf("upstream gave no warnings: the case tests nothing")
					}
					if !reflect.DeepEqual(upW.list, ourW.list) {
						t.Errorf("warnings differ:\nupstream:   %v\nstagefront: %v", upW.list, ourW.list)
					}
				})
			}
		}
	}
}

func assertSameLLB(t *testing.T, ctx context.Context, want, got *dockerfile2llb.Result) {
	t.Helper()
	wd, err := want.State.Marshal(ctx, fixedUnique)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := got.State.Marshal(ctx, fixedUnique)
	if err != nil {
		t.Fatal(err)
	}
	if dw, dg := defDigest(wd.Def), defDigest(gd.Def); dw != dg {
		t.Errorf("LLB digest differs: upstream %s, stagefront %s", dw, dg)
	}
	if !proto.Equal(stableDef(wd.ToPB()), stableDef(gd.ToPB())) {
		t.Errorf("LLB definitions (metadata or source maps) differ")
	}
	wi, _ := json.Marshal(want.Image)
	gi, _ := json.Marshal(got.Image)
	if string(wi) != string(gi) {
		t.Errorf("image config differs:\nupstream:   %s\nstagefront: %s", wi, gi)
	}
	wb, _ := json.Marshal(want.BaseImage)
	gb, _ := json.Marshal(got.BaseImage)
	if string(wb) != string(gb) {
		t.Errorf("base image differs")
	}
}

// TestLocationErrorsShowOriginal: a converter error is wrapped with the
// original file's lines, as upstream wraps it.
func TestLocationErrorsShowOriginal(t *testing.T) {
	t.Parallel()
	dt := []byte("FROM busybox\nRUN echo a\nBOGUS thing\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
	_, _, err := cv.toLLB(context.Background(), nil, true)
	if err == nil {
		t.Fatal("no error for an unknown instruction")
	}
	err = withLocations(err, cv.opt.SourceMap)
	srcs := errdefs.Sources(err)
	if len(srcs) != 1 {
		t.Fatalf("want 1 source, got %d (%v)", len(srcs), err)
	}
	if l := srcs[0].Ranges[0].Start.Line; l != 3 {
		t.Errorf("error on line %d, want 3", l)
	}
	if string(srcs[0].Info.Data) != string(dt) {
		t.Errorf("source is not the original file")
	}
}

// stableDef clears what BuildKit makes random per conversion: the IDs of
// progress groups (COPY --link).
func stableDef(d *pb.Definition) *pb.Definition {
	for _, md := range d.Metadata {
		if md.ProgressGroup != nil {
			md.ProgressGroup.Id = ""
		}
	}
	return d
}

// TestPlainFastPath: a file a scan proves plain converts without the
// engine (plainToLLB), and gives what the engine's path gives: the same
// LLB and warnings for a file that converts, the same error for one that
// does not (the analysis' located parse errors included).
func TestPlainFastPath(t *testing.T) {
	ctx := context.Background()
	long := "FROM busybox\nRUN echo " + strings.Repeat("x", 70000) + "\n"
	for _, dt := range []string{
		"FROM busybox AS build\nRUN echo hi > /x\nFROM scratch\nCOPY --from=build /x /x\n",
		"FROM --platform=$BUILDPLATFORM busybox as b\nARG A=1\nRUN echo $A\n",
		string(llbtest.StandardDockerfile(5)),
		"# escape=x\nFROM busybox\n",
		long,
		"FROM busybox\nRUNN echo\n",
		"FROM busybox\nCOPY --from=5 /a /a\n",
		"FROM busybox AS a\nFROM busybox AS a\n",
	} {
		if !syntax.Plain([]byte(dt)) {
			t.Fatalf("not plain to the scan: %.60q", dt)
		}
		var fastW, fullW warnings
		fast := &converter{orig: []byte(dt), opt: testConvertOpt(t, []byte(dt), nil, "", &fastW)}
		full := &converter{orig: []byte(dt), opt: testConvertOpt(t, []byte(dt), nil, "", &fullW)}
		full.engine = func(ctx context.Context, opt rewrite.Options) (*rewrite.Result, error) {
			f, err := full.analyze(ctx)
			if err != nil {
				return nil, err
			}
			return rewrite.Evaluate(ctx, f, opt)
		}
		if !fast.isPlain() || full.isPlain() {
			t.Fatalf("the fast path is not what is compared")
		}
		gotFast, _, errFast := fast.toLLB(ctx, nil, true)
		gotFull, _, errFull := full.toLLB(ctx, nil, true)
		if fmt.Sprint(errFast) != fmt.Sprint(errFull) {
			t.Errorf("%.60q: errors differ:\nplain path: %v\nengine:     %v", dt, errFast, errFull)
			continue
		}
		if errFast == nil {
			assertSameLLB(t, ctx, gotFull, gotFast)
			if !reflect.DeepEqual(fastW.list, fullW.list) {
				t.Errorf("%.60q: warnings differ:\nplain path: %v\nengine:     %v", dt, fastW.list, fullW.list)
			}
		}
	}
}
