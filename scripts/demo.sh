#!/usr/bin/env bash
# `npm run demo`, the main job, on a fresh clone: installs what is missing (the same installer
# as the tests), then lab up, `pulumi up` of the root program (a VXLAN overlay across three
# lab hosts), pings across it, destroy, lab down. `npm run demo -- --keep` leaves it all up.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "npm run demo: the lab needs root (network namespaces, sshd); run it as root" >&2
  exit 1
fi

# The demo's hosts are network namespaces: the VM hosts' packages are only for the tests.
export NETDEV_WITH_VM="${NETDEV_WITH_VM:-0}"
. scripts/install.sh

step "demo"
exec node_modules/.bin/tsx lab/demo.ts "$@"
