import { generateKeyPairSync } from "node:crypto";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionInput, host, labState } from "../../test/support/lab-hosts";
import { applyPlan, destroyApplied, exec, pingEventually, removeLeftovers, type Applied } from "../../test/support/components";
import { sshPool } from "../ssh/pool";
import { engineFor as componentEngineFor } from "../registry";
import { planAttachment } from "./attachment";
import { planEncryptedOverlay, type EncryptedOverlayHost, WG_PEERS_KEY } from "./encrypted-overlay";
import { FLOOD_KEY } from "./vxlan-overlay";

/**
 * The encrypted overlay on the two VM lab hosts (this machine's kernel, shared by h1-h3, has no
 * WireGuard), applied through the engines as the plan says, a container on each VM: they ping
 * each other while tcpdump watches the lab underlay, which must carry only WireGuard's UDP.
 * Then vm2 leaves and joins again: each time the peer lists' and flood lists' one update.
 */
const VMS = ["vm1", "vm2"];
const WG = "ndewg";
const BRIDGE = "ndebr";
const VTEP = "ndevx";
const NETNS = "nde-ov";
const WG_PORT = 51900;
const containerIp = (i: number) => `192.168.120.${i + 1}`;

function genkey(): string {
  return Buffer.from(generateKeyPairSync("x25519").privateKey.export({ format: "jwk" }).d!, "base64url").toString("base64");
}

describe("EncryptedOverlay (VXLAN inside a WireGuard mesh) across the VM lab hosts", () => {
  const hosts: EncryptedOverlayHost[] = VMS.map((name) => ({
    name,
    connection: connectionInput(name),
    underlayAddress: host(name).underlayAddress,
    privateKey: genkey(),
  }));
  const planFor = (members: EncryptedOverlayHost[]) =>
    planEncryptedOverlay({
      overlayId: "nde-test",
      vni: 4712,
      wgSubnet: "10.251.0.0/24",
      wgPort: WG_PORT,
      wgName: WG,
      bridgeName: BRIDGE,
      vtepName: VTEP,
      hosts: members,
    });
  const plan = planFor(hosts);
  const attachmentOf = (name: string, i: number) =>
    planAttachment({
      connection: connectionInput(name),
      namespace: NETNS,
      bridge: BRIDGE,
      address: `${containerIp(i)}/24`,
      mtu: plan.mtu,
      macSeed: `nde-test-${name}`,
    });
  let devices: Applied[] = [];
  const attachments: Applied[][] = [];

  async function cleanup() {
    for (const a of [...attachments].reverse()) await destroyApplied(a).catch(() => undefined);
    attachments.length = 0;
    await destroyApplied(devices).catch(() => undefined);
    for (const [i, name] of VMS.entries()) await removeLeftovers(name, [attachmentOf(name, i).hostEnd, VTEP, BRIDGE, WG], [NETNS]);
  }

  beforeAll(async () => {
    await cleanup();
    devices = await applyPlan(plan.items);
    for (const [i, name] of VMS.entries()) attachments.push(await applyPlan(attachmentOf(name, i).items));
  }, 240_000);

  afterAll(async () => {
    await cleanup();
    // Nothing of the overlay is left on either VM.
    for (const name of VMS) {
      const links = (await exec(name, ["ip", "-o", "link", "show"])).stdout;
      for (const dev of [WG, BRIDGE, VTEP]) expect(links, `${dev} on ${name}`).not.toContain(`: ${dev}`);
      expect((await exec(name, ["ip", "netns", "list"])).stdout).not.toContain(NETNS);
    }
    sshPool().closeAll();
  }, 240_000);

  /** The public keys of the peers `name`'s interface has. */
  const peerKeys = async (name: string) =>
    (await exec(name, ["wg", "show", WG, "peers"])).stdout
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .sort();

  /**
   * Brings the membership to `next`'s: asserts that among the resources that exist and stay, only
   * the peer lists and the flood lists change (no interface, bridge or VTEP), then updates each once.
   */
  async function updateMembership(next: ReturnType<typeof planFor>) {
    for (const current of devices) {
      const item = next.items.find((i) => i.key === current.item.key);
      // A leaver's own resources are deleted, not updated.
      if (!item) continue;
      const engine = componentEngineFor(item.type);
      const diff = engine.diff(current.outs, engine.check(item.inputs).inputs);
      expect(diff.replaces, item.key).toEqual([]);
      expect(diff.changes, item.key).toBe(item.key === WG_PEERS_KEY || item.key === FLOOD_KEY);
    }
    for (const key of [WG_PEERS_KEY, FLOOD_KEY]) {
      const at = devices.findIndex((d) => d.item.key === key);
      const item = next.items.find((i) => i.key === key)!;
      const engine = componentEngineFor(item.type);
      const { outs } = await engine.update(devices[at]!.id, devices[at]!.outs, engine.check(item.inputs).inputs);
      devices[at] = { ...devices[at]!, item, outs };
    }
  }

  it("MTUs 1500 → 1420 (WireGuard) → 1370 (VXLAN); each WireGuard interface has the other VM as its peer", async () => {
    expect([plan.wgMtu, plan.mtu]).toEqual([1420, 1370]);
    for (const [i, name] of VMS.entries()) {
      const wg = devices.find((d) => d.item.key === `${name}-wg`)!;
      expect(wg.outs.linkMtu).toBe(1420);
      expect(wg.outs.publicKey).toBe(plan.hosts[i]!.publicKey);
      expect(devices.find((d) => d.item.key === `${name}-vtep`)!.outs.linkMtu).toBe(1370);
      const other = VMS.length - 1 - i;
      const endpoints = (await exec(name, ["wg", "show", WG, "endpoints"])).stdout.trim();
      expect(endpoints).toBe(`${plan.hosts[other]!.publicKey}\t${host(VMS[other]!).underlayAddress}:${WG_PORT}`);
    }
  });

  it("containers on the two VMs ping each other, and the underlay carries only WireGuard's UDP: no ICMP, no VXLAN", async () => {
    const [a, b] = VMS.map((name) => host(name).underlayAddress) as [string, string];
    const underlayNetns = `${labState().prefix}-ul`;
    // Every packet between the two VMs, on every port of the underlay (both VMs' taps).
    const capture: ResultPromise = execa("ip", ["netns", "exec", underlayNetns, "tcpdump", "-i", "any", "-nn", "-l", "-U", `host ${a} and host ${b}`], {
      reject: false,
      stdin: "ignore",
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("tcpdump did not start")), 15_000);
        capture.stderr!.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("listening on")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const results = {
        "vm1 → vm2": await pingEventually("vm1", NETNS, containerIp(1), 5),
        "vm2 → vm1": await pingEventually("vm2", NETNS, containerIp(0), 5),
        // A packet filling the overlay MTU passes through both encapsulations (the VMs' busybox
        // ping has no -M do; the budget itself is checked on the devices' MTUs above).
        "vm1 → vm2 at the MTU":
          (await exec("vm1", ["ip", "netns", "exec", NETNS, "ping", "-c", "1", "-W", "3", "-s", String(plan.mtu - 28), containerIp(1)])).exitCode === 0,
      };
      if (Object.values(results).includes(false)) {
        for (const name of VMS) {
          for (const argv of [
            ["wg", "show", WG],
            ["ip", "-n", NETNS, "neigh"],
            ["bridge", "fdb", "show", "br", BRIDGE],
            ["ip", "-s", "link", "show", "dev", VTEP],
          ]) {
            const r = await exec(name, argv);
            console.log(`[${name}] ${argv.join(" ")}\n${r.stdout}${r.stderr}`);
          }
        }
      }
      expect(results).toEqual({ "vm1 → vm2": true, "vm2 → vm1": true, "vm1 → vm2 at the MTU": true });
    } finally {
      capture.kill("SIGINT");
    }
    const { stdout, stderr } = await capture;
    const lines = String(stdout)
      .split("\n")
      .filter((line) => line.trim() !== "");
    console.log(
      `[tcpdump on ${underlayNetns}, host ${a} and host ${b}] ${lines.length} packets; ${String(stderr).trim().split("\n").slice(-3).join(" | ")}\n${lines.slice(0, 6).join("\n")}`,
    );
    const ipLines = lines.filter((line) => / IP6? /.test(line));
    expect(ipLines.length, "the pings crossed the underlay").toBeGreaterThanOrEqual(8);
    const wireguard = new RegExp(`IP (${a}|${b})\\.${WG_PORT} > (${a}|${b})\\.${WG_PORT}: UDP`);
    for (const line of ipLines) expect(line, "only UDP between the WireGuard ports").toMatch(wireguard);
    expect(lines.filter((line) => /ICMP|\.4789[ :]|VXLAN/i.test(line))).toEqual([]);
  }, 120_000);

  it("vm2 leaving is the peer lists' and flood lists' one update each (vm2 not touched by them) plus its devices deleted", async () => {
    const [vm1Key, vm2Key] = plan.hosts.map((h) => h.publicKey) as [string, string];
    await updateMembership(planFor(hosts.slice(0, 1)));
    expect(await peerKeys("vm1")).toEqual([]);
    // The leaver is not contacted: its own peer stays until its interface goes with its own resource.
    expect(await peerKeys("vm2")).toEqual([vm1Key]);
    await destroyApplied(attachments.pop()!);
    const leaving = devices.filter((d) => d.item.key.startsWith("vm2-"));
    devices = devices.filter((d) => !d.item.key.startsWith("vm2-"));
    await destroyApplied(leaving);
    expect((await exec("vm2", ["ip", "link", "show", "dev", WG])).exitCode).not.toBe(0);
    expect(await peerKeys("vm1")).not.toContain(vm2Key);
  }, 120_000);

  it("vm2 joining again is its interface, bridge and VTEP created plus those two updates; the containers ping each other", async () => {
    const joined = planFor(hosts);
    const joiner = joined.items.filter((i) => i.key.startsWith("vm2-"));
    expect(joiner.map((i) => i.type)).toEqual(["WireguardInterface", "Bridge", "VxlanTunnel"]);
    const made = await applyPlan(joiner);
    // Before the peer lists' update the new interface has no peer: the interfaces carry none.
    expect(await peerKeys("vm2")).toEqual([]);
    const lists = devices.filter((d) => d.item.key === WG_PEERS_KEY || d.item.key === FLOOD_KEY);
    devices = [...devices.filter((d) => !lists.includes(d)), ...made, ...lists];
    await updateMembership(joined);
    expect(await peerKeys("vm1")).toEqual([joined.hosts[1]!.publicKey]);
    expect(await peerKeys("vm2")).toEqual([joined.hosts[0]!.publicKey]);
    attachments.push(await applyPlan(attachmentOf("vm2", 1).items));
    expect(await pingEventually("vm1", NETNS, containerIp(1), 5)).toBe(true);
    expect(await pingEventually("vm2", NETNS, containerIp(0), 5)).toBe(true);
  }, 180_000);
});
