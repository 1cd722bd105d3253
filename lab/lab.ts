import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { hostsFile, type LabHost, type LabState, stateDir as defaultStateDir, underlayAddress6 } from "./hosts";
import { restoreSharedKernel, sizeSharedKernel } from "./shared-kernel";
import { claimLab, refuseForeignOwner, releaseLab } from "./owner";
import { ipIn, run, waitFor } from "./run";
import { labSudoInPlace, ROOT_REFUSED_PORT, rootRefusedSshdConfig, setUpLabSudo, tearDownLabSudo } from "./sudo-users";

/**
 * The lab: N SSH hosts on this machine, each a network namespace running its own sshd,
 * joined by an underlay bridge that lives in a namespace of its own. One veth pair joins
 * the root namespace to the underlay so tests can reach every host's sshd.
 *
 *   root ns: <prefix>0 10.247.0.1 ──┐      (addresses for the default subnetOctet 0)
 *   <prefix>-ul: bridge ul0 ────────┼── h1 ── <prefix>-h1: eth0 10.247.0.11, sshd
 *                                   ├── h2 ── <prefix>-h2: eth0 10.247.0.12, sshd
 *                                   └── …
 *   <prefix>-j1: eth0 10.247.1.2, sshd, reachable only through h1 (jump0 10.247.1.1)
 *   vm1, vm2, …: qemu VMs (busybox initramfs) at 10.247.0.101…, SSH on 127.0.0.1:22470…
 *   dvm1, …: qemu VMs booting Debian with systemd-networkd at 10.247.0.201…, SSH on 127.0.0.1:22370…
 *
 * Each sshd runs in a private mount namespace with its own /run/netns, so namespaces that
 * tests create "on a host" stay on that host, as on a real server, and vanish with it.
 * Each also listens on port 2222, where it refuses root: there only the lab's sudo users
 * (lab/sudo-users.ts) get in.
 */

/** Lab addresses: the underlay is 10.247.<octet>.0/24, the jump host's link 10.247.<octet+1>.0/24. */
function labSubnets(octet: number) {
  return {
    underlay: `10.247.${octet}.0/24`,
    rootAddress: `10.247.${octet}.1`,
    host: (i: number) => `10.247.${octet}.${10 + i}`,
    vm: (k: number) => `10.247.${octet}.${101 + k}`,
    debianVm: (k: number) => `10.247.${octet}.${201 + k}`,
    jumpPrefix: `10.247.${octet + 1}`,
  };
}

/** The most netns hosts a lab has: their underlay addresses (.11 up) stay below the VMs' (.101 up). */
export const LAB_MAX_HOSTS = 80;

export interface LabOptions {
  prefix?: string;
  hosts?: number;
  vms?: number;
  /** Debian VMs with systemd (dvm1, dvm2, …; lab/vm/debian.ts): slower to build and boot than the busybox VMs. */
  debianVms?: number;
  stateDir?: string;
  /** Third octet of the underlay subnet; two labs on one machine need different ones. */
  subnetOctet?: number;
}

function labNames(prefix: string) {
  return {
    underlay: `${prefix}-ul`,
    rootLink: `${prefix}0`,
    host: (i: number) => `${prefix}-h${i}`,
    jump: `${prefix}-j1`,
  };
}

export function assertRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error("the lab needs root (network namespaces, veth, sshd): run as root, e.g. `sudo npm run lab -- up`");
  }
}

function tcpOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 500 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function labNamespaces(prefix: string): Promise<string[]> {
  const out = await run("ip", ["netns", "list"]);
  return out
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith(`${prefix}-`));
}

async function killNamespaceProcesses(netns: string): Promise<void> {
  const pids = (await run("ip", ["netns", "pids", netns], { allowFailure: true })).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  await waitFor(`processes of ${netns} to exit`, 5000, async () => !pids.some(pidAlive));
}

/** Removes everything a lab with this prefix made, whatever state a crashed `up` left it in. */
export async function labDown(options: LabOptions = {}): Promise<void> {
  assertRoot();
  const prefix = options.prefix ?? "ndlab";
  const dir = options.stateDir ?? defaultStateDir;
  refuseForeignOwner(prefix, dir, "bring the lab down");
  const names = labNames(prefix);
  const stateFile = path.join(dir, "hosts.json");
  if (existsSync(path.join(dir, "vm"))) {
    const { stopVmHosts } = await import("./vm/index");
    await stopVmHosts(dir);
  }
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as LabState;
    for (const host of state.hosts) {
      if (host.kind === "netns" && pidAlive(host.pid)) process.kill(host.pid!, "SIGKILL");
    }
  }
  for (const netns of await labNamespaces(prefix)) {
    await killNamespaceProcesses(netns);
    await run("ip", ["netns", "del", netns]);
  }
  await ipIn(undefined, ["link", "del", names.rootLink], { allowFailure: true });
  await tearDownLabSudo(prefix);
  rmSync(authorizedKeysDir(prefix), { recursive: true, force: true });
  restoreSharedKernel(dir);
  // Emptied, not removed: other checkouts' state directories may be links to this one, the one
  // lab of the machine, and a link to nothing fails their next `lab up`.
  if (existsSync(dir)) for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  releaseLab(prefix, dir);
}

/** Where the lab's sshds read the client key: outside the checkout, reachable by every user. */
function authorizedKeysDir(prefix: string): string {
  return path.join("/run", `netdev-lab-${prefix.replace(/[^A-Za-z0-9_-]/g, "_")}`);
}

async function startSshd(
  netns: string,
  listen: string,
  hostDir: string,
  authorizedKeys: string,
): Promise<{ pid: number; hostPublicKey: string; logPath: string }> {
  mkdirSync(hostDir, { recursive: true });
  const hostKey = path.join(hostDir, "ssh_host_ed25519_key");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${netns}-hostkey`, "-f", hostKey]);
  const pidFile = path.join(hostDir, "sshd.pid");
  const logPath = path.join(hostDir, "sshd.log");
  const config = path.join(hostDir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress ${listen}:22`,
      `ListenAddress ${listen}:${ROOT_REFUSED_PORT}`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "LogLevel VERBOSE",
      "AllowTcpForwarding yes",
      // sshd's defaults, spelled out because the transport's channel queue is tested against them.
      "MaxSessions 10",
      "MaxStartups 10:30:100",
      ...rootRefusedSshdConfig,
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  // A private mount namespace per host: its own /run/netns, so `ip netns add` on one lab host
  // does not show up on the others; and no ~/.bashrc, which bash sources for every SSH command
  // and which on a developer machine can cost seconds (pyenv init), unlike a server's.
  const hostSetup = [
    "mount -t tmpfs -o mode=755 netns /run/netns",
    'home=$(getent passwd root | cut -d: -f6); [ -f "$home/.bashrc" ] && mount --bind /dev/null "$home/.bashrc"',
    'exec /usr/sbin/sshd -f "$1" -E "$2"',
  ].join("; ");
  await run("ip", ["netns", "exec", netns, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", hostSetup, "sh", config, logPath]);
  await waitFor(
    `sshd of ${netns} to listen on ${listen}:22`,
    10_000,
    async () => existsSync(pidFile) && (await run("ip", ["netns", "exec", netns, "ss", "-Hltn", `src ${listen}:22`])).length > 0,
  );
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  return { pid, hostPublicKey: readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" "), logPath };
}

async function healthyLab(dir: string, prefix: string, hosts: number, vms: number, debianVms: number): Promise<LabState | undefined> {
  const file = path.join(dir, "hosts.json");
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as LabState;
  const netnsHosts = state.hosts.filter((h) => h.kind === "netns" && !h.via);
  const vmHosts = state.hosts.filter((h) => h.kind === "vm" && h.flavour !== "debian");
  const debianHosts = state.hosts.filter((h) => h.kind === "vm" && h.flavour === "debian");
  if (state.prefix !== prefix || netnsHosts.length !== hosts || vmHosts.length !== vms || debianHosts.length !== debianVms) return undefined;
  // A lab from before the sudo users: its sshds do not listen on the root-refused port.
  if (!state.sudo) return undefined;
  for (const host of state.hosts) {
    if (!pidAlive(host.pid)) return undefined;
    if (!host.via && !(await tcpOpen(host.address, host.port))) return undefined;
  }
  return state;
}

/** Makes the lab (idempotent: a healthy lab of the same shape is left as it is). */
export async function labUp(options: LabOptions = {}): Promise<LabState> {
  assertRoot();
  const prefix = options.prefix ?? "ndlab";
  const hostCount = options.hosts ?? 3;
  const vmCount = options.vms ?? 0;
  const debianVmCount = options.debianVms ?? 0;
  const dir = options.stateDir ?? defaultStateDir;
  const subnets = labSubnets(options.subnetOctet ?? 0);
  if (hostCount < 1 || hostCount > LAB_MAX_HOSTS) throw new Error(`hosts must be 1..${LAB_MAX_HOSTS}, got ${hostCount}`);
  refuseForeignOwner(prefix, dir, "bring the lab up");
  const existing = await healthyLab(dir, prefix, hostCount, vmCount, debianVmCount);
  if (existing?.sudo) {
    claimLab(prefix, dir);
    if (!(await labSudoInPlace(prefix))) await setUpLabSudo(prefix, existing.sudo.password);
    return existing;
  }
  await labDown({ prefix, stateDir: dir });
  claimLab(prefix, dir);

  const names = labNames(prefix);
  try {
    mkdirSync(dir, { recursive: true });
    sizeSharedKernel(hostCount, dir);
    const clientKeyPath = path.join(dir, "client_ed25519");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${prefix}-client`, "-f", clientKeyPath]);
    const clientPublicKey = readFileSync(`${clientKeyPath}.pub`, "utf8").trim();
    // sshd reads the file as the user logging in, and the lab's sudo users are not root: the
    // checkout may lie under a directory they cannot enter (mktemp -d is 0700), so sshd's file
    // lives where every user can reach it; the state dir links to it for tests that add keys.
    const keysDir = authorizedKeysDir(prefix);
    mkdirSync(keysDir, { recursive: true });
    chmodSync(keysDir, 0o755);
    const authorizedKeys = path.join(keysDir, "authorized_keys");
    writeFileSync(authorizedKeys, `${clientPublicKey}\n`, { mode: 0o644 });
    rmSync(path.join(dir, "authorized_keys"), { force: true });
    symlinkSync(authorizedKeys, path.join(dir, "authorized_keys"));

    await run("ip", ["netns", "add", names.underlay]);
    await ipIn(names.underlay, ["link", "set", "lo", "up"]);
    await ipIn(names.underlay, ["link", "add", "ul0", "type", "bridge"]);
    await ipIn(names.underlay, ["link", "set", "ul0", "up"]);
    await ipIn(undefined, ["link", "add", names.rootLink, "type", "veth", "peer", "name", "root", "netns", names.underlay]);
    await ipIn(names.underlay, ["link", "set", "root", "master", "ul0", "up"]);
    await ipIn(undefined, ["addr", "add", `${subnets.rootAddress}/24`, "dev", names.rootLink]);
    await ipIn(undefined, ["link", "set", names.rootLink, "up"]);

    const hosts: LabHost[] = [];
    for (let i = 1; i <= hostCount; i++) {
      const netns = names.host(i);
      const address = subnets.host(i);
      await run("ip", ["netns", "add", netns]);
      await ipIn(netns, ["link", "set", "lo", "up"]);
      await ipIn(undefined, ["link", "add", `${prefix}t${i}`, "netns", netns, "type", "veth", "peer", "name", `h${i}`, "netns", names.underlay]);
      await ipIn(netns, ["link", "set", `${prefix}t${i}`, "name", "eth0"]);
      await ipIn(names.underlay, ["link", "set", `h${i}`, "master", "ul0", "up"]);
      await ipIn(netns, ["addr", "add", `${address}/24`, "dev", "eth0"]);
      // nodad: usable at once, and every lab address is unique by construction.
      await ipIn(netns, ["addr", "add", `${underlayAddress6(address)}/64`, "dev", "eth0", "nodad"]);
      await ipIn(netns, ["link", "set", "eth0", "up"]);
      const sshd = await startSshd(netns, address, path.join(dir, `h${i}`), authorizedKeys);
      hosts.push({
        name: `h${i}`,
        kind: "netns",
        address,
        port: 22,
        username: "root",
        privateKeyPath: clientKeyPath,
        hostPublicKey: sshd.hostPublicKey,
        underlayAddress: address,
        underlayAddress6: underlayAddress6(address),
        underlayInterface: "eth0",
        sshdLogPath: sshd.logPath,
        netns,
        pid: sshd.pid,
      });
    }

    // A host only h1 can reach: the jump-host path is tested against it.
    const jumpAddress = `${subnets.jumpPrefix}.2`;
    await run("ip", ["netns", "add", names.jump]);
    await ipIn(names.jump, ["link", "set", "lo", "up"]);
    await ipIn(undefined, ["link", "add", `${prefix}tj`, "netns", names.jump, "type", "veth", "peer", "name", "jump0", "netns", names.host(1)]);
    await ipIn(names.jump, ["link", "set", `${prefix}tj`, "name", "eth0"]);
    await ipIn(names.jump, ["addr", "add", `${jumpAddress}/24`, "dev", "eth0"]);
    await ipIn(names.jump, ["link", "set", "eth0", "up"]);
    await ipIn(names.host(1), ["addr", "add", `${subnets.jumpPrefix}.1/24`, "dev", "jump0"]);
    await ipIn(names.host(1), ["link", "set", "jump0", "up"]);
    const jumpSshd = await startSshd(names.jump, jumpAddress, path.join(dir, "j1"), authorizedKeys);
    hosts.push({
      name: "j1",
      kind: "netns",
      address: jumpAddress,
      port: 22,
      username: "root",
      privateKeyPath: clientKeyPath,
      hostPublicKey: jumpSshd.hostPublicKey,
      underlayAddress: jumpAddress,
      underlayInterface: "eth0",
      sshdLogPath: jumpSshd.logPath,
      netns: names.jump,
      pid: jumpSshd.pid,
      via: "h1",
    });

    if (vmCount > 0) {
      const { startVmHosts } = await import("./vm/index");
      const vmHosts = await startVmHosts({
        stateDir: dir,
        clientPublicKey,
        clientKeyPath,
        underlayNetns: names.underlay,
        underlayBridge: "ul0",
        hosts: Array.from({ length: vmCount }, (_, k) => ({
          name: `vm${k + 1}`,
          underlayAddress: subnets.vm(k),
          sshPort: 22_470 + (options.subnetOctet ?? 0) * 10 + k,
        })),
      });
      hosts.push(...vmHosts);
    }
    if (debianVmCount > 0) {
      const { startDebianVmHosts } = await import("./vm/debian");
      const debianHosts = await startDebianVmHosts({
        stateDir: dir,
        clientPublicKey,
        clientKeyPath,
        underlayNetns: names.underlay,
        underlayBridge: "ul0",
        hosts: Array.from({ length: debianVmCount }, (_, k) => ({
          name: `dvm${k + 1}`,
          underlayAddress: subnets.debianVm(k),
          sshPort: 22_370 + (options.subnetOctet ?? 0) * 10 + k,
        })),
      });
      hosts.push(...debianHosts);
    }

    const sudo = await setUpLabSudo(prefix);
    const state: LabState = { prefix, subnet: subnets.underlay, rootAddress: subnets.rootAddress, clientKeyPath, hosts, sudo };
    writeFileSync(path.join(dir, "hosts.json"), `${JSON.stringify(state, null, 2)}\n`);
    return state;
  } catch (error) {
    await labDown({ prefix, stateDir: dir }).catch(() => undefined);
    throw error;
  }
}

export async function labStatus(options: LabOptions = {}): Promise<string> {
  const dir = options.stateDir ?? defaultStateDir;
  const file = path.join(dir, "hosts.json");
  if (!existsSync(file)) return `no lab (${file} missing)`;
  const state = JSON.parse(readFileSync(file, "utf8")) as LabState;
  const lines = [`lab ${state.prefix}: underlay ${state.subnet}, this machine ${state.rootAddress}`];
  for (const host of state.hosts) {
    const reachable = host.via ? `via ${host.via}` : (await tcpOpen(host.address, host.port)) ? "ssh up" : "SSH DOWN";
    lines.push(
      `  ${host.name.padEnd(5)} ${host.kind.padEnd(5)} ${`${host.address}:${host.port}`.padEnd(20)} underlay ${host.underlayAddress.padEnd(12)} pid ${host.pid} ${pidAlive(host.pid) ? "alive" : "DEAD"}  ${reachable}`,
    );
  }
  return lines.join("\n");
}

/**
 * Empties the neighbour caches of the lab's namespaces, the root's link to them included, so
 * that what runs next finds the lab as freshly made: no host yet knows any other's address
 * (a benchmark's `up` then pays each host's first ARP, as on a new lab).
 */
export async function labForgetNeighbours(options: LabOptions = {}): Promise<void> {
  const prefix = options.prefix ?? "ndlab";
  for (const netns of await labNamespaces(prefix)) await ipIn(netns, ["neigh", "flush", "all"], { allowFailure: true });
  await ipIn(undefined, ["neigh", "flush", "dev", labNames(prefix).rootLink], { allowFailure: true });
}

export { hostsFile };
