import { execa } from "execa";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type LabHost, repoRoot, underlayAddress6 } from "../hosts";
import { bootVms, buildImage, MGMT_MAC, type StartVmHostsOptions, underlayMac, type VmFlavour, validate } from "./qemu";

export { type StartVmHostsOptions, stopVmHosts, tapName, underlayMac, type VmHostSpec, type VmRecord } from "./qemu";

/**
 * Lab hosts that are qemu VMs (TCG) running Debian's cloud kernel with a busybox initramfs
 * (lab/vm/build-image.sh), for the device kinds this machine's kernel lacks (vlan, ipvlan,
 * geneve, gre). NICs, qemu and SSH as every lab VM (lab/vm/qemu.ts). Per-VM data (dropbear host
 * key, authorized key, addresses) travels in a small cpio placed in front of the shared image's
 * initrd, so the image is built once and shared by all VMs.
 */

const BUILD_SCRIPT = path.join(repoRoot, "lab", "vm", "build-image.sh");
export const defaultImageDir = process.env.NETDEV_VM_IMAGE_DIR ?? path.join(repoRoot, "lab", "vm", ".cache", "image");

/** Builds (or reuses) the VM image in cacheDir; progress goes to stderr. */
export async function ensureVmImage(cacheDir: string = defaultImageDir): Promise<{ kernel: string; initrd: string }> {
  return buildImage(BUILD_SCRIPT, cacheDir, { kernel: "vmlinuz", initrd: "initrd.img" });
}

function busybox(opts: StartVmHostsOptions, image: { kernel: string; initrd: string }): VmFlavour {
  return {
    defaultMemoryMiB: 256,
    defaultBootTimeoutMs: 180_000,
    onReboot: "exit",
    async prepare(spec, dir) {
      // Per-VM data: host key made here (so we know the public key), authorized key, addresses.
      const guest = path.join(dir, "guest");
      for (const sub of ["etc/vm", "etc/dropbear", "root/.ssh"]) mkdirSync(path.join(guest, sub), { recursive: true, mode: 0o700 });
      const hostKey = path.join(guest, "etc/dropbear/dropbear_ed25519_host_key");
      const keygen = await execa("dropbearkey", ["-t", "ed25519", "-f", hostKey], { stdin: "ignore" });
      const publicLine = String(keygen.stdout)
        .split("\n")
        .find((line) => line.startsWith("ssh-ed25519 "));
      if (!publicLine) throw new Error(`dropbearkey printed no public key: ${keygen.stdout}`);
      const hostPublicKey = publicLine.split(" ").slice(0, 2).join(" ");
      writeFileSync(path.join(guest, "root/.ssh/authorized_keys"), `${opts.clientPublicKey.trim()}\n`, { mode: 0o600 });
      writeFileSync(path.join(guest, "etc/vm/hostname"), `${spec.name}\n`);
      writeFileSync(path.join(guest, "etc/vm/underlay-address"), `${spec.underlayAddress}\n`);
      writeFileSync(path.join(guest, "etc/vm/underlay-address6"), `${underlayAddress6(spec.underlayAddress)}\n`);
      writeFileSync(path.join(guest, "etc/vm/underlay-mac"), `${underlayMac(spec.underlayAddress)}\n`);
      writeFileSync(path.join(guest, "etc/vm/mgmt-mac"), `${MGMT_MAC}\n`);
      const perVm = path.join(dir, "per-vm.cpio");
      await execa("sh", ["-c", 'find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > "$1"', "sh", perVm], { cwd: guest, stdin: "ignore" });
      rmSync(guest, { recursive: true, force: true });
      // The uncompressed per-VM cpio goes first: the kernel resumes cleanly after an uncompressed
      // archive's trailer, but not reliably after a gzip member (the decompressor may read ahead).
      const initrd = path.join(dir, "initrd.img");
      writeFileSync(initrd, Buffer.concat([readFileSync(perVm), readFileSync(image.initrd)]));
      rmSync(perVm);
      return { hostPublicKey, bootArgs: ["-kernel", image.kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1"] };
    },
  };
}

/** Boots all VMs in parallel and waits until each answers SSH with a working `ip -json link`. On failure, stops them. */
export async function startVmHosts(opts: StartVmHostsOptions): Promise<LabHost[]> {
  validate(opts);
  const image = await ensureVmImage(opts.imageDir ?? defaultImageDir);
  return bootVms(opts, busybox(opts, image));
}
