import path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labStack } from "../../lab/stack";
import { host } from "../support/lab-hosts";
import { hostLink, onHost } from "../support/lifecycle";

/**
 * When the kernel takes a device's dependents with it (a master's members are released, a
 * parent's macvlan, a lower device's VXLAN, a route through a device and the devices in a
 * namespace are deleted), a replaced device must not leave them gone or loose while the state
 * says they are fine. A program that names the device by its Output (`master: vrf.name`, not
 * the string) gives Pulumi the dependency; these tests replace each kind of master, parent and
 * namespace under a real `pulumi up` and check that preview announces the dependents'
 * replacement, that after one `up` every dependent is back as declared, and that the next
 * preview is empty.
 */
const ref = (resource: string) => ({ $ref: resource, output: "name" });
interface Device {
  type: string;
  resourceName: string;
  host: string;
  inputs: Record<string, unknown>;
}

const devices = (o: { vrfTable: number; v1Peer: string }): Device[] => [
  // On h1 (this machine's kernel): a bridge with a member veth and a route through it.
  { type: "Bridge", resourceName: "br", host: "h1", inputs: { name: "nddbr", addresses: ["10.99.0.1/24"] } },
  { type: "VethPair", resourceName: "member", host: "h1", inputs: { name: "nddv0", peerName: "nddv0p", master: ref("br") } },
  { type: "Route", resourceName: "route", host: "h1", inputs: { destination: "10.99.1.0/24", dev: ref("br") } },
  // A namespace holding a veth's peer end.
  { type: "NetworkNamespace", resourceName: "ns", host: "h1", inputs: { name: "ndd-ns" } },
  { type: "VethPair", resourceName: "into-ns", host: "h1", inputs: { name: "nddv2", peerName: "eth0", peerNetns: ref("ns") } },
  // A chain: a VTEP on a veth (its lower device), a macvlan on the VTEP (its parent).
  { type: "VethPair", resourceName: "lower", host: "h1", inputs: { name: "nddv1", peerName: o.v1Peer } },
  { type: "VxlanTunnel", resourceName: "vtep", host: "h1", inputs: { name: "nddvx", vni: 4720, remote: "10.247.0.12", dev: ref("lower") } },
  { type: "Macvlan", resourceName: "macvlan", host: "h1", inputs: { name: "nddmv", parent: ref("vtep") } },
  // On vm1 (VRF and dummy need its kernel): the issue's own case, a VRF whose new table replaces it.
  { type: "Vrf", resourceName: "vrf", host: "vm1", inputs: { name: "nddvrf", table: o.vrfTable } },
  { type: "Dummy", resourceName: "vrf-member", host: "vm1", inputs: { name: "nddd0", master: ref("vrf") } },
];

describe("dependents of a replaced device come back as declared (real engine)", () => {
  let stack: Stack;
  const spec = { hosts: { h1: host("h1"), vm1: host("vm1") }, devices: [] as Device[] };
  const setDevices = (list: Device[]) => {
    spec.devices = list;
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
  };
  const urnOf = async (resourceName: string) => {
    const state = await stack.exportStack();
    const found = (state.deployment.resources as Array<{ urn: string }>).find((r) => r.urn.endsWith(`::${resourceName}`));
    if (!found) throw new Error(`no ${resourceName} in the stack`);
    return found.urn;
  };
  /** What preview plans for each resource (by name), replacements only. */
  const plannedReplacements = async (replace: string[] = []) => {
    const ops = new Map<string, string>();
    await stack.preview({
      replace,
      onEvent: (event: EngineEvent) => {
        const step = event.resourcePreEvent?.metadata;
        if (step && /replace/.test(step.op)) ops.set(step.urn.slice(step.urn.lastIndexOf("::") + 2), "replace");
      },
    });
    return [...ops.keys()].sort();
  };
  const expectNoChanges = async () => {
    const preview = await stack.preview();
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  };
  const masterOf = async (hostName: string, name: string) => (await hostLink(hostName, undefined, name))?.master;

  beforeAll(async () => {
    for (const argv of [
      ["ip", "link", "del", "nddbr"],
      ["ip", "link", "del", "nddv0"],
      ["ip", "link", "del", "nddv1"],
      ["ip", "link", "del", "nddv2"],
      ["ip", "link", "del", "nddvx"],
      ["ip", "link", "del", "nddmv"],
      ["ip", "netns", "del", "ndd-ns"],
    ]) {
      await onHost("h1", argv).catch(() => undefined);
    }
    for (const name of ["nddd0", "nddvrf"]) await onHost("vm1", ["ip", "link", "del", name]).catch(() => undefined);
    setDevices(devices({ vrfTable: 10, v1Peer: "nddv1p" }));
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "dependents"));
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
  }, 300_000);

  afterAll(async () => {
    await stack?.destroy({}).catch(() => undefined);
  }, 300_000);

  it("a replaced bridge: its member veth and the route through it are replaced with it", async () => {
    const br = await urnOf("br");
    expect(await plannedReplacements([br])).toEqual(["br", "member", "route"]);
    const ifindexBefore = (await hostLink("h1", undefined, "nddbr")).ifindex;
    const up = await stack.up({ replace: [br] });
    expect(up.summary.result).toBe("succeeded");
    expect((await hostLink("h1", undefined, "nddbr")).ifindex).not.toBe(ifindexBefore);
    expect(await masterOf("h1", "nddv0")).toBe("nddbr");
    expect(await onHost("h1", ["ip", "route", "show", "10.99.1.0/24"])).toMatch(/dev nddbr/);
    await expectNoChanges();
  }, 300_000);

  it("a replaced namespace: the veth whose peer lives there is replaced with it", async () => {
    const ns = await urnOf("ns");
    expect(await plannedReplacements([ns])).toEqual(["into-ns", "ns"]);
    const up = await stack.up({ replace: [ns] });
    expect(up.summary.result).toBe("succeeded");
    expect((await hostLink("h1", "ndd-ns", "eth0"))?.link_index).toBeDefined();
    expect(await hostLink("h1", undefined, "nddv2")).toBeDefined();
    await expectNoChanges();
  }, 300_000);

  it("a replaced lower device: the VTEP on it and the macvlan on the VTEP are replaced in turn", async () => {
    setDevices(devices({ vrfTable: 10, v1Peer: "nddv1q" }));
    expect(await plannedReplacements()).toEqual(["lower", "macvlan", "vtep"]);
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const lower = await hostLink("h1", undefined, "nddv1");
    const vtep = await hostLink("h1", undefined, "nddvx");
    expect(vtep.linkinfo.info_data.link).toBe(lower.ifname);
    expect((await hostLink("h1", undefined, "nddmv")).link).toBe("nddvx");
    await expectNoChanges();
  }, 300_000);

  it("a VRF replaced for a new table: its member is enslaved to the new VRF", async () => {
    setDevices(devices({ vrfTable: 11, v1Peer: "nddv1q" }));
    expect(await plannedReplacements()).toEqual(["vrf", "vrf-member"]);
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect((await hostLink("vm1", undefined, "nddvrf")).linkinfo.info_data.table).toBe(11);
    expect(await masterOf("vm1", "nddd0")).toBe("nddvrf");
    await expectNoChanges();
  }, 300_000);
});
