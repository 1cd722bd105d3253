import { execa } from "execa";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type LabHost, underlayAddress6 } from "../hosts";

/**
 * What every lab VM shares, whatever it boots (the busybox initramfs of lab/vm/index.ts or the
 * Debian root filesystem of lab/vm/debian.ts): its directory and record under stateDir/vm/<name>,
 * the qemu command line (TCG, serial console to a file, daemonized), its two NICs, the tap moved
 * onto the lab underlay, the wait for SSH, and stopping it.
 *   eth0: qemu user networking (restrict=on), only for SSH: 127.0.0.1:<sshPort> -> guest :22;
 *   eth1: a tap whose host end is a port of the underlay bridge inside the underlay namespace,
 *         with <underlayAddress>/24.
 */

export interface VmHostSpec {
  name: string;
  /** e.g. 10.247.0.101: a host of the lab's underlay 10.247.<octet>.0/24 (lab.ts picks the octet) */
  underlayAddress: string;
  /** SSH port forwarded on 127.0.0.1 */
  sshPort: number;
}

export interface StartVmHostsOptions {
  /** Per-VM files (pid file, console log, host key, tap name) go under stateDir/vm/<name>/. */
  stateDir: string;
  /** OpenSSH public key line authorized for root in every VM. */
  clientPublicKey: string;
  /** Goes into LabHost.privateKeyPath; also used to probe SSH. */
  clientKeyPath: string;
  /** Existing network namespace holding the underlay bridge. */
  underlayNetns: string;
  /** The bridge (in underlayNetns) the VMs' taps are enslaved to. */
  underlayBridge: string;
  hosts: VmHostSpec[];
  /** Guest memory; the flavour's default when absent. */
  memoryMiB?: number;
  /** Image cache directory; the flavour's default when absent. */
  imageDir?: string;
  /** How long to wait for each VM's SSH; default $NETDEV_VM_BOOT_TIMEOUT_MS or the flavour's. */
  bootTimeoutMs?: number;
}

/** What stopVmHosts needs to clean up a VM, written before anything is created. */
export interface VmRecord {
  name: string;
  tap: string;
  underlayNetns: string;
  underlayBridge: string;
  sshPort: number;
  underlayAddress: string;
  flavour?: "debian";
}

const QEMU = "qemu-system-x86_64";
/** eth0 of every lab VM (qemu user net); the Debian image matches its .network file on it. */
export const MGMT_MAC = "52:54:00:12:34:56";
export const UNDERLAY_INTERFACE = "eth1";

export function log(message: string): void {
  process.stderr.write(`lab/vm: ${message}\n`);
}

/** Runs an image build script (`<script> <outdir>`, progress on stderr) and checks it left `files` in outdir. */
export async function buildImage<F extends string>(script: string, cacheDir: string, files: Record<F, string>): Promise<Record<F, string>> {
  const dir = path.resolve(cacheDir);
  const result = await execa("bash", [script, dir], { stdin: "ignore", stdout: "inherit", stderr: "inherit", reject: false });
  if (result.exitCode !== 0) throw new Error(`${script} ${dir} failed (exit ${result.exitCode}); see its output above`);
  const image = Object.fromEntries(Object.entries<string>(files).map(([key, file]) => [key, path.join(dir, file)])) as Record<F, string>;
  for (const file of Object.values<string>(image)) if (!existsSync(file)) throw new Error(`${script} left no ${file}`);
  return image;
}

/** Tap name: `<lab prefix>-<vm name>` when it fits IFNAMSIZ, else a hash; unique per underlay namespace. */
export function tapName(underlayNetns: string, vmName: string): string {
  const readable = `${underlayNetns.replace(/-ul$/, "")}-${vmName}`;
  if (readable.length <= 15 && /^[A-Za-z0-9_.-]+$/.test(readable)) return readable;
  return `ndvm${createHash("sha256").update(`${underlayNetns}/${vmName}`).digest("hex").slice(0, 10)}`;
}

export function underlayMac(address: string): string {
  return `52:54:${address
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join(":")}`;
}

export async function ip(args: string[], allowFailure = false): Promise<void> {
  const result = await execa("ip", args, { stdin: "ignore", reject: false });
  if (result.exitCode !== 0 && !allowFailure) throw new Error(`ip ${args.join(" ")} failed: ${String(result.stderr).trim()}`);
}

/** Runs a tool on this machine; throws with its stderr when it fails. */
export async function run(file: string, args: string[], cwd?: string): Promise<string> {
  const result = await execa(file, args, { stdin: "ignore", reject: false, cwd });
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(" ")} failed (exit ${result.exitCode}): ${String(result.stderr).trim()}`);
  return String(result.stdout);
}

/**
 * stateDir/vm with symbolic links resolved: qemu's command line names its files by this path, and
 * stopping a VM finds its qemu by it, also from a checkout whose state directory is a link to
 * another's.
 */
export function vmRoot(stateDir: string): string {
  const dir = path.resolve(stateDir);
  return path.join(existsSync(dir) ? realpathSync(dir) : dir, "vm");
}

export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no file)";
  }
}

/** A process that exists and is not a zombie (a daemonized qemu is reparented; nobody may reap it). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** qemu processes whose command line names a file under dir (their pid file, console, initrd). */
function qemuPidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = cmdline(Number(entry));
    if (args.length && path.basename(args[0]).startsWith("qemu-system") && args.some((arg) => arg.includes(`${dir}/`))) pids.push(Number(entry));
  }
  return pids;
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`qemu processes ${pids.filter(alive).join(", ")} did not exit after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills the qemu of one VM directory (stateDir/vm/<name>), removes its tap and the directory. */
export async function stopOne(dir: string): Promise<void> {
  const pids = new Set(qemuPidsUnder(dir));
  const pidFile = path.join(dir, "qemu.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (pid > 0 && cmdline(pid).some((arg) => arg.includes(`${dir}/`))) pids.add(pid);
  }
  await killAndWait([...pids]);
  // qemu made the tap non-persistent, so it vanished with qemu; these catch leftovers.
  const recordFile = path.join(dir, "vm.json");
  if (existsSync(recordFile)) {
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as VmRecord;
    await ip(["link", "del", record.tap], true);
    await ip(["-n", record.underlayNetns, "link", "del", record.tap], true);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Kills every qemu started under stateDir (pid files, then a /proc scan), removes taps and stateDir/vm. Idempotent. */
export async function stopVmHosts(stateDir: string): Promise<void> {
  const root = vmRoot(stateDir);
  if (existsSync(root)) {
    for (const name of readdirSync(root)) await stopOne(path.join(root, name));
  }
  // A crash could leave a qemu whose directory is gone: match any qemu naming a file under root.
  await killAndWait(qemuPidsUnder(root));
  rmSync(root, { recursive: true, force: true });
}

/** OpenSSH's argv (before the command) for a lab VM: its pinned key only, never a prompt, bounded connect. */
export function sshArgs(host: { port: number; address?: string; username?: string }, keyPath: string, knownHosts: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    keyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(host.port),
    `${host.username ?? "root"}@${host.address ?? "127.0.0.1"}`,
  ];
}

/**
 * Waits until the VM answers SSH with a working `ip -json link show` that lists eth1; throws
 * (with the console's tail) when qemu dies or the deadline passes.
 */
async function waitForVmSsh(opts: {
  name: string;
  sshPort: number;
  pid: number;
  clientKeyPath: string;
  knownHosts: string;
  consoleLog: string;
  qemuLog: string;
  deadline: number;
  timeoutMs: number;
}): Promise<void> {
  let lastError = "";
  for (;;) {
    if (!alive(opts.pid))
      throw new Error(`${opts.name}: qemu ${opts.pid} exited while booting; console:\n${tail(opts.consoleLog)}\nqemu: ${tail(opts.qemuLog, 5)}`);
    const probe = await execa("ssh", [...sshArgs({ port: opts.sshPort }, opts.clientKeyPath, opts.knownHosts), "ip -json link show"], {
      stdin: "ignore",
      reject: false,
      timeout: 30_000,
    });
    if (probe.exitCode === 0) {
      try {
        const links = JSON.parse(String(probe.stdout)) as { ifname: string }[];
        if (links.some((link) => link.ifname === UNDERLAY_INTERFACE)) return;
        lastError = `no ${UNDERLAY_INTERFACE} in ${String(probe.stdout).slice(0, 200)}`;
      } catch (error) {
        lastError = `ip -json link show printed no JSON: ${(error as Error).message}`;
      }
    } else {
      lastError = String(probe.stderr).trim() || `ssh exit ${probe.exitCode}`;
    }
    if (Date.now() > opts.deadline) {
      throw new Error(`${opts.name}: no SSH on 127.0.0.1:${opts.sshPort} after ${opts.timeoutMs} ms (${lastError}); console:\n${tail(opts.consoleLog)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function validate(opts: Pick<StartVmHostsOptions, "hosts">): void {
  if (process.getuid?.() !== 0) throw new Error("VM lab hosts need root (tap devices, network namespaces)");
  const seen = new Set<string>();
  for (const host of opts.hosts) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(host.name)) throw new Error(`bad VM name ${JSON.stringify(host.name)}`);
    const octets = /^10\.247\.(\d{1,3})\.(\d{1,3})$/.exec(host.underlayAddress);
    if (!octets || Number(octets[1]) > 254 || Number(octets[2]) < 1 || Number(octets[2]) > 254) {
      throw new Error(`${host.name}: underlay address ${host.underlayAddress} is not a host of a lab underlay 10.247.<octet>.0/24`);
    }
    if (!Number.isInteger(host.sshPort) || host.sshPort < 1024 || host.sshPort > 65_535) throw new Error(`${host.name}: bad sshPort ${host.sshPort}`);
    for (const key of [`n:${host.name}`, `a:${host.underlayAddress}`, `p:${host.sshPort}`]) {
      if (seen.has(key)) throw new Error(`duplicate VM ${key.slice(2)}`);
      seen.add(key);
    }
  }
}

/** What a VM flavour puts on the shared qemu command line and into its LabHost. */
export interface VmFlavour {
  /** For log lines and errors, e.g. "Debian". */
  label?: string;
  /** LabHost.flavour and VmRecord.flavour; absent for the busybox VMs. */
  flavour?: "debian";
  defaultMemoryMiB: number;
  defaultBootTimeoutMs: number;
  smp?: string;
  /**
   * "exit": a guest reboot ends qemu (-no-reboot). "restart": qemu keeps running across guest
   * reboots (its port forward, tap and fw_cfg stay), and listens for QMP on <dir>/qmp.sock.
   */
  onReboot: "exit" | "restart";
  /**
   * Writes the VM's own files into dir (host key, whatever carries its configuration) and says how
   * it boots: the host's public SSH key and the qemu arguments for kernel, initrd, disks, fw_cfg.
   */
  prepare(spec: VmHostSpec, dir: string): Promise<{ hostPublicKey: string; bootArgs: string[] }>;
}

async function bootVm(spec: VmHostSpec, opts: StartVmHostsOptions, flavour: VmFlavour, timeoutMs: number): Promise<LabHost> {
  const dir = path.join(vmRoot(opts.stateDir), spec.name);
  const started = Date.now();
  await stopOne(dir); // leftovers of an earlier run under the same name
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const record: VmRecord = {
    name: spec.name,
    tap: tapName(opts.underlayNetns, spec.name),
    underlayNetns: opts.underlayNetns,
    underlayBridge: opts.underlayBridge,
    sshPort: spec.sshPort,
    underlayAddress: spec.underlayAddress,
    ...(flavour.flavour ? { flavour: flavour.flavour } : {}),
  };
  writeFileSync(path.join(dir, "vm.json"), `${JSON.stringify(record, null, 2)}\n`);
  await ip(["link", "del", record.tap], true);
  await ip(["-n", opts.underlayNetns, "link", "del", record.tap], true);

  const { hostPublicKey, bootArgs } = await flavour.prepare(spec, dir);
  writeFileSync(path.join(dir, "host_ed25519_key.pub"), `${hostPublicKey}\n`);
  const knownHosts = path.join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${spec.sshPort} ${hostPublicKey}\n`);
  const consoleLog = path.join(dir, "console.log");
  const qemuLog = path.join(dir, "qemu.log");
  const pidFile = path.join(dir, "qemu.pid");
  const args = [
    "-name",
    spec.name,
    "-accel",
    "tcg",
    "-m",
    String(opts.memoryMiB ?? flavour.defaultMemoryMiB),
    "-smp",
    flavour.smp ?? "1",
    "-display",
    "none",
    "-vga",
    "none",
    "-monitor",
    "none",
    "-parallel",
    "none",
    "-serial",
    `file:${consoleLog}`,
    ...(flavour.onReboot === "exit" ? ["-no-reboot"] : ["-qmp", `unix:${path.join(dir, "qmp.sock")},server=on,wait=off`]),
    "-daemonize",
    "-pidfile",
    pidFile,
    ...bootArgs,
    // Fixed PCI slots: eth0 (mgmt) probes before eth1 (underlay), so the guest's kernel names
    // them in that order; the busybox init also renames them by MAC.
    "-netdev",
    `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    "-device",
    `virtio-net-pci,netdev=mgmt,mac=${MGMT_MAC},addr=0x3`,
    "-netdev",
    `tap,id=ul,ifname=${record.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=ul,mac=${underlayMac(spec.underlayAddress)},addr=0x4`,
    "-device",
    "virtio-rng-pci,addr=0x6",
  ];
  // -daemonize: returns once the VM runs; the daemon is in its own session and outlives us.
  const result = await execa(QEMU, args, { stdin: "ignore", stdout: "ignore", stderr: { file: qemuLog }, reject: false });
  if (result.exitCode !== 0) throw new Error(`${spec.name}: ${QEMU} failed (exit ${result.exitCode}): ${tail(qemuLog)}`);
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  // qemu created the tap (non-persistent: it goes away with qemu) in this namespace; move it
  // onto the underlay. `ip link set … netns NS master BR` in one command fails: master is
  // looked up in the current namespace.
  await ip(["link", "set", record.tap, "netns", opts.underlayNetns]);
  await ip(["-n", opts.underlayNetns, "link", "set", record.tap, "master", opts.underlayBridge, "up"]);
  log(`${spec.name}: qemu ${pid} booting${flavour.label ? ` ${flavour.label}` : ""} (console: ${consoleLog})`);

  await waitForVmSsh({
    name: spec.name,
    sshPort: spec.sshPort,
    pid,
    clientKeyPath: opts.clientKeyPath,
    knownHosts,
    consoleLog,
    qemuLog,
    deadline: started + timeoutMs,
    timeoutMs,
  });
  log(`${spec.name}: ssh up on 127.0.0.1:${spec.sshPort} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    name: spec.name,
    kind: "vm",
    ...(flavour.flavour ? { flavour: flavour.flavour } : {}),
    address: "127.0.0.1",
    port: spec.sshPort,
    username: "root",
    privateKeyPath: opts.clientKeyPath,
    hostPublicKey,
    underlayAddress: spec.underlayAddress,
    underlayAddress6: underlayAddress6(spec.underlayAddress),
    underlayInterface: UNDERLAY_INTERFACE,
    pid,
  };
}

/**
 * Boots all VMs of one flavour in parallel and waits until each answers SSH with a working
 * `ip -json link`. On failure, stops them. The image must be built first (validate, then build).
 */
export async function bootVms(opts: StartVmHostsOptions, flavour: VmFlavour): Promise<LabHost[]> {
  mkdirSync(vmRoot(opts.stateDir), { recursive: true });
  const timeoutMs = opts.bootTimeoutMs ?? Number(process.env.NETDEV_VM_BOOT_TIMEOUT_MS ?? flavour.defaultBootTimeoutMs);
  const results = await Promise.allSettled(opts.hosts.map((spec) => bootVm(spec, opts, flavour, timeoutMs)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) {
    for (const spec of opts.hosts) await stopOne(path.join(vmRoot(opts.stateDir), spec.name)).catch(() => undefined);
    const what = flavour.label ? `${flavour.label} VM hosts` : "VM hosts";
    throw new Error(`starting ${what} failed:\n${failures.map((f) => (f.reason as Error).message ?? String(f.reason)).join("\n\n")}`);
  }
  return results.map((r) => (r as PromiseFulfilledResult<LabHost>).value);
}
