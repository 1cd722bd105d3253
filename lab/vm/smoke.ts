/**
 * Smoke test of lab/vm on a throwaway underlay (as root):
 *   npx tsx lab/vm/smoke.ts           # uses the shared image cache (lab/vm/.cache/image)
 *   npx tsx lab/vm/smoke.ts --cold    # also times a cold and a warm image build in a temp dir
 *   npx tsx lab/vm/smoke.ts --crash   # also kills a half-started `startVmHosts` and checks stopVmHosts cleans up
 * It makes netns ndvmt-ul (bridge ul0) and ndvmt-peer (10.247.0.50/24), boots vm1 (10.247.0.101)
 * and vm2 (10.247.0.102), checks vlan/ipvlan/geneve and underlay pings over SSH, stops the VMs
 * and checks nothing is left. Everything it made is removed, also on failure.
 */
import { execa } from "execa";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LabHost } from "../hosts";
import { defaultImageDir, ensureVmImage, startVmHosts, stopVmHosts, tapName } from "./index";
import { sshArgs } from "./qemu";

const UNDERLAY = "ndvmt-ul";
const PEER = "ndvmt-peer";
const BRIDGE = "ul0";
const HOSTS = [
  { name: "vm1", underlayAddress: "10.247.0.101", sshPort: 22_571 },
  { name: "vm2", underlayAddress: "10.247.0.102", sshPort: 22_572 },
];

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const timings: string[] = [];
function timed(label: string, since: number): void {
  timings.push(`${label}: ${seconds(since)}`);
  console.log(`== ${label}: ${seconds(since)}`);
}

async function sh(file: string, args: string[], allowFailure = false): Promise<string> {
  const result = await execa(file, args, { stdin: "ignore", reject: false });
  if (result.exitCode !== 0 && !allowFailure) throw new Error(`${file} ${args.join(" ")}: exit ${result.exitCode}: ${String(result.stderr).trim()}`);
  return String(result.stdout);
}

async function netnsExists(name: string): Promise<boolean> {
  return (await sh("ip", ["netns", "list"])).split("\n").some((line) => line.split(" ")[0] === name);
}

async function deleteUnderlay(): Promise<void> {
  for (const ns of [PEER, UNDERLAY]) if (await netnsExists(ns)) await sh("ip", ["netns", "del", ns]);
  await sh("ip", ["link", "del", "ndvmtp0"], true);
}

async function makeUnderlay(): Promise<void> {
  await deleteUnderlay();
  await sh("ip", ["netns", "add", UNDERLAY]);
  await sh("ip", ["-n", UNDERLAY, "link", "add", BRIDGE, "type", "bridge"]);
  await sh("ip", ["-n", UNDERLAY, "link", "set", BRIDGE, "up"]);
  await sh("ip", ["netns", "add", PEER]);
  await sh("ip", ["-n", PEER, "link", "set", "lo", "up"]);
  await sh("ip", ["link", "add", "ndvmtp0", "netns", PEER, "type", "veth", "peer", "name", "peer", "netns", UNDERLAY]);
  await sh("ip", ["-n", PEER, "link", "set", "ndvmtp0", "name", "eth0"]);
  await sh("ip", ["-n", PEER, "addr", "add", "10.247.0.50/24", "dev", "eth0"]);
  await sh("ip", ["-n", PEER, "link", "set", "eth0", "up"]);
  await sh("ip", ["-n", UNDERLAY, "link", "set", "peer", "master", BRIDGE, "up"]);
}

function sshRunner(host: LabHost, knownHosts: string) {
  writeFileSync(knownHosts, `[${host.address}]:${host.port} ${host.hostPublicKey}\n`);
  return async (command: string): Promise<string> => {
    const result = await execa("ssh", [...sshArgs(host, host.privateKeyPath, knownHosts), command], { stdin: "ignore", reject: false });
    if (result.exitCode !== 0)
      throw new Error(`${host.name}: ${command}: exit ${result.exitCode}: ${String(result.stderr).trim()} ${String(result.stdout).trim()}`);
    return String(result.stdout);
  };
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

async function leftovers(stateDir: string, taps: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args = "";
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.startsWith("Z")) continue;
    } catch {
      continue;
    }
    if (args.startsWith("qemu-system") && args.includes(stateDir)) problems.push(`qemu ${entry} still runs`);
  }
  const rootLinks = await sh("ip", ["-o", "link"]);
  const nsLinks = (await netnsExists(UNDERLAY)) ? await sh("ip", ["-n", UNDERLAY, "-o", "link"]) : "";
  for (const tap of taps) {
    if (rootLinks.includes(` ${tap}:`)) problems.push(`tap ${tap} in root namespace`);
    if (nsLinks.includes(` ${tap}:`) || nsLinks.includes(` ${tap}@`)) problems.push(`tap ${tap} in ${UNDERLAY}`);
  }
  if (existsSync(path.join(stateDir, "vm"))) problems.push(`${stateDir}/vm still exists: ${readdirSync(path.join(stateDir, "vm")).join(", ")}`);
  return problems;
}

async function main(): Promise<void> {
  if (process.argv[2] === "--child-start") {
    // Helper for --crash: start VMs and get SIGKILLed by the parent midway.
    await startVmHosts(JSON.parse(process.argv[3]));
    return;
  }
  if (process.getuid?.() !== 0) throw new Error("run as root");
  const cold = process.argv.includes("--cold");
  const crash = process.argv.includes("--crash");
  const scratch = mkdtempSync(path.join(os.tmpdir(), "ndvmt-"));
  const stateDir = path.join(scratch, "state");
  const taps = HOSTS.map((h) => tapName(UNDERLAY, h.name));
  try {
    let imageDir = defaultImageDir;
    if (cold) {
      imageDir = path.join(scratch, "image");
      let t = Date.now();
      await ensureVmImage(imageDir);
      timed("cold image build", t);
      t = Date.now();
      await ensureVmImage(imageDir);
      timed("warm image build (cache hit)", t);
    } else {
      const t = Date.now();
      await ensureVmImage(imageDir);
      timed("image (cache) check/build", t);
    }
    const sizes = ["vmlinuz", "initrd.img"].map((f) => `${f} ${(readFileSync(path.join(imageDir, f)).length / 1e6).toFixed(1)} MB`);
    console.log(`image: ${sizes.join(", ")}`);

    await makeUnderlay();
    const clientKeyPath = path.join(scratch, "client_ed25519");
    await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ndvmt-client", "-f", clientKeyPath]);
    const clientPublicKey = readFileSync(`${clientKeyPath}.pub`, "utf8").trim();
    const options = { stateDir, clientPublicKey, clientKeyPath, underlayNetns: UNDERLAY, underlayBridge: BRIDGE, hosts: HOSTS, imageDir };

    if (crash) {
      // Kill a start midway (qemu running, SSH not yet up), then check stopVmHosts cleans up.
      // One process (node with tsx's loader), so SIGKILL hits exactly the starter, not the daemonized qemus.
      const child = execa(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "smoke.ts"), "--child-start", JSON.stringify(options)], {
        stdio: "inherit",
        reject: false,
      });
      const deadline = Date.now() + 60_000;
      while (!HOSTS.every((h) => existsSync(path.join(stateDir, "vm", h.name, "qemu.pid")))) {
        if (Date.now() > deadline) throw new Error("the child never started both qemus");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      child.kill("SIGKILL");
      await child;
      const before = (await leftovers(stateDir, taps)).filter((p) => p.startsWith("qemu"));
      console.log(`after killing the starter: ${before.length} qemu still running (expected 2)`);
      const t = Date.now();
      await stopVmHosts(stateDir);
      timed("stop after a crashed start", t);
      const problems = await leftovers(stateDir, taps);
      assert(problems.length === 0, `leftovers after crash cleanup: ${problems.join("; ")}`);
      console.log("crash cleanup: OK");
    }

    let t = Date.now();
    const hosts = await startVmHosts(options);
    timed("boot of 2 VMs in parallel (until SSH + ip -json link)", t);
    console.log(JSON.stringify(hosts, null, 2));
    const [vm1, vm2] = hosts;
    assert(vm1.kind === "vm" && vm1.address === "127.0.0.1" && vm1.port === 22_571 && vm1.username === "root", "LabHost fields");
    assert(/^ssh-ed25519 [A-Za-z0-9+/=]+$/.test(vm1.hostPublicKey), "host key line");
    const run1 = sshRunner(vm1, path.join(scratch, "known_hosts_vm1"));
    const run2 = sshRunner(vm2, path.join(scratch, "known_hosts_vm2"));
    const ul = vm1.underlayInterface;
    await run1(`ip link add v10 link ${ul} type vlan id 10`);
    await run1(`ip link add ipv0 link ${ul} type ipvlan mode l2`);
    await run1("ip link add gn0 type geneve id 5 remote 10.247.0.102");
    const links = JSON.parse(await run1("ip -json -details link show")) as {
      ifname: string;
      linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
    }[];
    const kind = (name: string) => links.find((l) => l.ifname === name)?.linkinfo?.info_kind;
    assert(
      kind("v10") === "vlan" && kind("ipv0") === "ipvlan" && kind("gn0") === "geneve",
      `kinds: ${links.map((l) => `${l.ifname}=${l.linkinfo?.info_kind}`).join(" ")}`,
    );
    console.log(`vm1 links: ${links.map((l) => `${l.ifname}(${l.linkinfo?.info_kind ?? "-"})`).join(" ")}`);
    console.log(`vm2 ${await run2("printf '%s ' $(cat /proc/sys/kernel/hostname) $(uname -r)")}`);
    console.log(await run1("ping -c 2 -W 3 10.247.0.102"));
    console.log(await run1("ping -c 2 -W 3 10.247.0.50"));
    const peerPing = await sh("ip", ["netns", "exec", PEER, "ping", "-c", "1", "-W", "3", "10.247.0.102"], true);
    console.log(`peer -> vm2: ${peerPing.includes("1 received") ? "ok" : peerPing}`);

    t = Date.now();
    await stopVmHosts(stateDir);
    timed("stop of 2 VMs", t);
    const problems = await leftovers(stateDir, taps);
    assert(problems.length === 0, `leftovers: ${problems.join("; ")}`);
    t = Date.now();
    await stopVmHosts(stateDir);
    timed("second stop (idempotent)", t);
    console.log(`\nSMOKE OK\n${timings.join("\n")}`);
  } finally {
    await stopVmHosts(stateDir).catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
    await deleteUnderlay().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`smoke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
