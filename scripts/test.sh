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

step "npm install (locked versions)"
# Not `npm ci`: the registry reachable here answers 404 for other platforms' optional
# packages (@rollup/rollup-android-*, …), so the lockfile cannot list them and `npm ci`
# refuses it as out of sync. `npm install --no-save` installs the locked versions and
# leaves package-lock.json untouched.
npm install --no-save --no-audit --no-fund

if [ -x scripts/install-pulumi.sh ] && [ "${NETDEV_SKIP_PULUMI:-0}" != 1 ]; then
  step "Pulumi CLI (built from Go modules when not cached)"
  pulumi_bin="$(scripts/install-pulumi.sh)"
  export PATH="$pulumi_bin:$PATH"
  pulumi version
fi

step "type check (the tests' global setup builds dist/)"
npm run --silent typecheck

lab_was_up=0
[ -f lab/.state/hosts.json ] && lab_was_up=1
step "tests (lab up, all suites, lab down)"
results="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# A plain closing line that any CI reader understands.
if [ -s "$results" ]; then
  node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$results"
fi
[ "$status" = 0 ] || exit "$status"

# A lab that a developer had up before is reused and left up; otherwise nothing may remain.
if [ "$lab_was_up" = 0 ] || [ "${CI:-}" = true ]; then
  step "leak check"
  # Zombies (state Z) are dead already: a killed qemu waits there until PID 1 reaps it.
  leftovers="$(ip netns list | grep -E '^nd(lab|lt|lc)-' || true; ip -br link | grep -E '^ndlab' || true
    ps -eo stat=,pid=,args= | grep -E 'qemu-system|lab/\.state' | grep -v -e '^Z' -e 'grep -E' || true)"
  if [ -n "$leftovers" ]; then
    echo "left behind by the tests: $leftovers" >&2
    exit 1
  fi
fi
step "done"
