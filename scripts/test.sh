#!/usr/bin/env bash
# The test command: installs everything it needs on a bare Debian machine (as root), then
# runs the main job (`npm run demo`) in a fresh clone, and every test against real lab hosts
# (network namespaces running sshd, and qemu VMs booting Debian's cloud kernel for
# ipvlan/vlan). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh: the lab needs root (network namespaces, sshd, qemu taps); run it as root" >&2
  exit 1
fi

. scripts/install.sh
# The installer put every shell the quoting tests run command lines through (zsh, busybox come
# with the VM packages) on this machine, so here a missing one fails those tests, not skips them.
if [ "${NETDEV_WITH_VM:-1}" = 1 ]; then export NETDEV_REQUIRE_SHELLS=1; fi

step "type check"
npm run --silent typecheck

step "lint and format (biome ci)"
npm run --silent lint

lab_was_up=0
[ -f lab/.state/hosts.json ] && lab_was_up=1

# The README's main job, as a newcomer runs it: a clone of this commit with nothing installed
# in it. Only one lab can exist on a machine, so this runs while no test lab is up.
if [ "$lab_was_up" = 0 ] && [ "${NETDEV_SKIP_DEMO:-0}" != 1 ] && git rev-parse --verify -q HEAD >/dev/null; then
  step "main job: npm run demo in a fresh clone of HEAD"
  clone="$(mktemp -d)/netdev"
  git clone -q --no-hardlinks . "$clone"
  # --keep leaves the lab up for the by-hand block, also when the demo fails: take it down then.
  demo_failed() { (cd "$clone" && npm run --silent lab -- down) || true; exit 1; }
  (cd "$clone" && NETDEV_WITH_VM=0 npm run demo -- --keep) || demo_failed
  step "CONTRIBUTING.md's by-hand commands, verbatim, on the stack the demo kept"
  by_hand="$(awk '/<!-- by-hand -->/ { found = 1; next } found && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit } inside' CONTRIBUTING.md)"
  [ -n "$by_hand" ] || { echo "CONTRIBUTING.md has no by-hand block" >&2; demo_failed; }
  (cd "$clone" && bash -euo pipefail -c "$by_hand") || demo_failed
  rm -rf "$(dirname "$clone")"
fi

# A Debian VM host (systemd, networkd) beside the others: persistence is shown by rebooting it
# (provider/persist/persist.test.ts, lab/vm/debian.test.ts). Its image builds in ~3-4 min cold.
export NETDEV_TEST_DEBIAN_VMS="${NETDEV_TEST_DEBIAN_VMS:-1}"

step "tests (lab up, all suites, lab down)"
results="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
if [ $# -eq 0 ]; then
  step "files that run alone: the fault suite (it blackholes a lab host and kills SSH sessions), and those counting a host's SSH connections"
  NETDEV_TEST_DEBIAN_VMS=0 npx vitest run --config vitest.faults.config.ts --reporter=default --reporter=json --outputFile.json="${results%.json}.faults.json" || status=$?
  step "device lifecycles, namespaces, routes, grouped deletes, an overlay and kept logins, logged in as a sudo user where root is refused"
  NETDEV_TEST_DEBIAN_VMS=0 NETDEV_TEST_LOGIN=nopasswd npx vitest run --reporter=default --reporter=json --outputFile.json="${results%.json}.sudo.json" \
    provider/kinds/bridge provider/kinds/veth provider/kinds/tun provider/kinds/macvlan provider/kinds/vxlan provider/objects \
    provider/engine/grouped-delete.test.ts provider/components/vxlan-overlay.test.ts \
    provider/ssh/keeper/keeper.test.ts test/e2e/kept-logins.test.ts || status=$?
fi

# A lab that a developer had up before is reused and left up; otherwise nothing may remain.
if [ "$lab_was_up" = 0 ] || [ "${CI:-}" = true ]; then
  step "leak check"
  # Zombies (state Z) are dead already: a killed qemu waits there until PID 1 reaps it.
  leftovers="$(ip netns list | grep -E '^nd(lab|lt|lc)-' || true; ip -br link | grep -E '^ndlab' || true
    ps -eo stat=,pid=,args= | grep -E 'qemu-system|lab/\.state|pulumi-language-nodejs|dynamic-provider|netdev-ssh-keeper' | grep -v -e '^Z' -e 'grep -E' || true)"
  if [ -n "$leftovers" ]; then
    echo "left behind by the tests: $leftovers" >&2
    status=1
  fi
fi
step "done"
# The plain closing line that any CI reader understands: the last line of the run.
if [ -s "$results" ]; then
  node -e '
    const fs = require("fs");
    const runs = process.argv.slice(1).filter((f) => fs.existsSync(f)).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
    const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
    console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
  ' "$results" "${results%.json}.faults.json" "${results%.json}.sudo.json"
fi
exit "$status"
