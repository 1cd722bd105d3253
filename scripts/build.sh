#!/usr/bin/env bash
# Builds dist/ into a fresh folder and swaps it in, so that a test run or a provider process
# reading dist/ never sees it half written while another build (a second vitest run, npm's
# prepare) is under way.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d .dist-build.XXXXXX)"
trap 'rm -rf "$out"' EXIT
npx tsc -p tsconfig.build.json --outDir "$out"
chmod 755 "$out"
# Two renames, then the delete: a process starting meanwhile finds one whole dist/ or the other.
old="$(mktemp -d .dist-build.XXXXXX)"
[ -d dist ] && mv -T dist "$old/dist"
mv -T "$out" dist
rm -rf "$old"
