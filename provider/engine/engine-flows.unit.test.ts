import { describe, expect, it } from "vitest";
import { FakeHost } from "../../test/support/fake-host";
import { deviceKinds } from "../kinds";
import { DeviceEngine, SCHEMA_VERSION } from "./engine";
import { StepError } from "./host-interface";
import type { DeviceKind } from "./kind";
import { UNKNOWN } from "./validation";

/**
 * The device engine's decisions against a fake host (test/support/fake-host.ts): whose device
 * it may touch, adoption, taking back what a killed `up` left, cleanup after a failed create,
 * dependents, and state it must not misread. Each test asserts on the host as the engine left
 * it and on what the engine returned or threw; the lab keeps what only a kernel can answer.
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
const KEY = "0123456789ab";
const OTHER = "netdev#ffffffffffff";

function setup(type: keyof typeof deviceKinds = "Dummy") {
  const host = new FakeHost();
  const engine = new DeviceEngine(deviceKinds[type] as unknown as DeviceKind, () => host);
  const inputs = (extra: Record<string, unknown> = {}) => ({ connection, name: "d0", ownerKey: KEY, ...extra });
  return { host, engine, inputs };
}

describe("create", () => {
  it("makes the device, tagged, configured and up, in one round trip", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs({ addresses: ["10.1.0.1/24"], mtu: 1400, alias: "uplink" }));
    const link = host.link(undefined, "d0")!;
    expect(link).toMatchObject({ kind: "dummy", ifalias: `netdev#${KEY} uplink`, mtu: 1400, up: true, addresses: ["10.1.0.1/24"] });
    expect(id).toBe(`${host.endpoint}/-/d0#${KEY}`);
    expect(outs).toMatchObject({ schemaVersion: SCHEMA_VERSION, ifindex: link.ifindex, linkMtu: 1400, alias: "uplink" });
    // The host's capability probe (engine/preflight.ts, once per host), then the create itself.
    expect(host.roundTrips).toBe(2);
  });

  it("reads back in the create's own script what the kind reads: a veth's peer in its namespace and its sysctl, a VTEP's FDB", async () => {
    const veth = setup("VethPair");
    const { outs } = await veth.engine.create(veth.inputs({ peerName: "eth0", peerNetns: "c1", peerAnnounce: true, peerAddresses: ["10.2.0.2/24"] }));
    // The probe, then one script: the steps, the device, the peer and the peer's arp_notify.
    expect(veth.host.roundTrips).toBe(2);
    expect(outs).toMatchObject({ peerName: "eth0", peerNetns: "c1", peerAnnounce: true, peerAddresses: ["10.2.0.2/24"], peerUp: true });
    const vtep = setup("VxlanTunnel");
    await vtep.engine.create(vtep.inputs({ vni: 42 }));
    expect(vtep.host.roundTrips).toBe(2);
    // An update: the device and the two reads of its kind sent at once (through the pool they
    // share one exec), then one script that reads back: 4 commands, where reading back apart took 6.
    const trips = veth.host.roundTrips;
    const state = outs as Record<string, unknown>;
    const id = `${veth.host.endpoint}/-/d0#${KEY}`;
    const updated = await veth.engine.update(
      id,
      state,
      veth.inputs({ peerName: "eth0", peerNetns: "c1", peerAnnounce: false, peerAddresses: ["10.2.0.2/24"] }),
    );
    expect(updated.outs).toMatchObject({ peerAnnounce: false });
    expect(veth.host.roundTrips - trips).toBe(4);
  });

  it("warns, once and without a round trip of its own, that systemd-networkd running there claims a name like ve-*", async () => {
    const { host, engine, inputs } = setup();
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => void warnings.push(message);
    try {
      await engine.create(inputs({ name: "ve-web" }));
      expect(host.roundTrips).toBe(2);
      expect(warnings).toEqual([expect.stringMatching(/ve-web on .*systemd-networkd runs there.*80-container-ve\.network/)]);
      await engine.create(inputs({ name: "d1" }));
      expect(warnings).toHaveLength(1);
    } finally {
      console.warn = original;
    }
  });

  it("refuses a device tagged by another owner, and leaves it as it was", async () => {
    const { host, engine, inputs } = setup();
    host.addLink(undefined, "d0", "dummy", { ifalias: OTHER, addresses: ["10.9.0.1/24"] });
    await expect(engine.create(inputs())).rejects.toThrow(/already exists .*set adopt: true/);
    await expect(engine.create(inputs({ adopt: true }))).rejects.toThrow(/already managed by another netdev resource \(owner tag ffffffffffff\)/);
    expect(host.link(undefined, "d0")).toMatchObject({ ifalias: OTHER, addresses: ["10.9.0.1/24"], up: false });
  });

  it("adopts an untagged device of its kind: same device, converged, tagged", async () => {
    const { host, engine, inputs } = setup();
    const before = host.addLink(undefined, "d0", "dummy", { ifalias: "by hand", addresses: ["10.9.0.1/24"] });
    const { outs } = await engine.create(inputs({ adopt: true, addresses: ["10.1.0.1/24"] }));
    expect(host.link(undefined, "d0")).toMatchObject({ ifindex: before.ifindex, ifalias: `netdev#${KEY}`, addresses: ["10.1.0.1/24"], up: true });
    expect(outs.ifindex).toBe(before.ifindex);
  });

  it("refuses to adopt a device of another kind", async () => {
    const { host, engine, inputs } = setup();
    host.addLink(undefined, "d0", "bridge");
    await expect(engine.create(inputs({ adopt: true }))).rejects.toThrow(/cannot adopt .*it is a bridge device, not dummy/);
    expect(host.link(undefined, "d0")).toMatchObject({ kind: "bridge" });
    expect(host.link(undefined, "d0")!.ifalias).toBeUndefined();
  });

  it("takes back the device a killed `up` left with this resource's tag, without adopt", async () => {
    const { host, engine, inputs } = setup();
    const left = host.addLink(undefined, "d0", "dummy", { ifalias: `netdev#${KEY}` });
    const { id } = await engine.create(inputs({ addresses: ["10.1.0.1/24"] }));
    expect(id.endsWith(`#${KEY}`)).toBe(true);
    expect(host.linkNames()).toEqual(["d0"]);
    expect(host.link(undefined, "d0")).toMatchObject({ ifindex: left.ifindex, up: true, addresses: ["10.1.0.1/24"] });
  });

  it("leaves nothing behind when a step fails mid-create: device, implicit namespace, boot files", async () => {
    const { host, engine, inputs } = setup();
    host.failOn("addr add", "RTNETLINK answers: Permission denied");
    const error = await engine.create(inputs({ netns: "c1", addresses: ["10.1.0.1/24"], persist: "networkd" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).field).toBe("addresses");
    expect(host.namespaceNames()).toEqual([]);
    expect(host.linkNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
  });

  it("removes the implicit namespace it made when the add itself is refused", async () => {
    const { host, engine, inputs } = setup();
    host.failOn("type dummy", "Error: Unknown device type.");
    await expect(engine.create(inputs({ netns: "c1" }))).rejects.toThrow(/lacks dummy support/);
    expect(host.namespaceNames()).toEqual([]);
  });

  it("keeps a namespace that is not implicit when cleaning up", async () => {
    const { host, engine, inputs } = setup();
    host.addNamespace("c1", `netdev#${"e".repeat(12)}`);
    host.failOn("link set dev d0 up");
    await expect(engine.create(inputs({ netns: "c1" }))).rejects.toThrow(StepError);
    expect(host.namespaceNames()).toEqual(["c1"]);
    expect(host.linkNames("c1")).toEqual([]);
  });
});

describe("read, update, delete", () => {
  async function created(extra: Record<string, unknown> = {}) {
    const context = setup();
    const { id, outs } = await context.engine.create(context.inputs(extra));
    return { ...context, id, state: { ...context.inputs(extra), ...outs } };
  }

  it("read reports drift, and an empty id once the device is gone or someone else's", async () => {
    const { host, engine, id, state } = await created({ addresses: ["10.1.0.1/24"] });
    host.link(undefined, "d0")!.addresses = ["10.1.0.2/24"];
    expect((await engine.read(id, state)).inputs).toMatchObject({ addresses: ["10.1.0.2/24"] });
    host.link(undefined, "d0")!.ifalias = OTHER;
    expect(await engine.read(id, state)).toEqual({ id: "", props: {} });
  });

  it("read keeps a device whose tag was cleared by hand, and the next update tags it again", async () => {
    const { host, engine, id, state, inputs } = await created();
    host.link(undefined, "d0")!.ifalias = undefined;
    const read = await engine.read(id, state);
    expect(read).toMatchObject({ id, props: { tagLost: true } });
    expect(engine.diff(read.props, inputs()).changes).toBe(true);
    await engine.update(id, read.props, inputs());
    expect(host.link(undefined, "d0")!.ifalias).toBe(`netdev#${KEY}`);
  });

  it("update converges in place and refuses a device that is no longer its own", async () => {
    const { host, engine, id, state, inputs } = await created();
    await engine.update(id, state, inputs({ mtu: 9000, up: false }));
    expect(host.link(undefined, "d0")).toMatchObject({ mtu: 9000, up: false });
    host.link(undefined, "d0")!.ifalias = OTHER;
    await expect(engine.update(id, state, inputs({ mtu: 1500 }))).rejects.toThrow(/no longer the device this resource created/);
    expect(host.link(undefined, "d0")!.mtu).toBe(9000);
  });

  it("delete removes its own device and the implicit namespace it was in", async () => {
    const { host, engine, id, state } = await created({ netns: "c1" });
    expect(host.namespaceNames()).toEqual(["c1"]);
    await engine.delete(id, state);
    expect(host.namespaceNames()).toEqual([]);
    await expect(engine.delete(id, state)).resolves.toBeUndefined();
  });

  it("delete refuses a device someone else tagged since, and leaves it", async () => {
    const { host, engine, id, state } = await created();
    host.link(undefined, "d0")!.ifalias = OTHER;
    await expect(engine.delete(id, state)).rejects.toThrow(/refusing to delete .*owner tag ffffffffffff, expected 0123456789ab/);
    expect(host.linkNames()).toEqual(["d0"]);
  });

  it("delete removes the boot files it wrote, and only those", async () => {
    const { host, engine, id, state } = await created({ persist: "networkd" });
    const written = [...host.files.keys()];
    expect(written.length).toBeGreaterThan(0);
    host.files.set("/etc/systemd/network/10-pulumi-netdev-other.netdev", { content: "# someone else's", mode: "0644" });
    await engine.delete(id, state);
    expect([...host.files.keys()]).toEqual(["/etc/systemd/network/10-pulumi-netdev-other.netdev"]);
  });

  it("refuses state written by a newer schema, touching nothing", async () => {
    const { host, engine, id, state, inputs } = await created();
    const newer = { ...state, schemaVersion: SCHEMA_VERSION + 1 };
    const trips = host.roundTrips;
    await expect(engine.read(id, newer)).rejects.toThrow(/newer pulumi-netdev \(schema 2; this one understands up to 1\)/);
    await expect(engine.update(id, newer, inputs({ mtu: 9000 }))).rejects.toThrow(/newer pulumi-netdev/);
    await expect(engine.delete(id, newer)).rejects.toThrow(/newer pulumi-netdev/);
    expect(host.roundTrips).toBe(trips);
    expect(host.link(undefined, "d0")!.mtu).toBe(1500);
  });
});

describe("connection changes", () => {
  it("turning preflight on or off is no change; a new credential is an update; another host replaces", () => {
    const { engine, inputs } = setup();
    const withConnection = (extra: Record<string, unknown>) => ({ ...inputs(), connection: { ...connection, ...extra } });
    expect(engine.diff(inputs(), withConnection({ preflight: true })).changes).toBe(false);
    expect(engine.diff(withConnection({ preflight: true }), withConnection({ preflight: false })).changes).toBe(false);
    expect(engine.diff(withConnection({ preflight: true }), withConnection({ preflight: true, privateKey: "rotated" }))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(engine.diff(inputs(), withConnection({ host: "10.0.0.2" })).replaces).toEqual(["connection"]);
  });
});

describe("dependents", () => {
  it("a master not yet known replaces its member, before the member is made again", () => {
    const { engine, inputs } = setup();
    expect(engine.diff(inputs({ master: "br0" }), inputs({ master: UNKNOWN }))).toEqual({ changes: true, replaces: ["master"], deleteBeforeReplace: true });
    expect(engine.diff(inputs({ master: "br0" }), inputs({ master: "br1" }))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("a member comes back to its master after the master was replaced", async () => {
    const host = new FakeHost();
    const bridges = new DeviceEngine(deviceKinds.Bridge as unknown as DeviceKind, () => host);
    const dummies = new DeviceEngine(deviceKinds.Dummy as unknown as DeviceKind, () => host);
    const bridgeInputs = { connection, name: "br0", ownerKey: "00000000000b" };
    const memberInputs = { connection, name: "d0", ownerKey: KEY, master: "br0" };
    const bridge = await bridges.create(bridgeInputs);
    const member = await dummies.create(memberInputs);
    expect(host.link(undefined, "d0")!.master).toBe("br0");
    // Replacing the bridge: the kernel releases its members with it.
    await bridges.delete(bridge.id, { ...bridgeInputs, ...bridge.outs });
    expect(host.link(undefined, "d0")!.master).toBeUndefined();
    const replaced = await bridges.create(bridgeInputs);
    await dummies.update(member.id, { ...memberInputs, ...member.outs }, memberInputs);
    expect(host.link(undefined, "d0")!.master).toBe("br0");
    expect(host.link(undefined, "br0")!.ifindex).toBe(replaced.outs.ifindex);
  });

  it("a device in a namespace a NetworkNamespace owns stays when the device goes", async () => {
    const { host, engine, inputs } = setup();
    host.addNamespace("web", `netdev#${"e".repeat(12)}`);
    const { id, outs } = await engine.create(inputs({ netns: "web" }));
    await engine.delete(id, { ...inputs({ netns: "web" }), ...outs });
    expect(host.namespaceNames()).toEqual(["web"]);
  });
});
