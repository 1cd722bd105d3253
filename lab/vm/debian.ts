import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { labHost, type LabHost, readLabState, repoRoot, stateDir as defaultStateDir, underlayAddress6 } from "../hosts";
import { alive, bootVms, buildImage, log, run, type StartVmHostsOptions, sshArgs, tail, underlayMac, type VmFlavour, validate, vmRoot } from "./qemu";

/**
 * Lab hosts that boot a real Debian root filesystem (lab/vm/build-debian-image.sh): systemd,
 * systemd-networkd, OpenSSH's sshd, Debian's cloud kernel with all its modules. For tests of
 * what must survive a reboot (devices persisted as systemd-networkd files).
 *
 * Same NICs, qemu and LabHost shape as the busybox VMs (lab/vm/qemu.ts): eth0 = qemu user net
 * with SSH forwarded from 127.0.0.1:<sshPort>, eth1 = a tap on the lab underlay bridge. Differences:
 *   - the root disk is a qcow2 overlay of the shared raw image (stateDir/vm/<name>/disk.qcow2):
 *     the VM's own changes survive its reboots, and go with the lab's teardown;
 *   - qemu runs without -no-reboot, so a guest reboot keeps the qemu process, its port forward,
 *     its tap on the underlay, and its fw_cfg;
 *   - per-VM data (SSH host key, authorized key, eth1's .network file) travels as a tar in qemu's
 *     fw_cfg (opt/netdev/config.tar), unpacked at every boot by netdev-vm-config.service; the
 *     hostname and machine id are on the kernel command line;
 *   - a QMP socket (stateDir/vm/<name>/qmp.sock) allows a hard reset (rebootVmHost's `hard`).
 */

const BUILD_SCRIPT = path.join(repoRoot, "lab", "vm", "build-debian-image.sh");
export const defaultDebianImageDir = process.env.NETDEV_DEBIAN_VM_IMAGE_DIR ?? path.join(repoRoot, "lab", "vm", ".cache", "debian-image");

export interface DebianImage {
  kernel: string;
  initrd: string;
  rootfs: string;
}

/** Builds (or reuses) the Debian image in cacheDir; progress goes to stderr. */
export async function ensureDebianVmImage(cacheDir: string = defaultDebianImageDir): Promise<DebianImage> {
  return buildImage(BUILD_SCRIPT, cacheDir, { kernel: "vmlinuz", initrd: "initrd.img", rootfs: "rootfs.img" });
}

function debian(opts: StartVmHostsOptions, image: DebianImage): VmFlavour {
  return {
    label: "Debian",
    flavour: "debian",
    defaultMemoryMiB: 512,
    defaultBootTimeoutMs: 300_000,
    smp: process.env.NETDEV_DEBIAN_VM_SMP ?? "1",
    onReboot: "restart",
    async prepare(spec, dir) {
      // Per-VM data for fw_cfg: OpenSSH host key made here (so we know the public key), authorized
      // key, and eth1's .network file (matched by MAC, as the busybox VMs match their NICs).
      const config = path.join(dir, "config");
      mkdirSync(config, { mode: 0o700 });
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${spec.name}-hostkey`, "-f", path.join(config, "ssh_host_ed25519_key")]);
      const hostPublicKey = readFileSync(path.join(config, "ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
      writeFileSync(path.join(config, "authorized_keys"), `${opts.clientPublicKey.trim()}\n`, { mode: 0o600 });
      writeFileSync(
        path.join(config, "underlay.network"),
        [
          "# netdev lab: the underlay NIC (written at boot by netdev-vm-config from qemu fw_cfg)",
          "[Match]",
          // Not MACAddress=: a VLAN or ipvlan on eth1 shares its MAC, and networkd would give it
          // the underlay address too (and drop its own). Only the NIC has a permanent address.
          `PermanentMACAddress=${underlayMac(spec.underlayAddress)}`,
          "",
          "[Network]",
          `Address=${spec.underlayAddress}/24`,
          `Address=${underlayAddress6(spec.underlayAddress)}/64`,
          "IPv6AcceptRA=no",
          "",
        ].join("\n"),
      );
      // The same for NetworkManager (used instead of networkd once useNetwork() switched the VM).
      writeFileSync(
        path.join(config, "underlay.nmconnection"),
        [
          "# netdev lab: the underlay NIC (written at boot by netdev-vm-config from qemu fw_cfg)",
          "[connection]",
          "id=netdev-underlay",
          "type=ethernet",
          "",
          "[ethernet]",
          `mac-address=${underlayMac(spec.underlayAddress)}`,
          "",
          "[ipv4]",
          "method=manual",
          `address1=${spec.underlayAddress}/24`,
          "",
          "[ipv6]",
          "method=manual",
          `address1=${underlayAddress6(spec.underlayAddress)}/64`,
          "",
        ].join("\n"),
      );
      const configTar = path.join(dir, "config.tar");
      await run("tar", [
        "-cf",
        configTar,
        "--owner=0",
        "--group=0",
        "-C",
        config,
        "ssh_host_ed25519_key",
        "authorized_keys",
        "underlay.network",
        "underlay.nmconnection",
      ]);
      rmSync(config, { recursive: true, force: true });

      // Copy-on-write overlay: the VM's writes stay in its directory; the shared image is never written.
      const disk = path.join(dir, "disk.qcow2");
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", path.resolve(image.rootfs), "-F", "raw", disk]);
      const cmdline = [
        "root=/dev/vda",
        "rw",
        "console=ttyS0",
        "panic=-1",
        "net.ifnames=0",
        ...(process.env.NETDEV_DEBIAN_VM_QUIET === "0" ? [] : ["quiet", "systemd.show_status=error"]),
        `systemd.hostname=${spec.name}`,
        `systemd.machine_id=${randomBytes(16).toString("hex")}`,
      ].join(" ");
      const bootArgs = [
        "-kernel",
        image.kernel,
        "-initrd",
        image.initrd,
        "-append",
        cmdline,
        "-fw_cfg",
        `name=opt/netdev/config.tar,file=${configTar}`,
        // cache=unsafe: flushes are not forced to the host disk. The qemu process outlives guest
        // reboots, so nothing the guest wrote is lost unless qemu itself dies (then the lab is gone too).
        "-drive",
        `file=${disk},if=none,id=root,format=qcow2,cache=unsafe,discard=unmap`,
        "-device",
        "virtio-blk-pci,drive=root,addr=0x5",
      ];
      return { hostPublicKey, bootArgs };
    },
  };
}

/**
 * Boots Debian VMs in parallel (same options as startVmHosts; imageDir defaults to the Debian
 * image cache, memory to 512 MiB, the boot timeout to $NETDEV_VM_BOOT_TIMEOUT_MS or 300 s) and
 * waits until each answers SSH. On failure, stops them. stopVmHosts / labDown stop them too.
 */
export async function startDebianVmHosts(opts: StartVmHostsOptions): Promise<LabHost[]> {
  validate(opts);
  const image = await ensureDebianVmImage(opts.imageDir ?? defaultDebianImageDir);
  return bootVms(opts, debian(opts, image));
}

type QmpCommand = string | { execute: string; arguments: Record<string, unknown> };

/** Sends QMP commands over the VM's socket; resolves with each command's "return". */
async function qmp(socketPath: string, commands: QmpCommand[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const results: unknown[] = [];
    let buffer = "";
    let sent = -1; // -1: waiting for the greeting
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QMP ${socketPath}: no answer in 10 s`));
    }, 10_000);
    const next = () => {
      sent++;
      const all: QmpCommand[] = ["qmp_capabilities", ...commands];
      if (sent < all.length) {
        const command = all[sent];
        socket.write(`${JSON.stringify(typeof command === "string" ? { execute: command } : command)}\n`);
      } else {
        clearTimeout(timer);
        socket.end();
        resolve(results.slice(1));
      }
    };
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
        if (message.event) continue;
        if (message.error) {
          clearTimeout(timer);
          socket.destroy();
          reject(new Error(`QMP ${socketPath}: ${message.error.desc}`));
          return;
        }
        if (message.QMP !== undefined && sent === -1) next();
        else if (message.return !== undefined) {
          results.push(message.return);
          next();
        }
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** What configures a Debian VM's network: systemd-networkd (as booted) or NetworkManager. */
export type DebianVmNetwork = "networkd" | "networkmanager";

const NETWORKD_UNITS = "systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service";
const NETWORKMANAGER_UNITS = "NetworkManager.service NetworkManager-wait-online.service";

/**
 * Makes a Debian VM lab host boot with `network` configuring its NICs (the other one disabled,
 * as on a host that runs only that one) and reboots it into it. The image has both; eth0 and eth1
 * get the same addresses either way. Returns the reboot's times.
 */
export async function useNetwork(name: string, network: DebianVmNetwork, options: Omit<RebootOptions, "request" | "hard"> = {}): Promise<RebootResult> {
  const [off, on] = network === "networkmanager" ? [NETWORKD_UNITS, NETWORKMANAGER_UNITS] : [NETWORKMANAGER_UNITS, NETWORKD_UNITS];
  return rebootVmHost(name, { ...options, request: `systemctl disable -q ${off} && systemctl enable -q ${on} && systemctl reboot` });
}

export interface RebootResult {
  /** From the reboot request until SSH answers again with a new boot id. */
  sshMs: number;
  /** From the reboot request until `systemctl is-system-running --wait` returns (running or degraded). */
  readyMs: number;
  /** What `systemctl is-system-running --wait` printed. */
  systemState: string;
  bootIdBefore: string;
  bootIdAfter: string;
  /**
   * Set when the guest had finished its shutdown (the kernel's "reboot: Restarting system" on the
   * console) and then showed no sign of a new boot for `stallMs`, so qemu was reset over QMP: what
   * qemu said the virtual CPU was doing before that reset.
   */
  resetAfterStall?: string;
}

export interface RebootOptions {
  /** Lab state directory (default: the lab's, $NETDEV_LAB_STATE_DIR or lab/.state). */
  stateDir?: string;
  /** qemu `system_reset` over QMP (a power cycle: the guest does not shut down) instead of `systemctl reboot`. */
  hard?: boolean;
  /** Default 300 000 ms. */
  timeoutMs?: number;
  /**
   * How long the console may stay silent after the guest's "reboot: Restarting system" before qemu is
   * reset (once). Default $NETDEV_DEBIAN_VM_REBOOT_STALL_MS or 90 000 ms; a quiet boot prints its
   * first line ~15 s after the reset here, a minute on a loaded CI machine.
   */
  stallMs?: number;
  /**
   * The guest command that asks for the reboot (default `systemctl reboot`). A test of the stall
   * watch passes one that only prints the kernel's restart line, as a guest whose reset never came.
   */
  request?: string;
}

/** One line for a test's output: how long the reboot took, and the reset after a stall if there was one. */
export function describeReboot(name: string, reboot: RebootResult): string {
  const stall = reboot.resetAfterStall ? `; silent after the kernel's restart line, reset over QMP (${reboot.resetAfterStall})` : "";
  return `${name}: reboot: SSH back after ${(reboot.sshMs / 1000).toFixed(1)} s, system ${reboot.systemState} after ${(reboot.readyMs / 1000).toFixed(1)} s${stall}`;
}

/** The kernel's last line before it asks the machine to reset (kernel/reboot.c). */
const RESTARTING = "reboot: Restarting system";

/**
 * Whether the last line the console printed after byte `offset` is the kernel's restart line: the
 * guest is then past its shutdown and waiting for the machine to reset.
 */
export function restartingSince(output: Buffer, offset: number): boolean {
  const lines = output
    .subarray(offset)
    .toString("utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length > 0 && lines[lines.length - 1].endsWith(RESTARTING);
}

/** qemu's run state and the registers that say where a stuck virtual CPU is (firmware, kernel, halted). */
async function describeCpu(socketPath: string): Promise<string> {
  try {
    const [status, registers] = await qmp(socketPath, ["query-status", { execute: "human-monitor-command", arguments: { "command-line": "info registers" } }]);
    const text = String(registers);
    const field = (name: string) => new RegExp(`\\b${name}\\s*=\\s*(\\S+)`).exec(text)?.[1] ?? "?";
    return `qemu ${(status as { status?: string }).status ?? "?"}, RIP=${field("RIP")} CS=${field("CS")} HLT=${field("HLT")} CR0=${field("CR0")}`;
  } catch (error) {
    return `qemu did not say (${(error as Error).message})`;
  }
}

/**
 * Reboots a Debian VM lab host and waits until it is back: SSH answers (with the same host key:
 * known_hosts is strict) with a new /proc/sys/kernel/random/boot_id, then systemd has finished
 * booting. Returns the times it took.
 *
 * Under TCG a guest that printed "reboot: Restarting system" has, rarely, never come back (CI:
 * 300 s of silence after it, the guest's second reboot of that boot). The guest's shutdown is
 * complete by then, so the machine reset it asked for is given once more over QMP, what qemu says
 * the CPU was doing is logged and returned, and the wait goes on.
 */
export async function rebootVmHost(name: string, options: RebootOptions = {}): Promise<RebootResult> {
  const dir = options.stateDir ?? defaultStateDir;
  const host = labHost(readLabState(path.join(dir, "hosts.json")), name);
  if (host.kind !== "vm" || host.flavour !== "debian")
    throw new Error(`${name} is not a Debian VM lab host (kind ${host.kind}, flavour ${host.flavour ?? "busybox"})`);
  const vmDir = path.join(vmRoot(dir), name);
  const knownHosts = path.join(vmDir, "known_hosts");
  const consoleLog = path.join(vmDir, "console.log");
  const qmpSocket = path.join(vmDir, "qmp.sock");
  const timeoutMs = options.timeoutMs ?? 300_000;
  const stallMs = options.stallMs ?? Number(process.env.NETDEV_DEBIAN_VM_REBOOT_STALL_MS ?? 90_000);
  const ssh = (command: string, timeout = 20_000) =>
    execa("ssh", [...sshArgs({ port: host.port }, host.privateKeyPath, knownHosts), "-o", "ConnectTimeout=5", command], {
      stdin: "ignore",
      reject: false,
      timeout,
    });
  const bootId = async (): Promise<string | undefined> => {
    const result = await ssh("cat /proc/sys/kernel/random/boot_id", 15_000);
    return result.exitCode === 0 ? String(result.stdout).trim() : undefined;
  };
  const consoleBytes = () => (existsSync(consoleLog) ? statSync(consoleLog).size : 0);
  const request = options.request ?? "systemctl reboot";
  const before = await bootId();
  if (!before) throw new Error(`${name}: no SSH before the reboot`);
  const consoleOffset = consoleBytes();
  const started = Date.now();
  const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (options.hard) await qmp(qmpSocket, ["system_reset"]);
  else await ssh(request, 30_000); // the connection may drop before it answers: not checked
  log(`${name}: ${options.hard ? "system_reset sent" : `${request} returned`} after ${since()}`);
  const deadline = started + timeoutMs;
  let after: string | undefined;
  let consoleLength = consoleOffset;
  let consoleChanged = Date.now();
  let resetAfterStall: string | undefined;
  for (;;) {
    if (host.pid && !alive(host.pid)) throw new Error(`${name}: qemu ${host.pid} exited during the reboot; console:\n${tail(consoleLog)}`);
    after = await bootId();
    if (after && after !== before) break;
    if (after) log(`${name}: still the old boot ${since()} after the reboot request`);
    const length = consoleBytes();
    if (length !== consoleLength) {
      consoleLength = length;
      consoleChanged = Date.now();
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${name}: not back ${timeoutMs} ms after the reboot${resetAfterStall ? ` (reset over QMP after a stall: ${resetAfterStall})` : ""}; ${await describeCpu(qmpSocket)}; console:\n${tail(consoleLog)}`,
      );
    }
    if (!resetAfterStall && Date.now() - consoleChanged > stallMs && restartingSince(readFileSync(consoleLog), consoleOffset)) {
      resetAfterStall = await describeCpu(qmpSocket);
      log(
        `${name}: nothing on the console ${((Date.now() - consoleChanged) / 1000).toFixed(0)} s after "${RESTARTING}" (${resetAfterStall}); resetting it over QMP`,
      );
      await qmp(qmpSocket, ["system_reset"]);
      consoleChanged = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const sshMs = Date.now() - started;
  log(`${name}: ssh back (new boot id) after ${since()}`);
  const state = await ssh("systemctl is-system-running --wait", Math.max(10_000, deadline - Date.now()));
  const systemState = String(state.stdout).trim();
  if (systemState !== "running" && systemState !== "degraded")
    throw new Error(`${name}: after the reboot, systemctl is-system-running --wait said ${JSON.stringify(systemState)} (${String(state.stderr).trim()})`);
  return { sshMs, readyMs: Date.now() - started, systemState, bootIdBefore: before, bootIdAfter: after, ...(resetAfterStall ? { resetAfterStall } : {}) };
}
