import { execa } from "execa";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type LabHost, repoRoot, underlayAddress6 } from "../hosts";

/**
 * Lab hosts that are qemu VMs (TCG) running Debian's cloud kernel with a busybox initramfs
 * (lab/vm/build-image.sh), for the device kinds this machine's kernel lacks (vlan, ipvlan,
 * geneve, gre). Each VM has two NICs:
 *   eth0: qemu user networking (restrict=on), only for SSH: 127.0.0.1:<sshPort> -> guest :22;
 *   eth1: a tap whose host end is a port of the underlay bridge inside the underlay namespace,
 *         with <underlayAddress>/24.
 * Per-VM data (dropbear host key, authorized key, addresses) travels in a small cpio placed in
 * front of the shared image's initrd, so the image is built once and shared by all VMs.
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
  /** Guest memory; default 256. */
  memoryMiB?: number;
  /** Image cache directory; default $NETDEV_VM_IMAGE_DIR or lab/vm/.cache/image. */
  imageDir?: string;
  /** How long to wait for each VM's SSH; default $NETDEV_VM_BOOT_TIMEOUT_MS or 180 000 ms. */
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
}

const BUILD_SCRIPT = path.join(repoRoot, "lab", "vm", "build-image.sh");
export const defaultImageDir = process.env.NETDEV_VM_IMAGE_DIR ?? path.join(repoRoot, "lab", "vm", ".cache", "image");
const QEMU = "qemu-system-x86_64";
/** eth0 of every lab VM (qemu user net); the Debian image matches its .network file on it. */
export const MGMT_MAC = "52:54:00:12:34:56";
export const UNDERLAY_INTERFACE = "eth1";

export function log(message: string): void {
  process.stderr.write(`lab/vm: ${message}\n`);
}

/** Builds (or reuses) the VM image in cacheDir; progress goes to stderr. */
export async function ensureVmImage(cacheDir: string = defaultImageDir): Promise<{ kernel: string; initrd: string }> {
  const dir = path.resolve(cacheDir);
  const result = await execa("bash", [BUILD_SCRIPT, dir], { stdin: "ignore", stdout: "inherit", stderr: "inherit", reject: false });
  if (result.exitCode !== 0) throw new Error(`${BUILD_SCRIPT} ${dir} failed (exit ${result.exitCode}); see its output above`);
  const image = { kernel: path.join(dir, "vmlinuz"), initrd: path.join(dir, "initrd.img") };
  for (const file of Object.values(image)) if (!existsSync(file)) throw new Error(`${BUILD_SCRIPT} left no ${file}`);
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

export function sshArgs(host: { port: number }, keyPath: string, knownHosts: string): string[] {
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
    "root@127.0.0.1",
  ];
}

/**
 * Waits until the VM answers SSH with a working `ip -json link show` that lists eth1; throws
 * (with the console's tail) when qemu dies or the deadline passes.
 */
export async function waitForVmSsh(opts: {
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

async function bootOne(spec: VmHostSpec, opts: StartVmHostsOptions, image: { kernel: string; initrd: string }, timeoutMs: number): Promise<LabHost> {
  const dir = path.join(vmRoot(opts.stateDir), spec.name);
  const started = Date.now();
  await stopOne(dir); // leftovers of an earlier run under the same name
  mkdirSync(dir, { recursive: true });
  const record: VmRecord = {
    name: spec.name,
    tap: tapName(opts.underlayNetns, spec.name),
    underlayNetns: opts.underlayNetns,
    underlayBridge: opts.underlayBridge,
    sshPort: spec.sshPort,
    underlayAddress: spec.underlayAddress,
  };
  writeFileSync(path.join(dir, "vm.json"), `${JSON.stringify(record, null, 2)}\n`);
  await ip(["link", "del", record.tap], true);
  await ip(["-n", opts.underlayNetns, "link", "del", record.tap], true);

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
  writeFileSync(path.join(dir, "host_ed25519_key.pub"), `${hostPublicKey}\n`);
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

  const knownHosts = path.join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${spec.sshPort} ${hostPublicKey}\n`);
  const consoleLog = path.join(dir, "console.log");
  const pidFile = path.join(dir, "qemu.pid");
  const args = [
    "-name",
    spec.name,
    "-accel",
    "tcg",
    "-m",
    String(opts.memoryMiB ?? 256),
    "-smp",
    "1",
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
    "-no-reboot",
    "-daemonize",
    "-pidfile",
    pidFile,
    "-kernel",
    image.kernel,
    "-initrd",
    initrd,
    "-append",
    "console=ttyS0 panic=-1",
    "-nic",
    `user,model=virtio-net-pci,restrict=on,mac=${MGMT_MAC},hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    "-netdev",
    `tap,id=ul,ifname=${record.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=ul,mac=${underlayMac(spec.underlayAddress)}`,
    "-device",
    "virtio-rng-pci",
  ];
  const qemuLog = path.join(dir, "qemu.log");
  // -daemonize: returns once the VM runs; the daemon is in its own session and outlives us.
  const result = await execa(QEMU, args, { stdin: "ignore", stdout: "ignore", stderr: { file: qemuLog }, reject: false });
  if (result.exitCode !== 0) throw new Error(`${spec.name}: ${QEMU} failed (exit ${result.exitCode}): ${tail(qemuLog)}`);
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  // qemu created the tap (non-persistent: it goes away with qemu) in this namespace; move it
  // onto the underlay. `ip link set … netns NS master BR` in one command fails: master is
  // looked up in the current namespace.
  await ip(["link", "set", record.tap, "netns", opts.underlayNetns]);
  await ip(["-n", opts.underlayNetns, "link", "set", record.tap, "master", opts.underlayBridge, "up"]);
  log(`${spec.name}: qemu ${pid} booting (console: ${consoleLog})`);

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

/** Boots all VMs in parallel and waits until each answers SSH with a working `ip -json link`. On failure, stops them. */
export async function startVmHosts(opts: StartVmHostsOptions): Promise<LabHost[]> {
  validate(opts);
  const image = await ensureVmImage(opts.imageDir ?? defaultImageDir);
  mkdirSync(vmRoot(opts.stateDir), { recursive: true });
  const timeoutMs = opts.bootTimeoutMs ?? Number(process.env.NETDEV_VM_BOOT_TIMEOUT_MS ?? 180_000);
  const results = await Promise.allSettled(opts.hosts.map((spec) => bootOne(spec, opts, image, timeoutMs)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) {
    for (const spec of opts.hosts) await stopOne(path.join(vmRoot(opts.stateDir), spec.name)).catch(() => undefined);
    throw new Error(`starting VM hosts failed:\n${failures.map((f) => (f.reason as Error).message ?? String(f.reason)).join("\n\n")}`);
  }
  return results.map((r) => (r as PromiseFulfilledResult<LabHost>).value);
}
