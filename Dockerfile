# The stagefront frontend image. Users never build this: they write
# `# syntax=org/stagefront` and BuildKit pulls it.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t org/stagefront --push .
#
# The build stage runs on the build platform and cross-compiles a static
# binary, so no emulation is needed for any target platform.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Passed through when set, e.g. --build-arg GOPROXY="$(go env GOPROXY)".
ARG GOPROXY
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
ARG TARGETOS TARGETARCH
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/frontend ./cmd/frontend

FROM scratch
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
LABEL org.opencontainers.image.title="stagefront" \
      org.opencontainers.image.description="BuildKit frontend: Dockerfile with IF/ELSE/END blocks, --if= guards and REQUIRE"
COPY --from=build /out/frontend /bin/stagefront
ENTRYPOINT ["/bin/stagefront"]
