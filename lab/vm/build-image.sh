#!/usr/bin/env bash
# Builds the lab VM image: Debian's cloud kernel plus a busybox initramfs with iproute2's
# `ip`/`bridge`/`tc`, dropbear and the network modules the lab tests need.
#
#   lab/vm/build-image.sh <outdir>
#
# <outdir> ends up holding vmlinuz, initrd.img (gzip cpio), kernel-version and inputs.sha256.
# The build is skipped when inputs.sha256 matches (this script's content + the package
# versions used). It builds into a temporary sibling directory and renames it into place,
# so an interrupted build never leaves a half image in <outdir>.
# Per-VM data (host key, authorized key, underlay address) is NOT in the image: lab/vm/index.ts
# appends a small cpio with /etc/vm/* to a copy of initrd.img for each VM; /init reads it.
set -euo pipefail
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/image-lib.sh"
image_begin build-image "$@"

# Modules loaded at boot (with their dependency closure): every device kind this machine's
# kernel lacks (see ../shared/lab-facts.md), and sch_netem for latency benchmarks.
MODULES=(virtio_pci virtio_net virtio_rng 8021q ipvlan macvlan macvtap bridge vxlan geneve veth tun
  dummy ip_gre bonding vrf wireguard sch_netem)
OPTIONAL_MODULES=(ip6_gre)
# Host packages whose binaries go into the image (busybox, ip/bridge/tc, dropbear, wg + their libs).
IMAGE_PKGS=(busybox-static iproute2 dropbear-bin dash libc6 wireguard-tools)
TOOL_PKGS=(cpio kmod dropbear-bin busybox-static iproute2 dash wireguard-tools)
KERNEL_META=${NETDEV_VM_KERNEL_META:-linux-image-cloud-amd64}

# --- tools ---------------------------------------------------------------------------------
image_tools "${TOOL_PKGS[@]}" "${IMAGE_PKGS[@]}"

# --- which kernel --------------------------------------------------------------------------
resolve_kernel() {
  KERNEL_PKG=${NETDEV_VM_KERNEL_PKG:-$(apt-cache depends "$KERNEL_META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)}
  [ -n "$KERNEL_PKG" ] || return 1
  KERNEL_VERSION=$(apt-cache policy "$KERNEL_PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  [ -n "$KERNEL_VERSION" ] && [ "$KERNEL_VERSION" != "(none)" ]
}
# apt-cache takes seconds: reuse the kernel recorded in <outdir> while the apt lists are unchanged.
APT_STAMP=$(stat -c '%n %Y %s' /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -z "${NETDEV_VM_KERNEL_PKG:-}" ] && [ -f "$OUT/apt-stamp" ] && [ -f "$OUT/kernel-package" ] \
  && [ "$(cat "$OUT/apt-stamp")" = "$APT_STAMP $KERNEL_META" ]; then
  read -r KERNEL_PKG KERNEL_VERSION < "$OUT/kernel-package"
elif ! resolve_kernel; then
  log "apt lists do not know $KERNEL_META: apt-get update"
  apt-get update -qq >&2 || true
  resolve_kernel || die "cannot resolve a kernel package from $KERNEL_META"
fi

# --- cache check ---------------------------------------------------------------------------
inputs() {
  echo "kernel $KERNEL_PKG $KERNEL_VERSION"
  for pkg in "${IMAGE_PKGS[@]}"; do echo "$pkg $(installed_version "$pkg")"; done
  echo "modules ${MODULES[*]} / ${OPTIONAL_MODULES[*]}"
}
HASH=$(image_hash inputs)
image_lock_or_done "$HASH" "$KERNEL_PKG $KERNEL_VERSION" vmlinuz initrd.img

image_tmp
log "building image for $KERNEL_PKG $KERNEL_VERSION in $TMP"

# --- kernel --------------------------------------------------------------------------------
log "downloading $KERNEL_PKG=$KERNEL_VERSION"
(cd "$TMP" && apt-get download -q "$KERNEL_PKG=$KERNEL_VERSION" 2>&1 | grep -v -e 'unsandboxed' >&2) || true
DEB=$(ls "$TMP"/linux-image-*.deb 2>/dev/null | head -n1)
[ -n "$DEB" ] || die "apt-get download $KERNEL_PKG=$KERNEL_VERSION produced no .deb"
log "unpacking $(basename "$DEB")"
dpkg -x "$DEB" "$TMP/kpkg"
rm -f "$DEB"
KVER=$(ls "$TMP/kpkg/lib/modules")
[ -d "$TMP/kpkg/lib/modules/$KVER" ] || die "no modules in $DEB"
depmod -b "$TMP/kpkg" "$KVER"

# --- initramfs tree ------------------------------------------------------------------------
R="$TMP/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var,lib64,lib/modules}
ln -s ../run "$R/var/run"
chmod 1777 "$R/tmp"
chmod 700 "$R/root"

copy_with_libs() { # <host binary> <dest path in image>
  local src=$1 dest=$2
  install -D -m 755 "$src" "$R$dest"
  local lib
  for lib in $(ldd "$src" | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$R$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$R$lib"
  done
}

log "adding busybox, dash, iproute2, dropbear, wg"
# /bin/sh is dash, not busybox ash: Debian's busybox-static prefers its own applets, so in ash
# (and thus in every `sh -c` an SSH exec runs) `ip` would be busybox's weak applet whatever PATH says.
REAL=(ip bridge tc sh)
copy_with_libs /bin/dash /bin/dash
ln -s dash "$R/bin/sh"
copy_with_libs /sbin/ip /usr/sbin/ip
copy_with_libs /sbin/bridge /usr/sbin/bridge
copy_with_libs /sbin/tc /usr/sbin/tc
copy_with_libs /usr/sbin/dropbear /usr/sbin/dropbear
copy_with_libs /usr/bin/wg /usr/bin/wg
for tool in ip bridge tc; do ln -s "../usr/sbin/$tool" "$R/sbin/$tool"; ln -s "../usr/sbin/$tool" "$R/bin/$tool"; done
cp -a /etc/iproute2 "$R/etc/iproute2"
install -m 755 /bin/busybox "$R/bin/busybox"
for applet in $(/bin/busybox --list); do
  case " ${REAL[*]} busybox " in *" $applet "*) continue ;; esac
  [ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"
done

log "adding modules for kernel $KVER"
KMOD="$TMP/kpkg/lib/modules/$KVER"
LOAD=()
add_module() { # <name> -> copies its closure, appends it to LOAD; fails if unknown
  local deps path
  deps=$(modprobe -d "$TMP/kpkg" -S "$KVER" -C /dev/null --show-depends "$1" 2>/dev/null | awk '$1 == "insmod" {print $2}') || return 1
  [ -n "$deps" ] || return 1
  for path in $deps; do
    local rel=${path#"$TMP/kpkg"}
    [ -e "$R$rel" ] || install -D -m 644 "$path" "$R$rel"
  done
  LOAD+=("$1")
}
for m in "${MODULES[@]}"; do add_module "$m" || die "kernel $KVER has no module $m"; done
for m in "${OPTIONAL_MODULES[@]}"; do add_module "$m" || log "optional module $m not in kernel $KVER: skipped"; done
cp "$KMOD"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"
printf '%s\n' "${LOAD[@]}" > "$R/etc/modules-load"

log "writing /init and /etc"
cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat > "$R/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
EOF
chmod 600 "$R/etc/shadow"
echo 'root:x:0:' > "$R/etc/group"
printf '/bin/sh\n/bin/dash\n/bin/ash\n' > "$R/etc/shells"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
cat > "$R/etc/profile" <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
cat > "$R/etc/inittab" <<'EOF'
::sysinit:/etc/rc
::respawn:/etc/dropbear.sh
::ctrlaltdel:/bin/poweroff -f
::shutdown:/bin/sh -c 'echo vm: shutdown'
EOF
cat > "$R/etc/dropbear.sh" <<'EOF'
#!/bin/sh
# -F foreground (busybox init respawns it), -E log to the console, -s no passwords,
# -R would generate keys: we pass the key made on the host instead.
exec /usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid
EOF
chmod 755 "$R/etc/dropbear.sh"
cat > "$R/init" <<'EOF'
#!/bin/sh
# PID 1 of the lab VM: mount, then hand over to busybox init (it reaps orphans and respawns dropbear).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
exec /bin/busybox init
EOF
chmod 755 "$R/init"
cat > "$R/etc/rc" <<'EOF'
#!/bin/sh
# Per-VM data comes from the cpio appended by lab/vm/index.ts: /etc/vm/{hostname,underlay-address,underlay-address6,underlay-mac,mgmt-mac}.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo /bin/modprobe > /proc/sys/kernel/modprobe
# No gre0/gretap0/erspan0/ip6tnl0/ip6gre0 fallback devices when ip_gre/ip6_gre load.
echo 2 > /proc/sys/net/core/fb_tunnels_only_for_init_net
for m in $(cat /etc/modules-load); do
  # No dummy0/bond0 made at load: tests create their own devices by name.
  case $m in dummy) modprobe dummy numdummies=0 ;; bonding) modprobe bonding max_bonds=0 ;; *) modprobe "$m" ;; esac || echo "vm: modprobe $m failed"
done
[ -f /etc/vm/hostname ] && hostname "$(cat /etc/vm/hostname)"
ip link set lo up
byaddr() { for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$1" ] && { basename "$d"; return; }; done; }
i=0
while [ $i -lt 100 ] && [ ! -e /sys/class/net/eth1 ]; do sleep 0.1; i=$((i + 1)); done
# Name the NICs by MAC: eth0 = management (qemu user net, SSH port forward), eth1 = lab underlay.
mgmt=$(byaddr "$(cat /etc/vm/mgmt-mac)")
ul=$(byaddr "$(cat /etc/vm/underlay-mac)")
if [ "$mgmt" != eth0 ] || [ "$ul" != eth1 ]; then
  [ -n "$mgmt" ] && ip link set "$mgmt" name vmtmp0
  [ -n "$ul" ] && ip link set "$ul" name vmtmp1
  ip link set vmtmp0 name eth0
  ip link set vmtmp1 name eth1
fi
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip addr add "$(cat /etc/vm/underlay-address)/24" dev eth1
ip addr add "$(cat /etc/vm/underlay-address6)/64" dev eth1 nodad
ip link set eth1 up
mkdir -p /run/netns
echo "vm: ready: $(ip -br addr show eth1)"
EOF
chmod 755 "$R/etc/rc"

# --- pack ----------------------------------------------------------------------------------
log "packing initramfs"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$TMP/initrd.img"
cp "$TMP/kpkg/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
echo "$KVER" > "$TMP/kernel-version"
echo "$KERNEL_PKG $KERNEL_VERSION" > "$TMP/kernel-package"
echo "$APT_STAMP $KERNEL_META" > "$TMP/apt-stamp"
rm -rf "$TMP/kpkg" "$R"

# --- publish -------------------------------------------------------------------------------
image_publish "$HASH" "kernel $(du -h "$TMP/vmlinuz" | cut -f1), initrd $(du -h "$TMP/initrd.img" | cut -f1)"
