# shellcheck shell=bash
# The steps both lab VM image builds share (lab/vm/build-image.sh, lab/vm/build-debian-image.sh),
# sourced by them after `set -euo pipefail`:
#
#   image_begin <log name> "$@"        OUT (the output directory), SCRIPT; usage check
#   image_packages <pkg>...            one dpkg-query for all; then installed_version <pkg>
#   image_tools <pkg>...               apt-get installs the missing ones (as root)
#   image_hash <inputs function>       sha256 of this library, the script and what the function prints
#   image_lock_or_done <hash> <what> <file>...
#                                      one build at a time per OUT (flock OUT.lock); exits 0 when OUT
#                                      already holds that hash and the files
#   image_tmp                          TMP, a sibling of OUT, removed on exit (image_cleanup runs first
#                                      when the script defines it)
#   image_publish <hash> <summary>     renames TMP into place, so an interrupted build never leaves a
#                                      half image in OUT
#   elapsed                            seconds since image_tmp, one decimal

IMAGE_LIB=$(realpath "${BASH_SOURCE[0]}")

log() { echo "$IMAGE_LOG_NAME: $*" >&2; }
die() { log "error: $*"; exit 1; }

image_begin() { # <log name> "$@"
  IMAGE_LOG_NAME=$1
  shift
  [ $# -eq 1 ] || die "usage: $0 <outdir>"
  OUT=$(realpath -m "$1")
  SCRIPT=$(realpath "$0")
}

# One dpkg-query for all packages (each call costs ~0.1 s on a busy machine).
image_packages() { PKG_STATE=$(dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\n' "$@" 2>/dev/null || true); }
installed_version() { awk -v p="$1" '$1 == p && $2 == "installed" { print $3 }' <<<"$PKG_STATE"; }

image_tools() { # <pkg>...: installs the missing ones; PKG_STATE then describes them
  image_packages "$@"
  local missing=() pkg
  for pkg in "$@"; do [ -n "$(installed_version "$pkg")" ] || missing+=("$pkg"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}: run as root or apt-get install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  image_packages "$@"
}

image_hash() { # <function printing the build's inputs>
  { sha256sum "$IMAGE_LIB" "$SCRIPT" | cut -d' ' -f1; "$1"; } | sha256sum | cut -d' ' -f1
}

image_lock_or_done() { # <hash> <what, for the log> <file in OUT>...
  local hash=$1 what=$2 file
  shift 2
  mkdir -p "$(dirname "$OUT")"
  exec 9>"$OUT.lock"
  flock 9 # one build at a time per outdir; a waiter then finds the fresh image below
  [ -f "$OUT/inputs.sha256" ] && [ "$(cat "$OUT/inputs.sha256")" = "$hash" ] || return 0
  for file in "$@"; do [ -s "$OUT/$file" ] || return 0; done
  log "image up to date in $OUT ($what)"
  exit 0
}

image_tmp() {
  IMAGE_START=$EPOCHREALTIME
  TMP=$(mktemp -d "$(dirname "$OUT")/.$(basename "$OUT").build.XXXXXX")
  chmod 755 "$TMP"
  trap 'if declare -F image_cleanup >/dev/null; then image_cleanup; fi; rm -rf "$TMP"' EXIT
}

elapsed() { awk -v a="$IMAGE_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

image_publish() { # <hash> <summary for the log>
  echo "$1" > "$TMP/inputs.sha256"
  if [ -e "$OUT" ]; then
    local old="$TMP.old"
    mv "$OUT" "$old"
    mv "$TMP" "$OUT"
    rm -rf "$old"
  else
    mv "$TMP" "$OUT"
  fi
  trap - EXIT
  log "image ready in $OUT: $2, $(elapsed) s"
}
