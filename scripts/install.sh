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

# Native addons (ssh2's ciphers, cpu-features) are compiled against the pinned Node's own headers:
# Debian's npm points node-gyp at the system Node's (nodedir=/usr), whose build the pinned Node
# refuses to load, and ssh2 then falls back, silently, to ciphers written in JavaScript.
export npm_config_nodedir="${node_bin%/bin}"
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
if ! node -e 'require("ssh2/lib/protocol/crypto/build/Release/sshcrypto.node")' 2>/dev/null; then
  step "npm dependencies: native addons built for $(node --version)"
  # Not fatal: without them ssh2 still works, on its slower ciphers.
  npm rebuild --no-audit --no-fund ssh2 cpu-features || echo "install: ssh2's native ciphers could not be built; it uses its JavaScript ones"
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
