import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { floodPeers, removeLeftovers } from "../../../test/support/components";
import { connection, connectionInput } from "../../../test/support/lab-hosts";
import { sshPool } from "../../ssh/pool";
import { hostLink, onHost } from "../../../test/support/lifecycle";
import { HOST_KEY_DIFFERS, wireguardPublicKey } from "../../kinds/wireguard/wireguard";
import { withSecretsScrubbed } from "../../engine/provider-boundary";
import { hostDevicesEngine as engine, HOST_DEVICES_SECRET_FIELDS } from "./host-devices";

const NS = "ndh-ns";
const LINKS = ["ndh-br0", "ndh-br1", "ndh-v0", "ndh-v1", "ndh-vx", "ndh-mv", "ndh-mv2", "ndh-tap", "ndh-ifb"];

/** The devices of one host as one resource, through its engine, on lab host h2's kernel. */
const devices = (o: { mtu: number; macvlan: string; withIfb: boolean; withBr1: boolean }) => ({
  br: { kind: "bridge", name: "ndh-br0", mtu: o.mtu },
  ...(o.withBr1 ? { br1: { kind: "bridge", name: "ndh-br1" } } : {}),
  // Its peer in a namespace the device makes (and removes with it); this end on the bridge.
  // The ports at the bridge's MTU: a bridge made with an MTU takes its smallest port's when ports join.
  v: { kind: "veth", name: "ndh-v0", peerName: "eth0", peerNetns: NS, master: "ndh-br0", mtu: 1450 },
  vx: { kind: "vxlan", name: "ndh-vx", vni: 4242, dstPort: 4789, learning: false, peers: ["10.247.0.13"], master: "ndh-br0", mtu: 1450 },
  // A bridge port cannot carry macvlans (the kernel answers "busy"): a veth of its own.
  v1: { kind: "veth", name: "ndh-v1", peerName: "ndh-v1p" },
  mv: { kind: "macvlan", name: o.macvlan, parent: "ndh-v1" },
  tap: { kind: "tun", name: "ndh-tap", mode: "tap", master: "ndh-br0", mtu: 1450 },
  ...(o.withIfb ? { ifb: { kind: "ifb", name: "ndh-ifb" } } : {}),
});

describe("HostDevices engine on h2", () => {
  beforeAll(async () => removeLeftovers("h2", LINKS, [NS]));
  afterAll(async () => removeLeftovers("h2", LINKS, [NS]));

  it("create → read → in place, replace inside, add, remove → drift on refresh → delete", async () => {
    const check = (o: Parameters<typeof devices>[0]) => {
      const checked = engine.check({ connection: connectionInput("h2"), devices: devices(o) });
      expect(checked.failures).toEqual([]);
      return checked.inputs;
    };
    const first = check({ mtu: 1450, macvlan: "ndh-mv", withIfb: true, withBr1: false });
    const { id, outs } = await engine.create(first);
    const br = await hostLink("h2", undefined, "ndh-br0");
    expect(br).toMatchObject({ mtu: 1450, linkinfo: { info_kind: "bridge" } });
    expect(br.ifalias).toMatch(/^netdev#[0-9a-f]{12}$/);
    for (const name of ["ndh-v0", "ndh-vx", "ndh-tap"]) expect((await hostLink("h2", undefined, name))?.master, name).toBe("ndh-br0");
    expect((await hostLink("h2", NS, "eth0"))?.linkinfo.info_kind).toBe("veth");
    expect((await hostLink("h2", undefined, "ndh-mv"))?.linkinfo.info_kind).toBe("macvlan");
    expect((await hostLink("h2", undefined, "ndh-ifb"))?.linkinfo.info_kind).toBe("ifb");
    expect(await floodPeers("h2", "ndh-vx")).toEqual(["10.247.0.13"]);
    const made = outs.devices as Record<string, Record<string, unknown>>;
    expect(made.br).toMatchObject({ kind: "bridge", ifindex: br.ifindex, linkMtu: 1450, hwAddress: br.address });
    // Every device its own owner tag.
    const tags = await Promise.all(
      ["ndh-br0", "ndh-v0", "ndh-vx", "ndh-mv", "ndh-tap", "ndh-ifb"].map(async (n) => (await hostLink("h2", undefined, n)).ifalias),
    );
    expect(new Set(tags).size).toBe(6);

    // Refresh: the same devices, no changes against the inputs.
    const read = await engine.read(id, outs);
    expect(read.id).toBe(id);
    expect(Object.keys(read.props.devices as object).sort()).toEqual(["br", "ifb", "mv", "tap", "v", "v1", "vx"]);
    expect(engine.diff(read.props, first)).toMatchObject({ changes: false });

    // In place (the bridge's MTU), a replacement inside the update (the macvlan's name), one added, one removed.
    const second = check({ mtu: 1400, macvlan: "ndh-mv2", withIfb: false, withBr1: true });
    expect(engine.deviceChanges(read.props.devices, second.devices)).toMatchObject({ br: "update", mv: "replace", br1: "add", ifb: "delete", v: "none" });
    expect(engine.diff(read.props, second)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs: updated } = await engine.update(id, read.props, second);
    expect(await hostLink("h2", undefined, "ndh-br0")).toMatchObject({ ifindex: br.ifindex, mtu: 1400 });
    expect(await hostLink("h2", undefined, "ndh-mv")).toBeUndefined();
    expect((await hostLink("h2", undefined, "ndh-mv2"))?.linkinfo.info_kind).toBe("macvlan");
    expect(await hostLink("h2", undefined, "ndh-ifb")).toBeUndefined();
    expect((await hostLink("h2", undefined, "ndh-br1"))?.ifalias).toMatch(/^netdev#/);
    expect(Object.keys(updated.devices as object).sort()).toEqual(["br", "br1", "mv", "tap", "v", "v1", "vx"]);

    // Drift: an MTU changed by hand shows on that device; a device deleted by hand leaves the outputs.
    await onHost("h2", ["ip", "link", "set", "dev", "ndh-br0", "mtu", "1300"]);
    await onHost("h2", ["ip", "link", "del", "dev", "ndh-br1"]);
    const drifted = await engine.read(id, updated);
    const observed = drifted.inputs!.devices as Record<string, Record<string, unknown>>;
    expect(observed.br).toMatchObject({ kind: "bridge", mtu: 1300 });
    expect(observed.br1).toBeUndefined();
    expect(engine.deviceChanges(drifted.props.devices, second.devices)).toMatchObject({ br: "update", br1: "add", v: "none" });
    // The next `up` puts both back.
    const { outs: repaired } = await engine.update(id, drifted.props, second);
    expect((await hostLink("h2", undefined, "ndh-br0"))?.mtu).toBe(1400);
    expect(await hostLink("h2", undefined, "ndh-br1")).toBeDefined();

    await engine.delete(id, repaired);
    for (const name of LINKS) expect(await hostLink("h2", undefined, name), name).toBeUndefined();
    expect(await onHost("h2", ["ip", "netns", "list"])).not.toContain(NS);
  }, 60_000);

  it("a create that fails partway removes what it made, and a device of another owner is left alone", async () => {
    await removeLeftovers("h2", LINKS, [NS]);
    await onHost("h2", ["ip", "link", "add", "ndh-br1", "type", "bridge"]);
    await onHost("h2", ["ip", "link", "set", "dev", "ndh-br1", "alias", "netdev#ffffffffffff"]);
    const inputs = engine.check({
      connection: connectionInput("h2"),
      devices: { a: { kind: "bridge", name: "ndh-br0" }, b: { kind: "bridge", name: "ndh-br1" }, c: { kind: "bridge", name: "ndh-ifb" } },
    }).inputs;
    await expect(engine.create(inputs)).rejects.toThrow(/ndh-br1 .*already exists/);
    expect(await hostLink("h2", undefined, "ndh-br0")).toBeUndefined();
    expect((await hostLink("h2", undefined, "ndh-br1"))?.ifalias).toBe("netdev#ffffffffffff");
    await onHost("h2", ["ip", "link", "del", "dev", "ndh-br1"]);
  }, 60_000);
});

/** A fresh WireGuard private key (what `wg genkey` prints). */
function genkey(): string {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("base64");
}

// This machine's kernel (and so h1-h3) has no wireguard: the VM lab host's Debian kernel does.
describe("HostDevices with a WireGuard interface on vm1", () => {
  const VM = "vm1";
  const WG_LINKS = ["ndhwg0", "ndhwgbr", "ndhwgvx"];
  beforeAll(async () => removeLeftovers(VM, WG_LINKS, []));
  afterAll(async () => removeLeftovers(VM, WG_LINKS, []));

  it("an overlay host's interface, bridge and VTEP as one resource: create, refresh, a key changed by hand, a new key, delete", async () => {
    const [K1, K2, PEER] = [genkey(), genkey(), genkey()];
    const peer = { publicKey: wireguardPublicKey(PEER), endpoint: "10.247.0.102:51840", allowedIps: ["10.98.0.2/32"] };
    const inputs = (privateKey: string) => {
      const checked = engine.check({
        connection: connectionInput(VM),
        devices: {
          wg: { kind: "wireguard", name: "ndhwg0", listenPort: 51840, mtu: 1420, addresses: ["10.98.0.1/24"], peers: [peer] },
          bridge: { kind: "bridge", name: "ndhwgbr", mtu: 1370 },
          vtep: { kind: "vxlan", name: "ndhwgvx", vni: 4243, dstPort: 4789, local: "10.98.0.1", learning: false, master: "ndhwgbr", mtu: 1370 },
        },
        privateKeys: { wg: privateKey },
      });
      expect(checked.failures).toEqual([]);
      return checked.inputs;
    };
    const wgShow = async (what: string) => (await onHost(VM, ["wg", "show", "ndhwg0", what])).trim();
    // As the dynamic provider calls it: every message scrubbed of the keys.
    const provider = withSecretsScrubbed(engine, HOST_DEVICES_SECRET_FIELDS);

    const { id, outs } = await provider.create(inputs(K1));
    expect(await wgShow("public-key")).toBe(wireguardPublicKey(K1));
    expect(await wgShow("listen-port")).toBe("51840");
    expect(await wgShow("allowed-ips")).toBe(`${peer.publicKey}\t10.98.0.2/32`);
    const wg = await hostLink(VM, undefined, "ndhwg0");
    expect(wg).toMatchObject({ mtu: 1420, linkinfo: { info_kind: "wireguard" } });
    expect(wg.ifalias).toMatch(/^netdev#[0-9a-f]{12}$/);
    expect((await hostLink(VM, undefined, "ndhwgvx"))?.master).toBe("ndhwgbr");
    const devices = outs.devices as Record<string, Record<string, unknown>>;
    expect(devices.wg).toMatchObject({ kind: "wireguard", ifindex: wg.ifindex, publicKey: wireguardPublicKey(K1), listenPort: 51840 });
    expect(JSON.stringify(outs.devices)).not.toContain(K1);
    expect(outs.privateKeys).toEqual({ wg: K1 });

    // Refresh: nothing changed.
    const read = await provider.read(id, outs);
    expect(provider.diff(read.props, inputs(K1))).toMatchObject({ changes: false });

    // A key set by hand (through stdin, as the provider does): drift of privateKeys, never the host's key; the update sets it back.
    const other = genkey();
    await sshPool().run(connection(VM), ["wg", "set", "ndhwg0", "private-key", "/proc/self/fd/0"], { stdin: `${other}\n` });
    const drifted = await provider.read(id, read.props);
    expect(drifted.props.privateKeys).toEqual({ wg: HOST_KEY_DIFFERS });
    expect(JSON.stringify(drifted)).not.toContain(other);
    const { outs: restored } = await provider.update(id, drifted.props, inputs(K1));
    expect(await wgShow("public-key")).toBe(wireguardPublicKey(K1));

    // A new key: in place, the same interface; its peers and the VTEP on it stay.
    expect(provider.diff(restored, inputs(K2))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs: rotated } = await provider.update(id, restored, inputs(K2));
    expect(await wgShow("public-key")).toBe(wireguardPublicKey(K2));
    expect((await hostLink(VM, undefined, "ndhwg0"))?.ifindex).toBe(wg.ifindex);
    expect(await wgShow("allowed-ips")).toBe(`${peer.publicKey}\t10.98.0.2/32`);
    expect((rotated.devices as Record<string, Record<string, unknown>>).wg!.publicKey).toBe(wireguardPublicKey(K2));
    expect(provider.diff((await provider.read(id, rotated)).props, inputs(K2))).toMatchObject({ changes: false });

    await provider.delete(id, rotated);
    for (const name of WG_LINKS) expect(await hostLink(VM, undefined, name), name).toBeUndefined();
  }, 120_000);
});

describe("HostDevices with the kinds only a full kernel has, on vm1", () => {
  const VM = "vm1";
  const KIND_LINKS = ["ndhk-d0", "ndhk-d1", "ndhk-vl", "ndhk-vl2", "ndhk-ipv", "ndhk-bond", "ndhk-m0", "ndhk-vrf", "ndhk-m1", "ndhk-gre", "ndhk-gnv"];
  beforeAll(async () => removeLeftovers(VM, KIND_LINKS, []));
  afterAll(async () => removeLeftovers(VM, KIND_LINKS, []));

  /** Every such kind on one host as one resource: VLAN and ipvlan on dummies, a bond and a VRF with a dummy member each, GRE and Geneve tunnels. */
  const kindDevices = (o: { bondMode: string; vlan: { name: string; id: number }; vlanMtu: number }) => ({
    d0: { kind: "dummy", name: "ndhk-d0" },
    d1: { kind: "dummy", name: "ndhk-d1" },
    vlan: { kind: "vlan", name: o.vlan.name, parent: "ndhk-d0", vlanId: o.vlan.id, mtu: o.vlanMtu },
    ipvlan: { kind: "ipvlan", name: "ndhk-ipv", parent: "ndhk-d1", mode: "l2" },
    bond: { kind: "bond", name: "ndhk-bond", mode: o.bondMode, miimon: 100 },
    m0: { kind: "dummy", name: "ndhk-m0", master: "ndhk-bond" },
    vrf: { kind: "vrf", name: "ndhk-vrf", table: 4242 },
    m1: { kind: "dummy", name: "ndhk-m1", master: "ndhk-vrf" },
    gre: { kind: "gre", name: "ndhk-gre", mode: "gre", remote: "10.247.0.102", ttl: 64 },
    geneve: { kind: "geneve", name: "ndhk-gnv", vni: 4245, remote: "10.247.0.102" },
  });

  it("create → read → bond mode and VLAN MTU in place, a new VLAN id replaced inside → drift → delete", async () => {
    const check = (o: Parameters<typeof kindDevices>[0]) => {
      const checked = engine.check({ connection: connectionInput(VM), devices: kindDevices(o) });
      expect(checked.failures).toEqual([]);
      return checked.inputs;
    };
    const first = check({ bondMode: "active-backup", vlan: { name: "ndhk-vl", id: 10 }, vlanMtu: 1400 });
    const { id, outs } = await engine.create(first);
    const kinds: Record<string, string> = {
      "ndhk-d0": "dummy",
      "ndhk-vl": "vlan",
      "ndhk-ipv": "ipvlan",
      "ndhk-bond": "bond",
      "ndhk-vrf": "vrf",
      "ndhk-gre": "gre",
      "ndhk-gnv": "geneve",
    };
    for (const [name, kind] of Object.entries(kinds)) expect((await hostLink(VM, undefined, name))?.linkinfo.info_kind, name).toBe(kind);
    const vlan = await hostLink(VM, undefined, "ndhk-vl");
    expect(vlan).toMatchObject({ mtu: 1400, link: "ndhk-d0", linkinfo: { info_data: { id: 10 } } });
    expect((await hostLink(VM, undefined, "ndhk-m0"))?.master).toBe("ndhk-bond");
    expect((await hostLink(VM, undefined, "ndhk-m1"))?.master).toBe("ndhk-vrf");
    const bond = await hostLink(VM, undefined, "ndhk-bond");
    expect(bond.linkinfo.info_data.mode).toBe("active-backup");
    const tags = await Promise.all(KIND_LINKS.filter((n) => n !== "ndhk-vl2").map(async (n) => (await hostLink(VM, undefined, n)).ifalias));
    expect(new Set(tags).size).toBe(10);
    expect((outs.devices as Record<string, Record<string, unknown>>).bond).toMatchObject({ kind: "bond", ifindex: bond.ifindex });

    // Refresh: nothing changed.
    const read = await engine.read(id, outs);
    expect(engine.diff(read.props, first)).toMatchObject({ changes: false });

    // The bond's mode in place (its member released and enslaved again), the VLAN's MTU in place; a new VLAN id replaces that device alone.
    const second = check({ bondMode: "balance-rr", vlan: { name: "ndhk-vl", id: 10 }, vlanMtu: 1300 });
    expect(engine.deviceChanges(read.props.devices, second.devices)).toMatchObject({ bond: "update", vlan: "update", m0: "none", gre: "none" });
    const { outs: updated } = await engine.update(id, read.props, second);
    expect(await hostLink(VM, undefined, "ndhk-bond")).toMatchObject({ ifindex: bond.ifindex, linkinfo: { info_data: { mode: "balance-rr" } } });
    expect((await hostLink(VM, undefined, "ndhk-m0"))?.master).toBe("ndhk-bond");
    expect(await hostLink(VM, undefined, "ndhk-vl")).toMatchObject({ ifindex: vlan.ifindex, mtu: 1300 });
    const third = check({ bondMode: "balance-rr", vlan: { name: "ndhk-vl2", id: 20 }, vlanMtu: 1300 });
    expect(engine.deviceChanges(updated.devices, third.devices)).toMatchObject({ vlan: "replace", d0: "none" });
    const { outs: replaced } = await engine.update(id, updated, third);
    expect(await hostLink(VM, undefined, "ndhk-vl")).toBeUndefined();
    expect(await hostLink(VM, undefined, "ndhk-vl2")).toMatchObject({ link: "ndhk-d0", linkinfo: { info_data: { id: 20 } } });

    // Drift: a tunnel deleted by hand and a member released by hand show on those devices; the next `up` puts both back.
    await onHost(VM, ["ip", "link", "del", "dev", "ndhk-gre"]);
    await onHost(VM, ["ip", "link", "set", "dev", "ndhk-m1", "nomaster"]);
    const drifted = await engine.read(id, replaced);
    expect((drifted.inputs!.devices as Record<string, unknown>).gre).toBeUndefined();
    expect(engine.deviceChanges(drifted.props.devices, third.devices)).toMatchObject({ gre: "add", m1: "update", vrf: "none" });
    const { outs: repaired } = await engine.update(id, drifted.props, third);
    expect((await hostLink(VM, undefined, "ndhk-gre"))?.linkinfo.info_kind).toBe("gre");
    expect((await hostLink(VM, undefined, "ndhk-m1"))?.master).toBe("ndhk-vrf");
    expect(engine.diff((await engine.read(id, repaired)).props, third)).toMatchObject({ changes: false });

    await engine.delete(id, repaired);
    for (const name of KIND_LINKS) expect(await hostLink(VM, undefined, name), name).toBeUndefined();
  }, 180_000);
});
