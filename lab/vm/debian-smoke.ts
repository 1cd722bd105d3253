/**
 * Smoke test of the Debian VM lab host without the lab (as root; no lab lock needed):
 *   npx tsx lab/vm/debian-smoke.ts           # boot, checks, soft reboot (systemctl reboot)
 *   npx tsx lab/vm/debian-smoke.ts --hard    # also a hard reset (QMP system_reset)
 *   npx tsx lab/vm/debian-smoke.ts --keep    # leave it running (stop: npx tsx lab/vm/debian-smoke.ts --down)
 *   npx tsx lab/vm/debian-smoke.ts --reboots 20   # that many soft reboots in a row, each timed; resets after a stall counted
 * Makes netns nddv-ul (bridge ul0) and nddv-peer (10.247.0.50/24), boots dvm1 (10.247.0.201,
 * SSH on 127.0.0.1:22601, tap nddv-dvm1) with its state in /tmp/nddv-smoke, writes a .netdev file,
 * reboots, checks the device came back, and removes everything it made, also on failure.
 */
import { execa } from "execa";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LabHost, LabState } from "../hosts";
import { describeReboot, rebootVmHost, startDebianVmHosts } from "./debian";
import { sshArgs, stopVmHosts } from "./qemu";

const STATE = "/tmp/nddv-smoke";
const UNDERLAY = "nddv-ul";
const PEER = "nddv-peer";
const argv = process.argv.slice(2);
const args = new Set(argv);
const reboots = argv.includes("--reboots") ? Number(argv[argv.indexOf("--reboots") + 1]) : 1;

async function sh(file: string, argv: string[], allowFailure = false): Promise<string> {
  const result = await execa(file, argv, { stdin: "ignore", reject: false });
  if (result.exitCode !== 0 && !allowFailure) throw new Error(`${file} ${argv.join(" ")}: exit ${result.exitCode}: ${String(result.stderr).trim()}`);
  return String(result.stdout);
}

async function netnsExists(name: string): Promise<boolean> {
  return (await sh("ip", ["netns", "list"])).split("\n").some((line) => line.split(" ")[0] === name);
}

async function down(): Promise<void> {
  await stopVmHosts(STATE);
  for (const ns of [PEER, UNDERLAY]) if (await netnsExists(ns)) await sh("ip", ["netns", "del", ns]);
  await sh("ip", ["link", "del", "nddvp0"], true);
  rmSync(STATE, { recursive: true, force: true });
}

async function up(): Promise<LabHost> {
  await down();
  mkdirSync(STATE, { recursive: true });
  await sh("ip", ["netns", "add", UNDERLAY]);
  await sh("ip", ["-n", UNDERLAY, "link", "add", "ul0", "type", "bridge"]);
  await sh("ip", ["-n", UNDERLAY, "link", "set", "ul0", "up"]);
  await sh("ip", ["netns", "add", PEER]);
  await sh("ip", ["-n", PEER, "link", "set", "lo", "up"]);
  await sh("ip", ["link", "add", "nddvp0", "netns", PEER, "type", "veth", "peer", "name", "peer", "netns", UNDERLAY]);
  await sh("ip", ["-n", PEER, "link", "set", "nddvp0", "name", "eth0"]);
  await sh("ip", ["-n", PEER, "addr", "add", "10.247.0.50/24", "dev", "eth0"]);
  await sh("ip", ["-n", PEER, "link", "set", "eth0", "up"]);
  await sh("ip", ["-n", UNDERLAY, "link", "set", "peer", "master", "ul0", "up"]);
  const key = path.join(STATE, "client_ed25519");
  await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "nddv-client", "-f", key]);
  const started = Date.now();
  const [host] = await startDebianVmHosts({
    stateDir: STATE,
    clientPublicKey: readFileSync(`${key}.pub`, "utf8"),
    clientKeyPath: key,
    underlayNetns: UNDERLAY,
    underlayBridge: "ul0",
    hosts: [{ name: "dvm1", underlayAddress: "10.247.0.201", sshPort: 22_601 }],
  });
  console.log(`== boot (image check + boot until SSH): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const state: LabState = { prefix: "nddv", subnet: "10.247.0.0/24", rootAddress: "10.247.0.50", clientKeyPath: key, hosts: [host] };
  writeFileSync(path.join(STATE, "hosts.json"), `${JSON.stringify(state, null, 2)}\n`);
  return host;
}

function ssh(host: LabHost) {
  return async (command: string, allowFailure = false): Promise<string> => {
    const knownHosts = path.join(STATE, "vm", host.name, "known_hosts");
    const result = await execa("ssh", [...sshArgs({ port: host.port }, host.privateKeyPath, knownHosts), command], {
      stdin: "ignore",
      reject: false,
      timeout: 120_000,
    });
    if (result.exitCode !== 0 && !allowFailure)
      throw new Error(`${command}: exit ${result.exitCode}: ${String(result.stderr).trim()} ${String(result.stdout).trim()}`);
    return String(result.stdout).trim();
  };
}

async function main(): Promise<void> {
  if (args.has("--down")) return down();
  let ok = false;
  try {
    const host = await up();
    const run = ssh(host);
    let t = Date.now();
    console.log(`== is-system-running --wait: ${await run("systemctl is-system-running --wait", true)} (+${((Date.now() - t) / 1000).toFixed(1)} s)`);
    console.log(
      await run(
        "systemctl --failed --no-legend; systemctl --version | head -n1; uname -r; hostname; networkctl list --no-legend; ip -br addr; systemd-analyze 2>/dev/null | head -n1",
      ),
    );
    console.log(await sh("ip", ["netns", "exec", PEER, "ping", "-c1", "-W5", "10.247.0.201"]));
    await run("printf '[NetDev]\\nName=ndtest0\\nKind=dummy\\n' > /etc/systemd/network/50-ndtest.netdev; sync");
    let stalls = 0;
    for (let i = 1; i <= reboots; i++) {
      const soft = await rebootVmHost(host.name, { stateDir: STATE });
      if (soft.resetAfterStall) stalls++;
      console.log(`== soft reboot ${i}/${reboots}: ${describeReboot(host.name, soft)}`);
      console.log(await run("ip -br link show ndtest0; systemd-analyze | head -n1"));
    }
    if (reboots > 1) console.log(`== ${reboots} soft reboots, ${stalls} stalled after the kernel's restart line`);
    if (args.has("--hard")) {
      const hard = await rebootVmHost(host.name, { stateDir: STATE, hard: true });
      console.log(`== hard reset: ${describeReboot(host.name, hard)}`);
      console.log(await run("ip -br link show ndtest0; cat /etc/systemd/network/50-ndtest.netdev"));
    }
    t = Date.now();
    ok = true;
  } finally {
    if (!args.has("--keep") || !ok) {
      const t = Date.now();
      await down();
      console.log(`== down: ${((Date.now() - t) / 1000).toFixed(1)} s; ${existsSync(STATE) ? "state dir LEFT" : "clean"}`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
