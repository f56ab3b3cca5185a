# shellcheck shell=bash disable=SC2034
# Common settings for the hack/ scripts. Source it; do not run it.
#
# Everything built or downloaded goes under $ROOT/.cache (gitignored), except
# what must be global on the machine: the buildkitd socket and pid files under
# /run/stagefront, buildkitd's state under /var/lib/stagefront, and the
# docker CLI plugin under ~/.docker/cli-plugins.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
BIN="$CACHE/bin"
LOGS="$CACHE/logs"
RUN_DIR=/run/stagefront
STATE_DIR=/var/lib/stagefront

BUILDKIT_SOCK="$RUN_DIR/buildkitd.sock"
BUILDKIT_ADDR="unix://$BUILDKIT_SOCK"
REGISTRY=localhost:5000
REGISTRY_LISTEN=127.0.0.1:5000
BUILDER_NAME=stagefront

# buildx is its own module; this version compiles with Go 1.26.8 and requires
# the same BuildKit as go.mod.
BUILDX_VERSION="${BUILDX_VERSION:-v0.38.2}"

# Images the harness builds and pushes to the local registry.
BUSYBOX_IMAGE="$REGISTRY/stagefront-test/busybox:latest"
GOLANG_IMAGE="$REGISTRY/stagefront-test/golang:1.26"
FRONTEND_IMAGE="$REGISTRY/org/stagefront:latest"        # docker.io/org/stagefront via the mirror
UPSTREAM_IMAGE="$REGISTRY/docker/dockerfile:upstream"    # docker.io/docker/dockerfile:upstream

export PATH="$BIN:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export BUILDKIT_HOST="$BUILDKIT_ADDR"

log() { printf '\033[1m[%s] %s\033[0m\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# buildkit_version prints the github.com/moby/buildkit version in go.mod.
buildkit_version() {
	(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
}

# stamp_ok NAME WANT: true when $BIN/NAME exists and was built from WANT.
stamp_ok() {
	[[ -x "$BIN/$1" && -f "$BIN/$1.stamp" && "$(cat "$BIN/$1.stamp")" == "$2" ]]
}

# registry_has REPO TAG: true when the local registry serves that manifest.
registry_has() {
	curl -fsS -o /dev/null \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY_LISTEN/v2/$1/manifests/$2" 2>/dev/null
}

# hash_of FILE_OR_STRING...: a short content hash of its arguments (files are
# hashed by content, other arguments as text).
hash_of() {
	local a
	for a in "$@"; do
		if [[ -f "$a" ]]; then sha256sum <"$a"; else printf '%s\n' "$a"; fi
	done | sha256sum | cut -c1-16
}

buildkit_answers() {
	[[ -S "$BUILDKIT_SOCK" ]] && timeout 10 buildctl --addr "$BUILDKIT_ADDR" debug workers >/dev/null 2>&1
}

registry_answers() {
	curl -fsS -o /dev/null "http://$REGISTRY_LISTEN/v2/" 2>/dev/null
}
