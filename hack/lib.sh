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
BUILDX_VERSION="${BUILDX_VERSION:-v0.39.1}"

# Images the harness builds and pushes to the local registry.
BUSYBOX_IMAGE="$REGISTRY/stagefront-test/busybox:latest"
GOLANG_IMAGE="$REGISTRY/stagefront-test/golang:1.26"
FRONTEND_IMAGE="$REGISTRY/org/stagefront:latest"        # docker.io/org/stagefront via the mirror
FRONTEND_LABS_IMAGE="$REGISTRY/org/stagefront:labs"     # the labs channel
UPSTREAM_IMAGE="$REGISTRY/docker/dockerfile:upstream"    # docker.io/docker/dockerfile:upstream
UPSTREAM_LABS_IMAGE="$REGISTRY/docker/dockerfile:upstream-labs"

export PATH="$BIN:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export BUILDKIT_HOST="$BUILDKIT_ADDR"

log() { printf '\033[1m[%s] %s\033[0m\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# buildkit_version prints the github.com/moby/buildkit version in go.mod.
buildkit_version() {
	(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
}

# buildkit_module_dir prints the directory of the BuildKit module go.mod
# requires (downloading it when the module cache lacks it).
buildkit_module_dir() {
	(cd "$ROOT" && go mod download -json "github.com/moby/buildkit@$(buildkit_version)" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

# channel_tags CHANNEL prints the Go build tags of upstream's channel
# (mainline, labs), from the module's frontend/dockerfile/release/CHANNEL/tags.
channel_tags() {
	local f
	f="$(buildkit_module_dir)/frontend/dockerfile/release/$1/tags"
	[[ -f $f ]] || die "BuildKit $(buildkit_version) has no channel $1 ($f)"
	cat "$f"
}

# stagefront_version prints stagefront's version (internal/version).
stagefront_version() {
	sed -n 's/^const Version = "\(.*\)"$/\1/p' "$ROOT/internal/version/version.go"
}

# image_tags CHANNEL prints the image tags of this stagefront in CHANNEL,
# one a line (internal/version.Tags says which).
image_tags() {
	(cd "$ROOT" && go run ./cmd/frontend version --tags "$1")
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

# apt_install PKG...: install Debian's packages that are not yet installed
# (updating the package lists once when the install fails), logging to
# $LOGS/apt.log.
apt_install() {
	local need=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	((${#need[@]})) || return 0
	mkdir -p "$LOGS"
	log "apt-get install ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${need[@]}" >>"$LOGS/apt.log" 2>&1; then
		log "apt-get update (package lists missing or stale)"
		apt-get update -q >>"$LOGS/apt.log" 2>&1
		apt-get install -y -q --no-install-recommends "${need[@]}" >>"$LOGS/apt.log" 2>&1 ||
			die "apt-get install ${need[*]} failed, see $LOGS/apt.log"
	fi
}

# buildkitd_config FILE STATE ADDR GC...: write a buildkitd config: state
# under STATE, the socket ADDR, the OCI worker with the GC settings GC
# (TOML lines, as that version spells them), and docker.io mirrored by
# the local registry, so `# syntax=org/stagefront` resolves to what
# hack/push-frontend pushed (no public registry is reachable here).
buildkitd_config() {
	local file=$1 state=$2 addr=$3
	shift 3
	{
		echo "# written by hack/$(basename "$0")"
		echo "root = \"$state\""
		printf '\n[grpc]\n  address = ["%s"]\n\n[worker.oci]\n  enabled = true\n' "$addr"
		printf '  %s\n' "$@"
		printf '\n[worker.containerd]\n  enabled = false\n'
		printf '\n[registry."docker.io"]\n  mirrors = ["%s"]\n' "$REGISTRY"
		printf '\n[registry."%s"]\n  http = true\n  insecure = true\n' "$REGISTRY"
	} >"$file"
}

# start_daemon NAME LOG COMMAND...: start COMMAND in a session of its own,
# its output appended to LOG, its pid in $RUN_DIR/NAME.pid (stop it with
# stop_pidfile). Inherited lock fds 7-9 are closed in it.
start_daemon() {
	local name=$1 logf=$2
	shift 2
	mkdir -p "$RUN_DIR"
	setsid "$@" >>"$logf" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	echo $! >"$RUN_DIR/$name.pid"
}

# buildkit_running_version prints the BuildKit version of the running
# buildkitd.
buildkit_running_version() {
	buildctl --addr "$BUILDKIT_ADDR" debug info 2>/dev/null | sed -n 's/^BuildKit: *[^ ]* \(v[^ ]*\).*/\1/p'
}

# stop_pidfile NAME EXPECTED_COMMAND: stop the process of $RUN_DIR/NAME.pid
# when its command line has EXPECTED_COMMAND (TERM, then KILL after 10s).
stop_pidfile() {
	local name=$1 comm=$2 pidfile="$RUN_DIR/$1.pid" pid
	if [[ ! -f $pidfile ]]; then
		log "$name: no pid file, not started by hack/"
		return
	fi
	pid="$(cat "$pidfile")"
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$comm"; then
		log "stopping $name (pid $pid)"
		kill -TERM "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name did not stop in 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			# Gone before it returns: a daemon started next takes its locks.
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		fi
	else
		log "$name (pid ${pid:-?}) is not running"
	fi
	rm -f "$pidfile"
}

buildkit_answers() {
	[[ -S "$BUILDKIT_SOCK" ]] && timeout 10 buildctl --addr "$BUILDKIT_ADDR" debug workers >/dev/null 2>&1
}

registry_answers() {
	curl -fsS -o /dev/null "http://$REGISTRY_LISTEN/v2/" 2>/dev/null
}
