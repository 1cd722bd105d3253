#!/usr/bin/env bash
# Installs the Debian packages the lab and the tests need, only those missing.
set -euo pipefail

# tcpdump: the encrypted overlay test captures the lab underlay; wireguard-tools: `wg genkey`
# in examples/wireguard's set-up block.
# sudo: the lab's users who log in without root (lab/sudo-users.ts).
packages=(openssh-server sudo iproute2 iputils-ping procps psmisc tcpdump wireguard-tools)
if [ "${NETDEV_WITH_VM:-1}" = "1" ]; then
  # The VM hosts' image, and the shells the quoting test runs every command line through
  # (dash and bash are always there).
  packages+=(qemu-system-x86 busybox-static cpio kmod dropbear-bin zsh)
  # The Debian VM hosts' image (lab/vm/build-debian-image.sh): a bookworm root filesystem made
  # with mmdebstrap, packed with mkfs.ext4 -d (e2fsprogs), booted through a qcow2 overlay (qemu-img).
  packages+=(mmdebstrap e2fsprogs qemu-utils)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: missing ${missing[*]}; run as root (apt-get install)" >&2
  exit 1
fi
echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# sshd must not start in the root namespace: the lab starts its own per host.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
