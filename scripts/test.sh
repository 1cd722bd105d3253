#!/usr/bin/env bash
# The test command: installs everything it needs on a bare Debian machine (as root), then
# runs every test against real lab hosts (network namespaces running sshd, and qemu VMs
# booting Debian's cloud kernel for ipvlan/vlan). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh: the lab needs root (network namespaces, sshd, qemu taps); run it as root" >&2
  exit 1
fi

started=$(date +%s)
step() { echo "==> [$(( $(date +%s) - started ))s] $*"; }

step "Debian packages"
scripts/install-system-deps.sh

step "Node.js (pinned, from the npm registry)"
node_bin="$(scripts/ensure-node.sh)"
export PATH="$node_bin:$PATH"
node --version

step "npm ci"
npm ci --no-audit --no-fund

if [ -x scripts/install-pulumi.sh ] && [ "${NETDEV_SKIP_PULUMI:-0}" != 1 ]; then
  step "Pulumi CLI (built from Go modules when not cached)"
  pulumi_bin="$(scripts/install-pulumi.sh)"
  export PATH="$pulumi_bin:$PATH"
  pulumi version
fi

step "type check and build"
npm run --silent typecheck
npm run --silent build

step "tests (lab up, all suites, lab down)"
npx vitest run "$@"

step "leak check"
leftovers="$(ip netns list | grep -E '^nd(lab|lt|lc)-' || true)"
if [ -n "$leftovers" ]; then
  echo "lab namespaces left behind: $leftovers" >&2
  exit 1
fi
step "done"
