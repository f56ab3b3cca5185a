# The stagefront frontend image. Users never build this: they write
# `# syntax=org/stagefront:1` and BuildKit pulls it.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t org/stagefront:1 --push .
#   docker buildx build --build-arg CHANNEL=labs -t org/stagefront:1-labs --push .
#
# CHANNEL picks the build tags of upstream's channel of the same name, read
# from the BuildKit module (frontend/dockerfile/release/<channel>/tags):
# mainline, or labs, as docker/dockerfile:1 and docker/dockerfile:1-labs are
# built. The build stage runs on the build platform and cross-compiles a
# static binary, so no emulation is needed for any target platform.
# hack/push-frontend (every tag of both channels) and hack/release (both
# platforms, with provenance and SBOM attestations) build it.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Passed through when set, e.g. --build-arg GOPROXY="$(go env GOPROXY)".
ARG GOPROXY
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
ARG TARGETOS TARGETARCH
ARG CHANNEL=mainline
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build <<EOT
  set -e
  # (download, not list: the cache mount may have lost what the cached
  # step above downloaded)
  bk_dir=$(go mod download -json github.com/moby/buildkit | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  bk_version=$(go list -m -f '{{.Version}}' github.com/moby/buildkit)
  tags_file="$bk_dir/frontend/dockerfile/release/$CHANNEL/tags"
  if [ ! -f "$tags_file" ]; then
    echo "no channel $CHANNEL in BuildKit $bk_version (frontend/dockerfile/release/ has: $(ls "$bk_dir/frontend/dockerfile/release"))" >&2
    exit 1
  fi
  tags=$(cat "$tags_file")
  echo "channel $CHANNEL, build tags [$tags], BuildKit $bk_version"
  CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -tags "$tags" \
    -ldflags="-s -w -X github.com/org/stagefront/internal/version.Channel=$CHANNEL -X github.com/moby/buildkit/version.Version=$bk_version" \
    -o /out/frontend ./cmd/frontend
EOT

FROM scratch
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
# stagefront's version and the upstream Dockerfile frontend it embeds
# (internal/version checks that these defaults say what the binary says).
ARG STAGEFRONT_VERSION=1.0.0
ARG DOCKERFILE_VERSION=1.29
ARG CHANNEL=mainline
LABEL org.opencontainers.image.title="stagefront" \
      org.opencontainers.image.description="BuildKit frontend: Dockerfile with IF/ELSE/END blocks, --if= guards, REQUIRE and INCLUDE" \
      org.opencontainers.image.version="${STAGEFRONT_VERSION}" \
      org.opencontainers.image.source="https://github.com/org/stagefront" \
      org.stagefront.channel="${CHANNEL}" \
      org.stagefront.dockerfile.version="${DOCKERFILE_VERSION}"
COPY --from=build /out/frontend /bin/stagefront
ENTRYPOINT ["/bin/stagefront"]
