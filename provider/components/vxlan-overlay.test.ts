import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { planAttachment } from "./attachment";
import { applyPlan, destroyApplied, exec, floodPeers, pingEventually, pingFrom, removeLeftovers, type Applied } from "../../test/support/components";
import { engineFor as componentEngineFor } from "../registry";
import type { PlanItem } from "./plan";
import { FLOOD_KEY, planVxlanOverlay, type OverlayHost } from "./vxlan-overlay";

/**
 * A unicast VXLAN overlay on the netns lab hosts h1-h3 (then vm1 joins and leaves), applied
 * through the engines exactly as the plan says, with a namespace per host on the bridge.
 */
const VNI = 4711;
const BRIDGE = "ndobr4711";
const VTEP = "ndovx4711";
const NETNS = "ndo-ov";
const OVERLAY_ID = "ndo-overlay-test";
const hostNames = ["h1", "h2", "h3"];
const allHosts = [...hostNames, "vm1"];
const overlayIp = (i: number) => `192.168.100.${i + 1}`;

function overlayHost(name: string): OverlayHost {
  const lab = host(name);
  return { name, connection: connectionInput(name), underlayAddress: lab.underlayAddress, underlayDev: lab.underlayInterface };
}

describe("VxlanOverlay (unicast) across lab hosts", () => {
  const devices = new Map<string, Applied>();
  const attachments = new Map<string, Applied[]>();
  let mtu = 0;

  async function cleanup() {
    const flood = devices.get(FLOOD_KEY);
    if (flood) await destroyApplied([flood]).catch(() => undefined);
    devices.delete(FLOOD_KEY);
    for (const name of allHosts) {
      await destroyApplied(attachments.get(name) ?? []).catch(() => undefined);
      for (const key of [`${name}-vtep`, `${name}-bridge`]) {
        const a = devices.get(key);
        if (a) await destroyApplied([a]).catch(() => undefined);
        devices.delete(key);
      }
      await removeLeftovers(name, [VTEP, BRIDGE, planAttachment({ connection: null, namespace: NETNS, bridge: BRIDGE }).hostEnd], [NETNS]);
    }
  }

  async function attach(name: string, index: number) {
    const plan = planAttachment({
      connection: connectionInput(name),
      namespace: NETNS,
      bridge: BRIDGE,
      address: `${overlayIp(index)}/24`,
      mtu,
      macSeed: `${OVERLAY_ID}-${name}`,
    });
    attachments.set(name, await applyPlan(plan.items));
  }

  beforeAll(async () => {
    await cleanup();
    const plan = planVxlanOverlay({ overlayId: OVERLAY_ID, vni: VNI, hosts: hostNames.map(overlayHost), bridgeName: BRIDGE, vtepName: VTEP });
    mtu = plan.mtu;
    for (const a of await applyPlan(plan.items)) devices.set(a.item.key, a);
    for (const [i, name] of hostNames.entries()) await attach(name, i);
  }, 120_000);

  afterAll(async () => {
    await cleanup();
  }, 120_000);

  it("pins the VTEP MAC and the overlay MTU (underlay 1500 − 50) on bridge and VTEP", async () => {
    expect(mtu).toBe(1450);
    for (const name of hostNames) {
      const vtep = devices.get(`${name}-vtep`)!;
      expect(vtep.outs.hwAddress).toBe((vtep.item.inputs as { macAddress?: string }).macAddress);
      expect(vtep.outs.linkMtu).toBe(1450);
      expect(devices.get(`${name}-bridge`)!.outs.linkMtu).toBe(1450);
      expect(await floodPeers(name, VTEP)).toEqual(
        hostNames
          .filter((h) => h !== name)
          .map((h) => host(h).underlayAddress)
          .sort(),
      );
    }
  });

  it("every namespace pings every other across hosts", async () => {
    for (const [i, from] of hostNames.entries()) {
      for (const [j] of hostNames.entries()) {
        if (i === j) continue;
        expect(await pingEventually(from, NETNS, overlayIp(j)), `${from} → ${overlayIp(j)}`).toBe(true);
      }
    }
  });

  it("a container whose MAC changes in place announces it: another host's container follows without a packet of its own", async () => {
    const veth = attachments.get("h2")!.find((a) => a.item.type === "VethPair")!;
    const neighbourMac = async () => {
      const out = await exec("h1", ["ip", "-n", NETNS, "-json", "neigh", "show", overlayIp(1)]);
      return (JSON.parse(out.stdout.trim() || "[]") as Array<{ lladdr?: string }>)[0]?.lladdr;
    };
    expect(await pingEventually("h1", NETNS, overlayIp(1))).toBe(true);
    expect(await neighbourMac()).toBe((veth.item.inputs as { peerMacAddress?: string }).peerMacAddress);
    const engine = componentEngineFor("VethPair");
    const newMac = "02:00:00:47:11:02";
    const inputs = engine.check({ ...veth.item.inputs, peerMacAddress: newMac }).inputs;
    expect(engine.diff(veth.outs, inputs)).toMatchObject({ changes: true, replaces: [] });
    veth.outs = (await engine.update(veth.id, veth.outs, inputs)).outs;
    veth.item = { ...veth.item, inputs: { ...veth.item.inputs, peerMacAddress: newMac } } as PlanItem;
    // No traffic from h1's container: only h2's gratuitous ARP can have told it.
    let seen: string | undefined;
    for (let i = 0; i < 10 && seen !== newMac; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await neighbourMac();
    }
    expect(seen).toBe(newMac);
    expect(await pingFrom("h1", NETNS, overlayIp(1))).toBe(true);
  });

  it("a do-not-fragment ping at the overlay MTU passes; one byte more fails", async () => {
    expect(await pingFrom("h1", NETNS, overlayIp(1), ["-M", "do", "-s", String(mtu - 28)])).toBe(true);
    expect(await pingFrom("h1", NETNS, overlayIp(2), ["-M", "do", "-s", String(mtu - 28)])).toBe(true);
    expect(await pingFrom("h1", NETNS, overlayIp(1), ["-M", "do", "-s", String(mtu - 27)])).toBe(false);
  });

  /** Brings the flood lists to `plan`'s: one update of the one resource, after asserting it is the plan's only change among the existing resources. */
  async function updateMembership(plan: { items: PlanItem[] }) {
    for (const [key, current] of devices) {
      const next = plan.items.find((i) => i.key === key)!;
      const engine = componentEngineFor(next.type);
      const diff = engine.diff(current.outs, engine.check(next.inputs).inputs);
      expect(diff.replaces, key).toEqual([]);
      expect(diff.changes, key).toBe(key === FLOOD_KEY);
    }
    const flood = devices.get(FLOOD_KEY)!;
    const next = plan.items.find((i) => i.key === FLOOD_KEY)!;
    const engine = componentEngineFor("VxlanFloodLists");
    const { outs } = await engine.update(flood.id, flood.outs, engine.check(next.inputs).inputs);
    devices.set(FLOOD_KEY, { ...flood, item: next, outs });
  }

  it("vm1 joining is its bridge and VTEP created plus the flood lists' one update; traffic reaches the VM's namespace", async () => {
    const plan = planVxlanOverlay({ overlayId: OVERLAY_ID, vni: VNI, hosts: allHosts.map(overlayHost), bridgeName: BRIDGE, vtepName: VTEP });
    expect(plan.mtu).toBe(mtu);
    const joiner = plan.items.filter((i) => i.key.startsWith("vm1-"));
    expect(joiner.map((i) => i.type)).toEqual(["Bridge", "VxlanTunnel"]);
    for (const a of await applyPlan(joiner)) devices.set(a.item.key, a);
    await updateMembership(plan);
    for (const name of hostNames) expect(await floodPeers(name, VTEP), name).toContain(host("vm1").underlayAddress);
    expect(await floodPeers("vm1", VTEP)).toEqual(hostNames.map((h) => host(h).underlayAddress).sort());
    await attach("vm1", 3);
    expect(await pingEventually("h1", NETNS, overlayIp(3))).toBe(true);
    expect(await pingEventually("vm1", NETNS, overlayIp(2))).toBe(true);
  });

  it("vm1 leaving is the flood lists' one update (vm1 itself not touched by it) plus its devices deleted; the rest still talk", async () => {
    const plan = planVxlanOverlay({ overlayId: OVERLAY_ID, vni: VNI, hosts: hostNames.map(overlayHost), bridgeName: BRIDGE, vtepName: VTEP });
    const leaving = [devices.get("vm1-bridge")!, devices.get("vm1-vtep")!];
    devices.delete("vm1-vtep");
    devices.delete("vm1-bridge");
    await updateMembership(plan);
    for (const name of hostNames) expect(await floodPeers(name, VTEP), name).not.toContain(host("vm1").underlayAddress);
    // The leaver's own list stays until its VTEP goes with its own resource.
    expect(await floodPeers("vm1", VTEP)).toEqual(hostNames.map((h) => host(h).underlayAddress).sort());
    await destroyApplied(attachments.get("vm1") ?? []);
    attachments.delete("vm1");
    await destroyApplied(leaving);
    expect((await exec("vm1", ["ip", "link", "show", "dev", VTEP])).exitCode).not.toBe(0);
    expect(await pingEventually("h3", NETNS, overlayIp(0))).toBe(true);
    expect(await pingEventually("h1", NETNS, overlayIp(2))).toBe(true);
  });
});
