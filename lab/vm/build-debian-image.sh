#!/usr/bin/env bash
# Builds the lab's Debian VM image: a real Debian (bookworm) root filesystem with systemd,
# systemd-networkd, OpenSSH's sshd and Debian's cloud kernel, for tests that need a real init
# system (persistence through systemd-networkd across reboots).
#
#   lab/vm/build-debian-image.sh <outdir>
#
# <outdir> ends up holding:
#   rootfs.img      raw ext4 image (sparse) of the root filesystem: VMs boot a qcow2 overlay of it
#   vmlinuz         the kernel of the linux-image-cloud-amd64 installed in the image
#   initrd.img      Debian's initramfs-tools initrd (MODULES=list: virtio_pci + virtio_blk)
#   kernel-version, debian-packages (name version of every package), inputs.sha256
# The build is skipped when inputs.sha256 matches (this script + the candidate versions of the
# main packages in the host's apt lists, which use the same Debian release and mirrors). It
# builds into a temporary sibling directory and renames it into place, under flock <outdir>.lock.
#
# Per-VM data (hostname, SSH host key, authorized key, underlay address) is NOT in the image:
# lab/vm/debian.ts passes it through qemu's fw_cfg (opt/netdev/config.tar); the unit
# netdev-vm-config.service unpacks it at every boot, before sshd and systemd-networkd start.
set -euo pipefail
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/image-lib.sh"
image_begin build-debian-image "$@"

SUITE=bookworm
MIRROR=${NETDEV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${NETDEV_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Installed in the image (plus Priority: required, i.e. mmdebstrap's minbase variant).
IMAGE_PKGS=(systemd systemd-sysv udev dbus kmod iproute2 openssh-server wireguard-tools iputils-ping
  linux-image-cloud-amd64 initramfs-tools network-manager)
# Whose host candidate versions decide whether the cached image is stale.
VERSION_PKGS=(systemd openssh-server iproute2 wireguard-tools linux-image-cloud-amd64 libc6 network-manager)
TOOL_PKGS=(mmdebstrap e2fsprogs qemu-utils)
ROOTFS_SIZE=${NETDEV_DEBIAN_ROOTFS_SIZE:-2G}

# --- tools ---------------------------------------------------------------------------------
image_tools "${TOOL_PKGS[@]}"

# --- cache check ---------------------------------------------------------------------------
candidates() { # one apt-cache call for all: "<pkg> <candidate>" lines
  apt-cache policy "${VERSION_PKGS[@]}" 2>/dev/null | awk '/^[^ ]/ { sub(":$", "", $1); p = $1 } /^ *Candidate:/ { print p, $2 }'
}
inputs() {
  echo "$SUITE $MIRROR $SECURITY_MIRROR $ROOTFS_SIZE"
  echo "${IMAGE_PKGS[*]}"
  candidates
}
HASH=$(image_hash inputs)
image_lock_or_done "$HASH" "$(cat "$OUT/kernel-version" 2>/dev/null)" rootfs.img vmlinuz initrd.img
[ "$(id -u)" = 0 ] || die "building the Debian image needs root (mmdebstrap --mode=root)"

image_tmp
R="$TMP/root"
image_cleanup() {
  # mmdebstrap unmounts what it mounted; this catches a build killed half way.
  if [ -d "$R" ]; then
    for m in $(awk -v r="$R" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  fi
}

# Files for the image, written by the hooks below ($1 = the root directory being built).
HOOKS="$TMP/hooks"
mkdir -p "$HOOKS"

# Before the kernel's postinst runs update-initramfs: a small initrd with just what mounts /dev/vda.
cat > "$HOOKS/essential.sh" <<'HOOK'
#!/bin/sh
set -eu
R=$1
mkdir -p "$R/etc/initramfs-tools/conf.d" "$R/etc/initramfs-tools/hooks"
printf 'MODULES=list\nRESUME=none\nCOMPRESS=gzip\n' > "$R/etc/initramfs-tools/conf.d/netdev.conf"
cat > "$R/etc/initramfs-tools/hooks/netdev" <<'EOF'
#!/bin/sh
# netdev lab VM: the root disk is virtio-blk on PCI (ext4 is built into the cloud kernel).
[ "${1:-}" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk
EOF
chmod 755 "$R/etc/initramfs-tools/hooks/netdev"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 0\n' > "$R/etc/fstab"
HOOK

cat > "$HOOKS/customize.sh" <<'HOOK'
#!/bin/sh
set -eu
R=$1
# sshd: key-only root login with the per-VM ed25519 host key netdev-vm-config writes.
rm -f "$R"/etc/ssh/ssh_host_*
cat > "$R/etc/ssh/sshd_config.d/netdev.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
# Per-VM configuration from qemu's fw_cfg, at every boot before sshd and networkd.
cat > "$R/usr/local/sbin/netdev-vm-config" <<'EOF'
#!/bin/sh
# Unpacks /sys/firmware/qemu_fw_cfg/by_name/opt/netdev/config.tar (made by lab/vm/debian.ts):
#   ssh_host_ed25519_key, authorized_keys, underlay.network, underlay.nmconnection
set -eu
modprobe qemu_fw_cfg
raw=/sys/firmware/qemu_fw_cfg/by_name/opt/netdev/config.tar/raw
i=0
while [ ! -e "$raw" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$raw" ] || { echo "netdev-vm-config: no $raw (qemu started without -fw_cfg?)" >&2; exit 1; }
rm -rf /run/netdev && mkdir -m 700 /run/netdev
cat "$raw" > /run/netdev/config.tar
tar -xf /run/netdev/config.tar -C /run/netdev --no-same-owner
install -m 600 /run/netdev/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
install -d -m 700 /root/.ssh
install -m 600 /run/netdev/authorized_keys /root/.ssh/authorized_keys
install -d -m 755 /run/systemd/network
install -m 644 /run/netdev/underlay.network /run/systemd/network/10-netdev-underlay.network
# The same for NetworkManager, which runs instead of networkd once useNetwork() switched the VM to it.
install -d -m 755 /run/NetworkManager/system-connections
install -m 600 /run/netdev/underlay.nmconnection /run/NetworkManager/system-connections/netdev-underlay.nmconnection
echo "netdev-vm-config: $(hostname): host key $(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key | cut -d' ' -f2)"
EOF
chmod 755 "$R/usr/local/sbin/netdev-vm-config"
cat > "$R/etc/systemd/system/netdev-vm-config.service" <<'EOF'
[Unit]
Description=netdev lab: per-VM configuration from qemu fw_cfg
DefaultDependencies=no
After=systemd-remount-fs.service systemd-modules-load.service
Before=sysinit.target systemd-networkd.service NetworkManager.service ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/netdev-vm-config
StandardOutput=journal+console

[Install]
WantedBy=sysinit.target
EOF
# eth0: qemu user networking (SSH port forward only). Its MAC is the same in every lab VM;
# eth1's .network (underlay address, per-VM MAC) comes from fw_cfg into /run/systemd/network.
# PermanentMACAddress=, not MACAddress=: a VLAN or ipvlan on the NIC shares its MAC, and
# networkd would configure it as the NIC (its address on the child, the child's own dropped).
mkdir -p "$R/etc/systemd/network"
cat > "$R/etc/systemd/network/10-netdev-mgmt.network" <<'EOF'
[Match]
PermanentMACAddress=52:54:00:12:34:56

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
# NetworkManager: installed but off; networkd runs. useNetwork() in lab/vm/debian.ts turns
# networkd off and NetworkManager on (and back) for tests of netdev on a NetworkManager host. Its
# profiles: eth0's here, eth1's from fw_cfg (netdev-vm-config), both matched by MAC. Otherwise
# Debian's configuration as installed (automatic "Wired connection" profiles included).
chroot "$R" systemctl disable -q NetworkManager.service NetworkManager-wait-online.service NetworkManager-dispatcher.service 2>/dev/null || true
mkdir -p "$R/etc/NetworkManager/system-connections"
cat > "$R/etc/NetworkManager/system-connections/netdev-mgmt.nmconnection" <<'EOF'
[connection]
id=netdev-mgmt
type=ethernet

[ethernet]
mac-address=52:54:00:12:34:56

[ipv4]
method=manual
address1=10.0.2.15/24

[ipv6]
method=disabled
EOF
chmod 600 "$R/etc/NetworkManager/system-connections/netdev-mgmt.nmconnection"
# Same module behaviour as the busybox VMs: no dummy0/bond0 at load, no gre0/ip6tnl0 fallbacks.
printf 'options dummy numdummies=0\noptions bonding max_bonds=0\n' > "$R/etc/modprobe.d/netdev.conf"
printf 'net.core.fb_tunnels_only_for_init_net = 2\n' > "$R/etc/sysctl.d/60-netdev.conf"
# Not a first boot (no systemd-firstboot prompts, no preset-all): systemd fills the empty
# machine-id from systemd.machine_id= on the kernel command line.
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R/etc/hostname"
chroot "$R" systemctl enable -q systemd-networkd.service netdev-vm-config.service
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  chroot "$R" systemctl disable -q "$unit" 2>/dev/null || true
done
chroot "$R" systemctl mask -q systemd-firstboot.service
chroot "$R" systemctl set-default -q multi-user.target
# Lean: no docs, no apt lists or caches.
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/var/cache/apt/* "$R"/var/lib/apt/lists/*
HOOK
chmod 755 "$HOOKS"/*.sh

# --- root filesystem -----------------------------------------------------------------------
log "mmdebstrap $SUITE (${IMAGE_PKGS[*]}) into $R"
export DEBIAN_FRONTEND=noninteractive
mmdebstrap --mode=root --variant=minbase --format=directory --quiet \
  --aptopt='Apt::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --include="$(IFS=,; echo "${IMAGE_PKGS[*]}")" \
  --essential-hook="$HOOKS/essential.sh \"\$1\"" \
  --customize-hook="$HOOKS/customize.sh \"\$1\"" \
  "$SUITE" "$R" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" >&2
log "root filesystem done after $(elapsed) s"

KVER=$(ls "$R/lib/modules")
[ "$(echo "$KVER" | wc -l)" = 1 ] || die "expected one kernel in the image, found: $KVER"
cp "$R/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$TMP/initrd.img"
echo "$KVER" > "$TMP/kernel-version"
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' > "$TMP/debian-packages"

# --- disk image ----------------------------------------------------------------------------
log "mkfs.ext4 -d (${ROOTFS_SIZE}, sparse)"
# Not in the image: /boot (the kernel and initrd boot via qemu -kernel/-initrd).
rm -f "$R"/boot/vmlinuz-* "$R"/boot/initrd.img-* "$R"/boot/System.map-*
truncate -s "$ROOTFS_SIZE" "$TMP/rootfs.img"
mkfs.ext4 -q -F -L netdev-root -E root_owner=0:0 -d "$R" "$TMP/rootfs.img"
rm -rf "$R" "$HOOKS"

# --- publish -------------------------------------------------------------------------------
image_publish "$HASH" "rootfs $(du -h "$TMP/rootfs.img" | cut -f1) used of $ROOTFS_SIZE, kernel $KVER, initrd $(du -h "$TMP/initrd.img" | cut -f1), $(wc -l < "$TMP/debian-packages") packages"
