# shellcheck shell=bash
# The one installer, sourced by scripts/test.sh and scripts/demo.sh (never run on its own):
# installs only what is missing on a bare Debian machine (as root) and puts the pinned Node.js
# and the Pulumi CLI first in PATH. Each step prints its start time since the run began; a
# second run finds everything in place and takes a few seconds.
#   NETDEV_WITH_VM=0   skip the packages only the VM lab hosts need (qemu, busybox, …)
#   NETDEV_SKIP_PULUMI=1  skip the Pulumi CLI

netdev_started=${netdev_started:-$(date +%s)}
step() { echo "==> [$(( $(date +%s) - netdev_started ))s] $*"; }

step "Debian packages"
scripts/install-system-deps.sh

step "Node.js (pinned, from the npm registry)"
node_bin="$(scripts/ensure-node.sh)"
export PATH="$node_bin:$PATH"
node --version

# Not `npm ci`: the registry reachable here answers 404 for other platforms' optional packages
# (@rollup/rollup-android-*, …), so the lockfile cannot list them and `npm ci` refuses it as out
# of sync. `npm install --no-save` installs the locked versions and leaves the lockfile alone.
npm_stamp="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) $(node --version)"
if [ "$(cat node_modules/.netdev-installed 2>/dev/null)" = "$npm_stamp" ]; then
  step "npm dependencies: up to date"
else
  step "npm dependencies (locked versions)"
  npm install --no-save --no-audit --no-fund
  echo "$npm_stamp" > node_modules/.netdev-installed
fi
# The root program's dynamic providers load `pulumi-netdev/runtime` from node_modules, as in a
# user's project; here the package is this directory itself.
ln -sfn .. node_modules/pulumi-netdev

if [ "${NETDEV_SKIP_PULUMI:-0}" != 1 ]; then
  step "Pulumi CLI (built from Go modules when not cached)"
  pulumi_bin="$(scripts/install-pulumi.sh | tail -n1)"
  export PATH="$pulumi_bin:$PATH"
  pulumi version
fi

# The root Pulumi program and the tests' stacks load the built package (dist/), as users' do.
# npm install's prepare builds it too; every build writes dist/ whole (scripts/build.sh), so a
# dist/ newer than every source is current.
if [ -f dist/provider/runtime.js ] && [ -z "$(find provider package.json tsconfig.json tsconfig.build.json -newer dist/provider/runtime.js -print -quit)" ]; then
  step "package build: up to date"
else
  step "package build (dist/)"
  npm run --silent build
fi
