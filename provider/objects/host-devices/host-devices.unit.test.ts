import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../test/support/fake-host";
import { withSecretsScrubbed } from "../../engine/provider-boundary";
import { HOST_KEY_DIFFERS, wireguardPublicKey } from "../../kinds/wireguard/wireguard";
import { deviceToken, HOST_DEVICES_SECRET_FIELDS, HostDevicesEngine, scripts } from "./host-devices";

/**
 * HostDevices against a fake host (test/support/fake-host.ts): round trips per operation, the
 * per-device diff, replacement inside an update, drift, take-back after a killed `up` and
 * cleanup after a failed create. The lab test (host-devices.test.ts) runs the same on a kernel.
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
const KEY = "0123456789ab";

function setup() {
  const host = new FakeHost();
  const engine = new HostDevicesEngine(() => host);
  const bridges = (count: number, extra: Record<string, unknown> = {}) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`br${i}`, { kind: "bridge", name: `ndh-br${i}`, ...extra }]));
  const inputs = (devices: Record<string, unknown>) => engine.check({ connection, ownerKey: KEY, devices }).inputs;
  const create = (devices: Record<string, unknown>) => engine.create(inputs(devices));
  return { host, engine, bridges, inputs, create };
}

const tagOf = (key: string) => `netdev#${deviceToken(KEY, key)}`;

describe("HostDevices on a fake host", () => {
  it("creates many devices in one round trip (after the host's capability probe), each tagged with its own token", async () => {
    const { host, create, bridges } = setup();
    const { id, outs } = await create(bridges(20, { mtu: 1400 }));
    // The capability probe (engine/preflight.ts, once per host), then one script for all twenty.
    expect(host.roundTrips).toBe(2);
    expect(id).toMatch(/#0123456789ab$/);
    expect(host.linkNames()).toHaveLength(20);
    expect(host.link(undefined, "ndh-br3")).toMatchObject({ kind: "bridge", mtu: 1400, up: true, ifalias: tagOf("br3") });
    const devices = outs.devices as Record<string, Record<string, unknown>>;
    expect(devices.br3).toMatchObject({ kind: "bridge", name: "ndh-br3", ifindex: host.link(undefined, "ndh-br3")!.ifindex, linkMtu: 1400 });
    expect(devices.br3).not.toHaveProperty("connection");
  });

  it("an overlay host's devices (a bridge, its VTEP, a veth into a container) in two round trips: the probe, then one script that reads every namespace back", async () => {
    const { host, create } = setup();
    const { outs } = await create({
      bridge: { kind: "bridge", name: "ndh-br" },
      vtep: { kind: "vxlan", name: "ndh-vx", vni: 42, master: "ndh-br" },
      veth: { kind: "veth", name: "ndh-ve", peerName: "eth0", peerNetns: "c1", master: "ndh-br", peerAddresses: ["192.168.100.1/24"], peerAnnounce: true },
    });
    // The peer's arp_notify, a sysctl inside the container, is read back in that script too.
    expect(host.roundTrips).toBe(2);
    const veth = (outs.devices as Record<string, Record<string, unknown>>).veth!;
    expect(veth).toMatchObject({
      peerName: "eth0",
      peerNetns: "c1",
      peerAddresses: ["192.168.100.1/24"],
      peerAnnounce: true,
      ifindex: host.link(undefined, "ndh-ve")!.ifindex,
    });
    expect((outs.devices as Record<string, Record<string, unknown>>).vtep).toMatchObject({ vni: 42, ifindex: host.link(undefined, "ndh-vx")!.ifindex });
  });

  it("splits a plan too large for one command line into several scripts, and deletes in groups, all in one round trip", async () => {
    const { host, engine, create, bridges } = setup();
    const { id, outs } = await create(bridges(600));
    expect(host.linkNames()).toHaveLength(600);
    // The probe, then scripts of at most MAX_SCRIPT_BYTES each (sh -c takes one argument of at most 128 KiB).
    expect(host.roundTrips).toBeGreaterThan(3);
    expect(host.roundTrips).toBeLessThan(8);
    host.roundTrips = 0;
    await engine.delete(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(host.linkNames()).toEqual([]);
  });

  it("hundreds of VLANs on one parent in a script per 48 kB; a new VLAN id replaces that VLAN alone", async () => {
    const { host, engine, inputs, create } = setup();
    const vlans = (idOf: (i: number) => number) => ({
      uplink: { kind: "dummy", name: "ndh-up" },
      ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`v${i}`, { kind: "vlan", name: `ndh-v${i}`, parent: "ndh-up", vlanId: idOf(i) }])),
    });
    const { id, outs } = await create(vlans((i) => i + 1));
    // The probe, then two scripts (each at most 48 kB: one argument of `sh -c`), the parent in the first.
    expect(host.roundTrips).toBe(3);
    expect(host.commands.slice(1).every((command) => command.length <= 48_000)).toBe(true);
    expect(host.commands[1]).toContain("ndh-up");
    expect(host.link(undefined, "ndh-v199")).toMatchObject({ kind: "vlan", ifalias: tagOf("v199") });
    const v7 = host.link(undefined, "ndh-v7")!.ifindex;
    const v8 = host.link(undefined, "ndh-v8")!.ifindex;
    const next = inputs(vlans((i) => (i === 7 ? 4000 : i + 1)));
    expect(engine.deviceChanges(outs.devices, next.devices)).toMatchObject({ v7: "replace", v8: "none", uplink: "none" });
    await engine.update(id, outs, next);
    expect(host.link(undefined, "ndh-v7")!.ifindex).not.toBe(v7);
    expect(host.link(undefined, "ndh-v8")!.ifindex).toBe(v8);
  });

  it("check takes every kind a device resource has, and names a bad field of any", () => {
    const { engine } = setup();
    const devices = {
      d: { kind: "dummy", name: "ndh-d" },
      vl: { kind: "vlan", name: "ndh-vl", parent: "ndh-d", vlanId: 10 },
      ipv: { kind: "ipvlan", name: "ndh-ipv", parent: "ndh-d" },
      bond: { kind: "bond", name: "ndh-bond", mode: "active-backup" },
      vrf: { kind: "vrf", name: "ndh-vrf", table: 10 },
      gre: { kind: "gre", name: "ndh-gre", remote: "10.0.0.2" },
      gnv: { kind: "geneve", name: "ndh-gnv", vni: 5, remote: "10.0.0.2" },
    };
    expect(engine.check({ connection, ownerKey: KEY, devices }).failures).toEqual([]);
    const bad = engine.check({ connection, ownerKey: KEY, devices: { ...devices, vl: { ...devices.vl, vlanId: 5000 } } }).failures;
    expect(bad.map((f) => f.reason).join("\n")).toMatch(/^HostDevices devices\.vl\.vlanId: /);
  });

  it("deletes an overlay host's devices and the container namespace they made in one round trip", async () => {
    const { host, engine, create } = setup();
    const { id, outs } = await create({
      bridge: { kind: "bridge", name: "ndh-br" },
      vtep: { kind: "vxlan", name: "ndh-vx", vni: 42, master: "ndh-br" },
      veth: { kind: "veth", name: "ndh-ve", peerName: "eth0", peerNetns: "c1", master: "ndh-br" },
    });
    expect(host.namespaceNames()).toEqual(["c1"]);
    host.roundTrips = 0;
    await engine.delete(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(host.linkNames()).toEqual([]);
    expect(host.namespaceNames()).toEqual([]);
  });

  it("a namespace goes with the last of its devices (one deleted by hand already), and stays while another owner's device is in it", async () => {
    const { host, engine, create } = setup();
    const devices = { br: { kind: "bridge", name: "ndh-br", netns: "c1" }, br2: { kind: "bridge", name: "ndh-br2", netns: "c1" } };
    const first = await create(devices);
    host.namespaces.get("c1")!.links.delete("ndh-br2");
    host.roundTrips = 0;
    await engine.delete(first.id, first.outs);
    expect(host.roundTrips).toBe(1);
    expect(host.namespaceNames()).toEqual([]);

    const second = await create(devices);
    host.link("c1", "ndh-br2")!.ifalias = "netdev#ffffffffffff";
    await expect(engine.delete(second.id, second.outs)).rejects.toThrow(/refusing to delete .*ndh-br2/);
    expect(host.namespaceNames()).toEqual(["c1"]);
    expect(host.linkNames("c1")).toEqual(["ndh-br2"]);
  });

  it("a device made on its own after the script (beside its parent, then moved) is read back too", async () => {
    const { host, create } = setup();
    host.addLink(undefined, "eth0", "dummy", { up: true });
    const { outs } = await create({
      br: { kind: "bridge", name: "ndh-br", netns: "c1" },
      mv: { kind: "macvlan", name: "ndh-mv", netns: "c1", parent: "eth0" },
    });
    expect(host.link("c1", "ndh-mv")).toMatchObject({ kind: "macvlan", ifalias: tagOf("mv") });
    expect((outs.devices as Record<string, { ifindex: number }>).mv.ifindex).toBe(host.link("c1", "ndh-mv")!.ifindex);
  });

  it("orders masters before their members whatever the keys' order", async () => {
    const { host, create } = setup();
    await create({ a: { kind: "veth", name: "ndh-v0", peerName: "ndh-v1", master: "ndh-br" }, z: { kind: "bridge", name: "ndh-br" } });
    expect(host.link(undefined, "ndh-v0")).toMatchObject({ master: "ndh-br" });
  });

  it("reads every device back in one round trip, and reports drift and a lost device per device", async () => {
    const { host, engine, create, bridges, inputs } = setup();
    const { id, outs } = await create(bridges(5, { mtu: 1400 }));
    host.roundTrips = 0;
    host.link(undefined, "ndh-br1")!.mtu = 1300;
    host.namespaces.get("")!.links.delete("ndh-br2");
    const read = await engine.read(id, outs);
    expect(host.roundTrips).toBe(1);
    const devices = read.inputs!.devices as Record<string, Record<string, unknown>>;
    expect(Object.keys(devices).sort()).toEqual(["br0", "br1", "br3", "br4"]);
    expect(devices.br1).toMatchObject({ kind: "bridge", mtu: 1300 });
    expect(read.inputs).not.toHaveProperty("devices.br1.connection");
    // The next `up` puts back the MTU and makes br2 again.
    const changes = engine.deviceChanges(read.props.devices, inputs(bridges(5, { mtu: 1400 })).devices);
    expect(changes).toMatchObject({ br0: "none", br1: "update", br2: "add" });
  });

  it("diffs per device: an in-place change, a replacement inside the update, an add and a delete; another host replaces it", async () => {
    const { engine, create, bridges, inputs } = setup();
    const { outs } = await create(bridges(3));
    const news = inputs({
      ...bridges(3),
      br0: { kind: "bridge", name: "ndh-br0", mtu: 9000 },
      br1: { kind: "bridge", name: "ndh-brX" },
      br3: { kind: "bridge", name: "ndh-br3" },
    });
    delete (news.devices as Record<string, unknown>).br2;
    expect(engine.deviceChanges(outs.devices, news.devices)).toEqual({ br0: "update", br1: "replace", br2: "delete", br3: "add" });
    expect(engine.diff(outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(engine.diff(outs, inputs(bridges(3)))).toMatchObject({ changes: false });
    expect(engine.diff(outs, { ...inputs(bridges(3)), connection: { ...connection, host: "10.0.0.2" } })).toMatchObject({ replaces: ["connection"] });
  });

  it("updates: one grouped delete, one read, one script for the in-place change, the replacement and the add", async () => {
    const { host, engine, create, bridges, inputs } = setup();
    const { id, outs } = await create(bridges(3));
    const kept = host.link(undefined, "ndh-br0")!.ifindex;
    host.roundTrips = 0;
    const news = inputs({
      br0: { kind: "bridge", name: "ndh-br0", mtu: 9000 },
      br1: { kind: "bridge", name: "ndh-brX" },
      br3: { kind: "bridge", name: "ndh-br3" },
    });
    const { outs: after } = await engine.update(id, outs, news);
    expect(host.roundTrips).toBe(3);
    expect(host.linkNames()).toEqual(["ndh-br0", "ndh-br3", "ndh-brX"]);
    expect(host.link(undefined, "ndh-br0")).toMatchObject({ ifindex: kept, mtu: 9000 });
    expect(host.link(undefined, "ndh-brX")!.ifalias).toBe(tagOf("br1"));
    expect(Object.keys(after.devices as object)).toEqual(["br0", "br1", "br3"]);
    // Only in-place changes: the read, then one script.
    host.roundTrips = 0;
    await engine.update(
      id,
      after,
      inputs({
        br0: { kind: "bridge", name: "ndh-br0", mtu: 1500 },
        br1: { kind: "bridge", name: "ndh-brX", mtu: 1500 },
        br3: { kind: "bridge", name: "ndh-br3" },
      }),
    );
    expect(host.roundTrips).toBe(2);
    expect(host.link(undefined, "ndh-brX")!.mtu).toBe(1500);
  });

  it("replaces the ports of a bridge made anew in the update, so they end up on the new bridge", async () => {
    const { host, engine, create, inputs } = setup();
    const port = { kind: "veth", name: "ndh-ve", peerName: "eth0", peerNetns: "c1", master: "ndh-br" };
    const vtep = { kind: "vxlan", name: "ndh-vx", vni: 42, dstPort: 4789, local: "10.0.0.1", master: "ndh-br" };
    const { id, outs } = await create({ old: { kind: "bridge", name: "ndh-br" }, ve: port, vx: vtep, other: { kind: "bridge", name: "ndh-other" } });
    // The bridge's key changes (delete + add of one name): its ports' own fields do not.
    const news = inputs({ brand: { kind: "bridge", name: "ndh-br" }, ve: port, vx: vtep, other: { kind: "bridge", name: "ndh-other" } });
    expect(engine.deviceChanges(outs.devices, news.devices)).toEqual({ old: "delete", brand: "add", ve: "replace", vx: "replace", other: "none" });
    await engine.update(id, outs, news);
    expect(host.link(undefined, "ndh-ve")).toMatchObject({ master: "ndh-br", ifalias: tagOf("ve") });
    expect(host.link(undefined, "ndh-vx")).toMatchObject({ master: "ndh-br" });
    expect(host.link("c1", "eth0")).toBeDefined();
  });

  it("deletes every device in one round trip, leaving another owner's device of the same name alone", async () => {
    const { host, engine, create, bridges } = setup();
    const { id, outs } = await create(bridges(10));
    host.roundTrips = 0;
    await engine.delete(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(host.linkNames()).toEqual([]);

    const again = await create(bridges(2));
    host.link(undefined, "ndh-br1")!.ifalias = "netdev#ffffffffffff";
    await expect(engine.delete(again.id, again.outs)).rejects.toThrow(/refusing to delete .*ndh-br1/);
    expect(host.linkNames()).toEqual(["ndh-br1"]);
  });

  it("takes back the devices a killed `up` left with their tags, and makes the rest", async () => {
    const { host, create, bridges } = setup();
    const left = host.addLink(undefined, "ndh-br0", "bridge", { ifalias: tagOf("br0") });
    const { outs } = await create(bridges(3));
    expect(host.linkNames()).toEqual(["ndh-br0", "ndh-br1", "ndh-br2"]);
    expect(host.link(undefined, "ndh-br0")).toMatchObject({ ifindex: left.ifindex, up: true });
    expect((outs.devices as Record<string, { ifindex: number }>).br0.ifindex).toBe(left.ifindex);
  });

  it("refuses a name another owner holds, and removes what the create made before failing", async () => {
    const { host, create, bridges } = setup();
    host.addLink(undefined, "ndh-br1", "bridge", { ifalias: "netdev#ffffffffffff" });
    await expect(create(bridges(3))).rejects.toThrow(/ndh-br1 .*already exists/);
    expect(host.linkNames()).toEqual(["ndh-br1"]);
    expect(host.link(undefined, "ndh-br1")!.ifalias).toBe("netdev#ffffffffffff");
  });

  it("a step that fails inside a device removes every device the create made, and names the device", async () => {
    const { host, create, bridges } = setup();
    host.failOn(/addr add 10\.9\.0\.1\/24 dev ndh-br2/, "RTNETLINK answers: Permission denied");
    const devices = { ...bridges(4), br2: { kind: "bridge", name: "ndh-br2", addresses: ["10.9.0.1/24"] } };
    await expect(create(devices)).rejects.toThrow(/Bridge ndh-br2 \(HostDevices devices\.br2\).*setting addresses failed.*Permission denied/);
    expect(host.linkNames()).toEqual([]);
  });

  it("check names the device and field of a bad input, and refuses one name twice", () => {
    const { engine } = setup();
    const failures = engine.check({ connection, devices: { a: { kind: "bridge", name: "ndh-a", mtu: 10 } } }).failures;
    expect(failures.map((f) => f.reason).join()).toMatch(/devices\.a\.mtu/);
    expect(engine.check({ connection, devices: { a: { kind: "nosuch", name: "x" } } }).failures).not.toEqual([]);
    const twice = engine.check({ connection, devices: { a: { kind: "bridge", name: "ndh-a" }, b: { kind: "bridge", name: "ndh-a" } } }).failures;
    expect(twice.map((f) => f.reason).join()).toMatch(/devices\.b\.name: ndh-a is also devices\.a's/);
  });
});

describe("HostDevices with WireGuard interfaces (private keys in the sealed privateKeys)", () => {
  const KEYS = ["yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4="] as const;
  const wg = (name: string, extra: Record<string, unknown> = {}) => ({ kind: "wireguard", name, listenPort: 51820, addresses: ["10.250.0.1/24"], ...extra });
  const overlayHost = {
    wg: wg("ndh-wg"),
    bridge: { kind: "bridge", name: "ndh-br" },
    vtep: { kind: "vxlan", name: "ndh-vx", vni: 42, local: "10.250.0.1", master: "ndh-br" },
  };
  function setupWg() {
    const host = new FakeHost();
    const engine = new HostDevicesEngine(() => host);
    const inputs = (devices: Record<string, unknown>, privateKeys: Record<string, string> | undefined) =>
      engine.check({ connection, ownerKey: KEY, devices, ...(privateKeys ? { privateKeys } : {}) });
    return { host, engine, inputs };
  }

  it("makes an overlay host's interface, bridge and VTEP in one script; the key reaches the host on stdin and state holds it only in privateKeys", async () => {
    const { host, engine, inputs } = setupWg();
    const checked = inputs(overlayHost, { wg: KEYS[0] });
    expect(checked.failures).toEqual([]);
    const { id, outs } = await engine.create(checked.inputs);
    // The probe, the one script, then the interface's `wg show` reads (not one line each: not in the script's read-back).
    expect(host.roundTrips).toBe(3);
    expect(host.link(undefined, "ndh-wg")).toMatchObject({ kind: "wireguard", ifalias: tagOf("wg"), wg: { privateKey: KEYS[0], listenPort: 51820 } });
    expect(host.link(undefined, "ndh-wg")!.addresses).toEqual(["10.250.0.1/24"]);
    expect(host.commands.some((command) => command.includes(KEYS[0]))).toBe(false);
    const devices = outs.devices as Record<string, Record<string, unknown>>;
    expect(devices.wg).toMatchObject({ kind: "wireguard", name: "ndh-wg", listenPort: 51820, publicKey: wireguardPublicKey(KEYS[0]) });
    expect(JSON.stringify(outs.devices)).not.toContain(KEYS[0]);
    expect(outs.privateKeys).toEqual({ wg: KEYS[0] });

    host.roundTrips = 0;
    await engine.delete(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(host.linkNames()).toEqual([]);
  });

  it("makes the interface holding a VTEP's local address before the VTEP, whatever the keys' order", async () => {
    const { host, engine, inputs } = setupWg();
    await engine.create(inputs({ a: overlayHost.vtep, b: overlayHost.bridge, z: overlayHost.wg }, { z: KEYS[0] }).inputs);
    const added = (name: string) => host.commands.findIndex((command) => /link add/.test(command) && command.includes(name));
    expect(added("ndh-wg")).toBeGreaterThanOrEqual(0);
    expect(added("ndh-wg")).toBeLessThan(added("ndh-vx"));
  });

  it("two interfaces to key are two scripts (a script's stdin is one), each interface with its own key", async () => {
    const { host, engine, inputs } = setupWg();
    const checked = inputs({ a: wg("ndh-wga"), b: wg("ndh-wgb", { listenPort: 51821, addresses: ["10.251.0.1/24"] }) }, { a: KEYS[0], b: KEYS[1] });
    await engine.create(checked.inputs);
    expect(host.roundTrips).toBe(4);
    expect(host.link(undefined, "ndh-wga")!.wg!.privateKey).toBe(KEYS[0]);
    expect(host.link(undefined, "ndh-wgb")!.wg!.privateKey).toBe(KEYS[1]);
    const stdinStep = { field: "privateKey", tool: "wg" as const, args: ["set"], stdin: "k" };
    const plain = { field: "create", tool: "ip" as const, args: ["link"] };
    const parts = scripts([{ steps: [plain] }, { steps: [plain, stdinStep] }, { steps: [plain] }, { steps: [stdinStep] }]);
    expect(parts.map((part) => part.length)).toEqual([3, 1]);
  });

  it("takes back an interface a killed `up` left with its tag (no key set yet) and keys it", async () => {
    const { host, engine, inputs } = setupWg();
    const left = host.addLink(undefined, "ndh-wg", "wireguard", { ifalias: tagOf("wg") });
    const { outs } = await engine.create(inputs(overlayHost, { wg: KEYS[0] }).inputs);
    expect(host.link(undefined, "ndh-wg")).toMatchObject({ ifindex: left.ifindex, wg: { privateKey: KEYS[0], listenPort: 51820 } });
    expect((outs.devices as Record<string, Record<string, unknown>>).wg).toMatchObject({ ifindex: left.ifindex, publicKey: wireguardPublicKey(KEYS[0]) });
    expect(host.link(undefined, "ndh-vx")!.master).toBe("ndh-br");
  });

  it("a key changed on the host by hand shows as drift of privateKeys (never the host's key); the next update sets it back in place", async () => {
    const { host, engine, inputs } = setupWg();
    // No VTEP: the fake host's dump does not model a VTEP's port and learning, which would read as drift.
    const { vtep: _vtep, ...devices } = overlayHost;
    const { id, outs } = await engine.create(inputs(devices, { wg: KEYS[0] }).inputs);
    const ifindex = host.link(undefined, "ndh-wg")!.ifindex;
    host.link(undefined, "ndh-wg")!.wg!.privateKey = KEYS[1];
    host.roundTrips = 0;
    const read = await engine.read(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(read.props.privateKeys).toEqual({ wg: HOST_KEY_DIFFERS });
    expect(read.inputs!.privateKeys).toEqual({ wg: HOST_KEY_DIFFERS });
    expect(JSON.stringify(read)).not.toContain(KEYS[1]);
    const news = inputs(devices, { wg: KEYS[0] }).inputs;
    expect(engine.diff(read.props, news)).toMatchObject({ changes: true, replaces: [] });
    const { outs: after } = await engine.update(id, read.props, news);
    expect(host.link(undefined, "ndh-wg")).toMatchObject({ ifindex, wg: { privateKey: KEYS[0] } });
    expect(after.privateKeys).toEqual({ wg: KEYS[0] });
    expect(engine.diff(after, news)).toMatchObject({ changes: false });
  });

  it("a new key is an in-place change of that interface alone; an interface removed takes its key out of state", async () => {
    const { host, engine, inputs } = setupWg();
    const { id, outs } = await engine.create(inputs(overlayHost, { wg: KEYS[0] }).inputs);
    const ifindex = host.link(undefined, "ndh-wg")!.ifindex;
    const rotated = inputs(overlayHost, { wg: KEYS[1] }).inputs;
    expect(engine.deviceChanges(outs.devices, rotated.devices)).toMatchObject({ wg: "none" });
    expect(engine.diff(outs, rotated)).toMatchObject({ changes: true, replaces: [] });
    const { outs: after } = await engine.update(id, outs, rotated);
    expect(host.link(undefined, "ndh-wg")).toMatchObject({ ifindex, wg: { privateKey: KEYS[1] } });
    expect((after.devices as Record<string, { publicKey?: string }>).wg!.publicKey).toBe(wireguardPublicKey(KEYS[1]));
    const { wg: _wg, ...rest } = overlayHost;
    const { outs: without } = await engine.update(id, after, inputs(rest, undefined).inputs);
    expect(host.link(undefined, "ndh-wg")).toBeUndefined();
    expect(without).not.toHaveProperty("privateKeys");
  });

  it("check: a wireguard device needs its key, a key needs its device, the own key is no peer; a key is never quoted, nor its field named to Pulumi", () => {
    const { engine, inputs } = setupWg();
    const reasons = (devices: Record<string, unknown>, privateKeys?: Record<string, string>) =>
      inputs(devices, privateKeys)
        .failures.map((f) => f.reason)
        .join("; ");
    expect(reasons(overlayHost, undefined)).toMatch(/privateKeys: has no key for devices\.wg/);
    expect(reasons({ br: { kind: "bridge", name: "ndh-br" } }, { br: KEYS[0] })).toMatch(/privateKeys: holds a key for "br", which is no wireguard device/);
    expect(reasons({ wg: wg("ndh-wg", { peers: [{ publicKey: wireguardPublicKey(KEYS[0]) }] }) }, { wg: KEYS[0] })).toMatch(
      /devices\.wg\.peers: lists the interface's own public key/,
    );
    expect(reasons({ wg: wg("ndh-wg", { privateKey: KEYS[0] }) }, { wg: KEYS[0] })).toMatch(/devices\.wg/);
    const malformed = `${KEYS[0].slice(0, 20)}!!`;
    const bad = reasons({ wg: wg("ndh-wg") }, { wg: malformed });
    expect(bad).toMatch(/privateKeys\.wg: must be a WireGuard private key/);
    expect(bad).not.toContain(malformed);
    const reported = withSecretsScrubbed(engine, HOST_DEVICES_SECRET_FIELDS).check({
      connection,
      ownerKey: KEY,
      devices: { wg: wg("ndh-wg") },
      privateKeys: { wg: malformed },
    });
    expect(reported.failures.map((f) => f.property)).toEqual([""]);
  });

  it("a failure's message is scrubbed of every private key at the provider boundary", async () => {
    const { host, engine, inputs } = setupWg();
    host.failOn(/listen-port/, `Unable to modify interface: ${KEYS[0]} refused`);
    const error = (await withSecretsScrubbed(engine, HOST_DEVICES_SECRET_FIELDS)
      .create(inputs(overlayHost, { wg: KEYS[0] }).inputs)
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/WireguardInterface ndh-wg \(HostDevices devices\.wg\).*listenPort/);
    expect(error.message).not.toContain(KEYS[0]);
    expect(host.linkNames()).toEqual([]);
  });
});

describe("HostDevices persist, on a fake host", () => {
  const overlayHost = {
    bridge: { kind: "bridge", name: "ndh-br", mtu: 1450 },
    // (The fake host does not model a VTEP's settings: another port stands for it.)
    port: { kind: "veth", name: "ndh-p0", peerName: "ndh-p1", master: "ndh-br" },
    veth: { kind: "veth", name: "ndh-ve", peerName: "eth0", peerNetns: "c1", master: "ndh-br" },
  };
  const persisted = (mode: string) => {
    const { host, engine } = setup();
    const inputs = (devices: Record<string, unknown>, persist: string | undefined = mode) =>
      engine.check({ connection, ownerKey: KEY, devices, ...(persist ? { persist } : {}) }).inputs;
    return { host, engine, inputs };
  };
  const ofDevice = (host: FakeHost, key: string) =>
    [...host.files]
      .filter(([path, file]) => path.includes(deviceToken(KEY, key)) || ("content" in file && file.content.includes(tagOf(key))))
      .map(([path]) => path)
      .sort();
  const writes = (host: FakeHost) => host.commands.filter((command) => command.includes("netdev-persist")).length;

  it("writes every device's boot-time files in the script that makes them: networkd's for the bridge, a unit for each port", async () => {
    const { host, engine, inputs } = persisted("networkd");
    const { outs } = await engine.create(inputs(overlayHost));
    // The probe (capabilities and persistence), then one script.
    expect(host.roundTrips).toBe(2);
    expect(outs).toMatchObject({ persist: "networkd", persistVia: "networkd" });
    expect(ofDevice(host, "bridge")).toEqual(["link", "netdev", "network"].map((ext) => `/etc/systemd/network/10-pulumi-netdev-ndh-br.${ext}`));
    // A device with a master (or a peer in a namespace) comes back through a oneshot unit.
    for (const key of ["port", "veth"]) {
      const token = deviceToken(KEY, key);
      expect(ofDevice(host, key)).toEqual(
        [
          `/etc/pulumi-netdev/${token}.sh`,
          `/etc/systemd/system/multi-user.target.wants/pulumi-netdev-${token}.service`,
          `/etc/systemd/system/pulumi-netdev-${token}.service`,
        ].sort(),
      );
    }
    const netdev = host.files.get("/etc/systemd/network/10-pulumi-netdev-ndh-br.netdev") as { content: string };
    expect(netdev.content).toContain(`owner ${tagOf("bridge")}`);
  });

  it("refresh lists the files in the same read as the devices; a file edited or removed by hand is drift naming the device and file; the next up writes them again", async () => {
    const { host, engine, inputs } = persisted("networkd");
    const { id, outs } = await engine.create(inputs(overlayHost));
    host.roundTrips = 0;
    const clean = await engine.read(id, outs);
    expect(host.roundTrips).toBe(1);
    expect(clean.props).toMatchObject({ persist: "networkd", persistVia: "networkd" });
    expect(clean.inputs).toMatchObject({ persist: "networkd" });

    const veth = `/etc/pulumi-netdev/${deviceToken(KEY, "veth")}.sh`;
    (host.files.get(veth) as { content: string }).content += "# edited\n";
    host.files.delete("/etc/systemd/network/10-pulumi-netdev-ndh-br.link");
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => void warnings.push(message);
    let drifted: Awaited<ReturnType<typeof engine.read>>;
    try {
      drifted = await engine.read(id, clean.props);
    } finally {
      console.warn = original;
    }
    expect(drifted.props.persist).toBe("drifted");
    expect(drifted.inputs?.persist).toBe("drifted");
    expect(warnings.join("\n")).toMatch(/devices\.bridge: \/etc\/systemd\/network\/10-pulumi-netdev-ndh-br\.link \(missing\)/);
    expect(warnings.join("\n")).toMatch(new RegExp(`devices\\.veth: ${veth} \\(edited\\)`));

    const news = inputs(overlayHost);
    expect(engine.diff(drifted.props, news).changes).toBe(true);
    host.commands.length = 0;
    host.roundTrips = 0;
    const { outs: repaired } = await engine.update(id, drifted.props, news);
    expect(host.roundTrips).toBe(1);
    expect(repaired.persist).toBe("networkd");
    expect(host.files.has("/etc/systemd/network/10-pulumi-netdev-ndh-br.link")).toBe(true);
    expect((host.files.get(veth) as { content: string }).content).not.toContain("# edited");
    expect((await engine.read(id, repaired)).props.persist).toBe("networkd");
  });

  it("an update writes the files of the devices that change, removes those of a device that leaves, and writes nothing when nothing changes", async () => {
    const { host, engine, inputs } = persisted("networkd");
    const { id, outs } = await engine.create(inputs(overlayHost));
    const unchanged = inputs(overlayHost);
    expect(engine.diff(outs, unchanged).changes).toBe(false);
    host.commands.length = 0;
    const same = await engine.update(id, outs, unchanged);
    expect(writes(host)).toBe(0);

    const vethFiles = new Map(ofDevice(host, "veth").map((path) => [path, JSON.stringify(host.files.get(path))]));
    const { port: _port, ...withoutPort } = overlayHost;
    const news = inputs({ ...withoutPort, bridge: { ...overlayHost.bridge, mtu: 1400 } });
    host.roundTrips = 0;
    const { outs: after } = await engine.update(id, same.outs, news);
    // The port's delete, the bridge's read, one script for its change and the files.
    expect(host.roundTrips).toBe(3);
    expect(ofDevice(host, "port")).toEqual([]);
    expect((host.files.get("/etc/systemd/network/10-pulumi-netdev-ndh-br.netdev") as { content: string }).content).toMatch(/MTUBytes=1401/);
    // The veth's files, untouched.
    expect(new Map(ofDevice(host, "veth").map((path) => [path, JSON.stringify(host.files.get(path))]))).toEqual(vethFiles);
    expect((await engine.read(id, after)).props.persist).toBe("networkd");
  });

  it("persist turned off removes every file and keeps the devices; turned on writes them all; delete removes devices and files", async () => {
    const { host, engine, inputs } = persisted("networkd");
    const { id, outs } = await engine.create(inputs(overlayHost));
    const ifindex = host.link(undefined, "ndh-br")!.ifindex;
    const off = await engine.update(id, outs, inputs(overlayHost, "none"));
    expect([...host.files.keys()]).toEqual([]);
    expect(off.outs).not.toHaveProperty("persistVia");
    expect(host.link(undefined, "ndh-br")!.ifindex).toBe(ifindex);
    const on = await engine.update(id, off.outs, inputs(overlayHost, "systemd"));
    expect(on.outs).toMatchObject({ persist: "systemd", persistVia: "systemd" });
    // Units only: three files per device.
    expect(host.files.size).toBe(9);
    host.roundTrips = 0;
    await engine.delete(id, on.outs);
    // The devices (and the namespace they made), then the files.
    expect(host.roundTrips).toBe(2);
    expect(host.linkNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
  });

  it("a failed create leaves neither devices nor files; another owner's files stay", async () => {
    const { host, engine, inputs } = persisted("networkd");
    host.files.set("/etc/systemd/network/10-pulumi-netdev-other.netdev", { mode: "0644", content: "# owner netdev#ffffffffffff\n" });
    host.failOn(/ndh-b up$/, "RTNETLINK answers: Operation not permitted");
    await expect(engine.create(inputs({ a: { kind: "bridge", name: "ndh-a" }, b: { kind: "bridge", name: "ndh-b" } }))).rejects.toThrow(/not permitted/);
    expect(host.linkNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual(["/etc/systemd/network/10-pulumi-netdev-other.netdev"]);

    // The files' write itself fails: the devices made go again.
    host.failOn("netdev-persist", "sh: cannot create /etc/systemd/network: Read-only file system");
    await expect(engine.create(inputs({ a: { kind: "bridge", name: "ndh-a" } }))).rejects.toThrow(/Read-only file system/);
    expect(host.linkNames()).toEqual([]);
  });

  it("refresh of a device gone removes its files with a warning; the rest stay", async () => {
    const { host, engine, inputs } = persisted("networkd");
    const { id, outs } = await engine.create(inputs(overlayHost));
    host.namespaces.get("")!.links.delete("ndh-p0");
    const original = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => void warnings.push(message);
    try {
      const { props } = await engine.read(id, outs);
      expect(Object.keys(props.devices as object).sort()).toEqual(["bridge", "veth"]);
      expect(props.persist).toBe("networkd");
    } finally {
      console.warn = original;
    }
    expect(warnings.join("\n")).toMatch(/devices\.port gone .*removed their boot-time files/);
    expect(ofDevice(host, "port")).toEqual([]);
    expect(ofDevice(host, "bridge")).toHaveLength(3);
  });

  it('"auto" writes for what the host runs: networkd files where networkd is active, units only where neither manager runs', async () => {
    const networkd = persisted("auto");
    const { outs } = await networkd.engine.create(networkd.inputs(overlayHost));
    expect(outs).toMatchObject({ persist: "auto", persistVia: "networkd" });
    const bare = persisted("auto");
    bare.host.support = { ...bare.host.support, networkd: "disabled", networkdActive: "inactive" };
    const units = await bare.engine.create(bare.inputs(overlayHost));
    expect(units.outs).toMatchObject({ persist: "auto", persistVia: "systemd" });
    expect([...bare.host.files.keys()].filter((path) => path.startsWith("/etc/systemd/network/"))).toEqual([]);
  });

  it("a WireGuard interface's key is kept for boot in a 0600 file written through stdin, never in argv", async () => {
    const { host, engine } = persisted("networkd");
    const privateKey = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const checked = engine.check({
      connection,
      ownerKey: KEY,
      persist: "networkd",
      devices: { wg: { kind: "wireguard", name: "ndh-wg", listenPort: 51820 } },
      privateKeys: { wg: privateKey },
    });
    expect(checked.failures).toEqual([]);
    await engine.create(checked.inputs);
    const stdinFile = host.files.get(`/etc/pulumi-netdev/${deviceToken(KEY, "wg")}.stdin`) as { mode: string; content: string };
    expect(stdinFile).toMatchObject({ mode: "0600" });
    expect(stdinFile.content).toContain(privateKey);
    expect(host.commands.join("\n")).not.toContain(privateKey);
  });

  it('"networkmanager": a keyfile loaded for the bridge (units for its ports); delete unloads the profile while the bridge still exists, then deletes', async () => {
    const { host, engine, inputs } = persisted("networkmanager");
    host.support = { ...host.support, networkd: "disabled", networkdActive: "inactive", networkManager: "active" };
    const { bridge: _bridge, ...ports } = overlayHost;
    // A keyfile describes a bridge without an MTU (persist/networkmanager.ts keyfileCanDescribe).
    const devices = { bridge: { kind: "bridge", name: "ndh-br" }, ...ports };
    const { id, outs } = await engine.create(inputs(devices));
    const keyfile = "/etc/NetworkManager/system-connections/pulumi-netdev-ndh-br.nmconnection";
    expect(outs).toMatchObject({ persist: "networkmanager", persistVia: "networkmanager" });
    expect(host.files.get(keyfile)).toMatchObject({ mode: "0600" });
    expect([...host.nmProfiles]).toEqual([keyfile]);
    expect((await engine.read(id, outs)).props.persist).toBe("networkmanager");
    const order: string[] = [];
    const original = host.applyAll.bind(host);
    host.applyAll = async (...args: Parameters<FakeHost["applyAll"]>) => {
      if (args[0].some((step) => step.args.includes("netdev-unpersist")))
        order.push(`unpersist: ${host.nmProfiles.size} profile, bridge ${host.link(undefined, "ndh-br") ? "present" : "gone"}`);
      return original(...args);
    };
    await engine.delete(id, outs);
    expect(order).toEqual(["unpersist: 1 profile, bridge present", "unpersist: 0 profile, bridge gone"]);
    expect(host.linkNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
  });

  it("preview's check: persist needs systemd on the host, and networkd enabled where a device goes through its files", async () => {
    const { engine, inputs } = persisted("networkd");
    expect(await engine.preflight(inputs(overlayHost))).toEqual([]);
    // (The host's probe is once per host: each answer is another host.)
    const disabled = persisted("networkd");
    disabled.host.support = { ...disabled.host.support, networkd: "disabled" };
    expect(await disabled.engine.preflight(disabled.inputs(overlayHost))).toEqual([
      { property: "persist", reason: expect.stringMatching(/writes systemd-networkd files .*systemd-networkd\.service is disabled/) },
    ]);
    // Only devices that networkd does not describe: units, which systemd alone runs.
    expect(await disabled.engine.preflight(disabled.inputs({ veth: overlayHost.veth }))).toEqual([]);
    const none = persisted("networkd");
    none.host.support = { ...none.host.support, systemd: "" };
    expect(await none.engine.preflight(none.inputs(overlayHost))).toEqual([
      { property: "persist", reason: expect.stringMatching(/needs systemd as the init system/) },
    ]);
    expect(await none.engine.preflight(none.inputs(overlayHost, "none"))).toEqual([]);
  });
});

describe("a name systemd-networkd claims", () => {
  it("a device named ve-* in the host's namespace on a host running networkd is warned about once, persisted or not; nothing where networkd does not run", async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => void warnings.push(message);
    try {
      const { create, host } = setup();
      await create({ ve: { kind: "veth", name: "ve-app", peerName: "eth0", peerNetns: "app" }, other: { kind: "bridge", name: "ndh-br" } });
      expect(host.roundTrips).toBe(2);
      expect(warnings).toEqual([expect.stringMatching(/ve-app on .*80-container-ve\.network \(Name=ve-\*\) matches this name/)]);
      const quiet = setup();
      quiet.host.support = { ...quiet.host.support, networkdActive: "inactive" };
      await quiet.create({ ve: { kind: "veth", name: "ve-db", peerName: "eth0", peerNetns: "db" } });
      expect(warnings).toHaveLength(1);
    } finally {
      console.warn = original;
    }
  });
});
