#!/usr/bin/env bash
# Makes the Pulumi CLI available offline and prints, as the LAST line of
# stdout, the absolute path of a bin directory holding:
#   pulumi                         the CLI (github.com/pulumi/pulumi/pkg/v3)
#   pulumi-language-nodejs         the Node.js language host
#   pulumi-resource-pulumi-nodejs  the dynamic-provider plugin (a shell shim)
# Progress goes to stderr. Usage:
#   PATH="$(scripts/install-pulumi.sh | tail -n1):$PATH"
#
# Order of preference:
#   1. a `pulumi` on PATH that is exactly v$PULUMI_VERSION, with the two
#      other files beside it (an official install has them);
#   2. the cache ${NETDEV_TOOLS_DIR:-$HOME/.cache/pulumi-netdev}/pulumi-v$PULUMI_VERSION/bin,
#      if complete, of the right version, and built from the current
#      tools/pulumi (stamp file);
#   3. otherwise it builds into a temporary directory with Go (needs only Go
#      and the Go module proxy; about 8 minutes on 2 cores with cold
#      caches) and renames it into place, so an interrupted build never
#      leaves a half-filled cache.
#
# The CLI is built from tools/pulumi, a Go module of ours that pins pkg/v3
# (see tools/pulumi/go.mod for why `go install pkg@version` cannot be used).
# The official Node.js language host module is not served by the module
# proxy here, so tools/pulumi/cmd/pulumi-language-nodejs is our own minimal
# host; the shim is our copy of the official one.
set -euo pipefail

PULUMI_VERSION=3.259.0

log() { echo "install-pulumi: $*" >&2; }
die() { log "error: $*"; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir="$repo_root/tools/pulumi"
tools_root="${NETDEV_TOOLS_DIR:-${HOME:?HOME or NETDEV_TOOLS_DIR must be set}/.cache/pulumi-netdev}"
install_dir="$tools_root/pulumi-v$PULUMI_VERSION"
bin_dir="$install_dir/bin"

# pulumi_version_ok DIR: DIR/pulumi runs and reports exactly v$PULUMI_VERSION.
pulumi_version_ok() {
    local out
    out=$(PULUMI_SKIP_UPDATE_CHECK=true "$1/pulumi" version 2>/dev/null) || return 1
    [ "$out" = "v$PULUMI_VERSION" ]
}

# complete DIR: DIR has all three executables and the right CLI version.
complete() {
    local f
    for f in pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
        [ -x "$1/$f" ] || return 1
    done
    pulumi_version_ok "$1"
}

# The stamp identifies the sources the cache was built from, so a change to
# tools/pulumi (the host, the shim, go.mod/go.sum) triggers a rebuild.
stamp() {
    (
        cd "$tools_dir"
        find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \
            -o -name pulumi-resource-pulumi-nodejs \) -print0 | LC_ALL=C sort -z |
            xargs -0 sha256sum
        echo "pulumi v$PULUMI_VERSION"
    ) | sha256sum | cut -d' ' -f1
}

# 1. An install on PATH.
if on_path=$(command -v pulumi 2>/dev/null); then
    on_path_dir=$(cd "$(dirname "$on_path")" && pwd -P)
    # Our own cache on PATH is checked below, with its stamp.
    if [ "$on_path_dir" != "$(cd "$bin_dir" 2>/dev/null && pwd -P)" ] && complete "$on_path_dir"; then
        log "using pulumi v$PULUMI_VERSION found on PATH in $on_path_dir"
        echo "$on_path_dir"
        exit 0
    fi
fi

want_stamp=$(stamp)

# 2. The cache.
if complete "$bin_dir" && [ "$(cat "$install_dir/stamp" 2>/dev/null)" = "$want_stamp" ]; then
    log "using cached pulumi v$PULUMI_VERSION in $bin_dir"
    echo "$bin_dir"
    exit 0
fi

# 3. Build.
# Go lives in /usr/local/go on these machines; a non-login shell (CI) may not have it on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "go is needed to build the Pulumi CLI (none on PATH or in /usr/local/go)"
mkdir -p "$tools_root"
# Leftovers of builds that were killed (the EXIT trap did not run).
find "$tools_root" -mindepth 1 -maxdepth 1 -name ".pulumi-v*.tmp.*" -mmin +240 \
    -exec rm -rf {} + 2>/dev/null || true
tmp=$(mktemp -d "$tools_root/.pulumi-v$PULUMI_VERSION.tmp.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.old"' EXIT
chmod 0755 "$tmp"
mkdir -p "$tmp/bin"

ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
# Static binaries that do not depend on a C toolchain, without symbol tables
# (-s -w: 110 MB instead of 160 MB); -mod=readonly so a go.sum that does not
# match go.mod fails instead of being rewritten.
build() {
    CGO_ENABLED=0 go build -C "$tools_dir" -mod=readonly -trimpath -ldflags "$ldflags" "$@"
}

start=$SECONDS
log "building pulumi v$PULUMI_VERSION with $(go version | cut -d' ' -f3) (about 8 min on 2 cores with cold Go caches, 15 s warm)..."
# A cold build is minutes of silence from go: say that it is alive.
( while sleep 30; do log "still building pulumi: $((SECONDS - start)) s so far"; done ) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null; rm -rf "$tmp" "$tmp.old"' EXIT
build -o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2 ||
    die "building the pulumi CLI failed"
log "building pulumi-language-nodejs..."
build -o "$tmp/bin/pulumi-language-nodejs" ./cmd/pulumi-language-nodejs >&2 ||
    die "building pulumi-language-nodejs failed"
cp "$tools_dir/pulumi-resource-pulumi-nodejs" "$tmp/bin/"
chmod 0755 "$tmp/bin/pulumi-resource-pulumi-nodejs"
echo "$want_stamp" >"$tmp/stamp"

complete "$tmp/bin" || die "the built pulumi does not report v$PULUMI_VERSION"

# Replace the old install, if any, by renames only.
if [ -e "$install_dir" ]; then
    mv -T "$install_dir" "$tmp.old"
fi
if ! mv -T "$tmp" "$install_dir"; then
    # Another run may have finished first; use its result if it is good.
    complete "$bin_dir" || die "could not move the build into $install_dir"
fi
rm -rf "$tmp.old"
kill "$ticker" 2>/dev/null || true
log "built pulumi v$PULUMI_VERSION into $bin_dir in $((SECONDS - start)) s"
echo "$bin_dir"
