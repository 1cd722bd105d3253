import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../test/support/fake-host";
import { DeviceEngine } from "../../engine/engine";
import type { DeviceKind } from "../../engine/kind";
import { withSecretsScrubbed } from "../../engine/provider-boundary";
import { wireguardKind } from "../../kinds/wireguard/wireguard";
import { engineFor } from "../../registry";
import { quoteArgv } from "../../ssh/quote";
import { createPeerListsEngine } from "./wireguard-peer-lists";

/**
 * WireguardPeerLists against fake hosts: one `wg set` per host whose list changes, none for the
 * others, the leaver never contacted, drift per member, peers of others left alone, and a
 * failing host named while the others stay applied.
 */
const PASSWORD = "pw-peers-secret";
const conn = (n: number) => ({ host: `10.0.0.${n}`, port: 22, user: "root", password: PASSWORD, hostKey: `SHA256:${"A".repeat(43)}` });
/** Member n's public key: any 32 bytes in base64 are a key in form. */
const publicKey = (n: number) => Buffer.alloc(32, n).toString("base64");
const endpoint = (n: number) => `10.247.0.1${n}:51820`;
const wgAddress = (n: number) => `10.250.0.${n}/32`;
const peer = (n: number) => ({ publicKey: publicKey(n), endpoint: endpoint(n), allowedIps: [wgAddress(n)] });
/** A key as a command line shows it (quoted: base64 has "=", "+" and "/"). */
const shown = (n: number) => quoteArgv([publicKey(n)]);
const HAND_ADDED = Buffer.alloc(32, 99).toString("base64");

function lab(count: number) {
  const hosts = new Map<string, FakeHost>();
  for (let n = 1; n <= count; n++) {
    const host = new FakeHost({ user: "root", host: `10.0.0.${n}`, port: 22 });
    host.addLink(undefined, "wg0", "wireguard");
    hosts.set(`10.0.0.${n}`, host);
  }
  const engine = createPeerListsEngine((connection) => hosts.get(connection.host)!);
  const host = (n: number) => hosts.get(`10.0.0.${n}`)!;
  const peersOf = (n: number) => (host(n).link(undefined, "wg0")!.wgPeers ?? []).map((p) => p.publicKey).sort();
  const resetCounts = () => {
    for (const h of hosts.values()) h.roundTrips = 0;
  };
  return { engine, host, peersOf, resetCounts, hosts };
}

/** A full mesh of these members: each lists every other as a peer. */
function mesh(members: number[]) {
  return {
    connections: Object.fromEntries(members.map((n) => [`h${n}`, conn(n)])),
    interfaces: Object.fromEntries(members.map((n) => [`h${n}`, { name: "wg0", peers: members.filter((o) => o !== n).map(peer) }])),
  };
}
const keys = (...members: number[]) => members.map(publicKey).sort();

describe("WireguardPeerLists inputs", () => {
  it("a bad field is named by its path, the member included; a member without a connection is refused; no credential is echoed", () => {
    const engine = engineFor("WireguardPeerLists");
    const inputs = mesh([1, 2]);
    const bad = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h2: { name: "wg0", peers: [{ publicKey: "abc", allowedIps: [] }] } } }).failures;
    expect(bad.map((f) => f.reason).join("\n")).toMatch(/^WireguardPeerLists interfaces\.h2\.peers\.0\.publicKey: /);
    const twice = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h2: { name: "wg0", peers: [peer(1), peer(1)] } } }).failures;
    expect(twice.map((f) => f.reason).join("\n")).toMatch(/interfaces\.h2\.peers: lists the peer .* twice/);
    const orphan = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h3: { name: "wg0", peers: [] } } }).failures;
    expect(orphan.map((f) => f.reason)).toEqual(["WireguardPeerLists interfaces.h3: this member has no connection in `connections`"]);
    const badConnection = engine.check({ ...inputs, connections: { ...inputs.connections, h1: { ...conn(1), hostKey: "bogus" } } }).failures;
    expect(badConnection.length).toBeGreaterThan(0);
    for (const failure of badConnection) {
      expect(failure.reason).toContain("connections.h1.hostKey");
      expect(failure.reason).not.toContain(PASSWORD);
    }
  });
});

describe("WireguardPeerLists on fake hosts", () => {
  it("create: one command per host after its capability probe, every list applied with its endpoints and allowed IPs", async () => {
    const { engine, host, peersOf } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    expect(id).toMatch(/^WireguardPeerLists#[0-9a-f]{12}$/);
    // The probe (engine/preflight.ts, once per host per run), then the list's one command.
    for (const n of [1, 2, 3]) expect(host(n).roundTrips, `h${n}`).toBe(2);
    expect(peersOf(1)).toEqual(keys(2, 3));
    expect(peersOf(3)).toEqual(keys(1, 2));
    expect(
      host(2)
        .link(undefined, "wg0")!
        .wgPeers!.find((p) => p.publicKey === publicKey(3)),
    ).toEqual(peer(3));
    expect(host(2).commands.filter((c) => c.startsWith("wg set"))).toHaveLength(1);
    expect((outs.interfaces as Record<string, { peers: unknown[] }>).h2!.peers).toEqual(
      [peer(1), peer(3)].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)),
    );
  });

  it("a host joins: one command per host whose list changes, the joiner included; none for a host whose list does not", async () => {
    const { engine, host, peersOf, resetCounts } = lab(4);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    const joined = await engine.update(id, outs, mesh([1, 2, 3, 4]));
    // The joiner's host is probed first; the others were in this run already.
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(peersOf(4)).toEqual(keys(1, 2, 3));
    expect(peersOf(2)).toEqual(keys(1, 3, 4));
    // Only the new peer is named on the others: their existing peers are not set again.
    expect(host(2).commands.at(-1)).toBe(`wg set wg0 peer ${shown(4)} endpoint ${endpoint(4)} allowed-ips ${wgAddress(4)} persistent-keepalive off`);
    // Only h2's list changes (a keepalive to h1): only h2 is contacted.
    resetCounts();
    const next = mesh([1, 2, 3, 4]);
    next.interfaces.h2!.peers = [{ ...peer(1), persistentKeepalive: 25 } as ReturnType<typeof peer>, peer(3), peer(4)];
    await engine.update(id, joined.outs, next);
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([0, 1, 0, 0]);
    expect(
      host(2)
        .link(undefined, "wg0")!
        .wgPeers!.find((p) => p.publicKey === publicKey(1))!.persistentKeepalive,
    ).toBe(25);
  });

  it("a host leaves: the others remove it, the leaver is not contacted", async () => {
    const { engine, host, peersOf, resetCounts } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    const commandsBefore = host(3).commands.length;
    await engine.update(id, outs, mesh([1, 2]));
    expect(host(3).roundTrips).toBe(0);
    expect(host(3).commands.length).toBe(commandsBefore);
    expect(peersOf(1)).toEqual(keys(2));
    expect(peersOf(2)).toEqual(keys(1));
    expect(host(1).commands.at(-1)).toBe(`wg set wg0 peer ${shown(3)} remove`);
  });

  it("in a new run (a fresh provider process), a join costs each member applied before one command, no probe; the joiner is probed", async () => {
    const { engine, host, peersOf, hosts, resetCounts } = lab(4);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    // Probes are remembered per host object for the process: new objects for the same hosts are a new run.
    const fresh = createPeerListsEngine((connection) => new Proxy(hosts.get(connection.host)!, {}));
    await fresh.update(id, outs, mesh([1, 2, 3, 4]));
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(peersOf(1)).toEqual(keys(2, 3, 4));
    expect(peersOf(4)).toEqual(keys(1, 2, 3));
  });

  it("refresh: a peer removed or changed by hand on one host shows as that member's drift only; the next up restores it there alone", async () => {
    const { engine, host } = lab(3);
    const inputs = mesh([1, 2, 3]);
    const { id, outs } = await engine.create(inputs);
    const wg2 = host(2).link(undefined, "wg0")!;
    wg2.wgPeers = wg2.wgPeers!.filter((p) => p.publicKey !== publicKey(3));
    host(1)
      .link(undefined, "wg0")!
      .wgPeers!.find((p) => p.publicKey === publicKey(3))!.allowedIps = ["10.250.0.99/32"];
    const read = await engine.read(id, outs);
    const interfaces = read.props.interfaces as Record<string, { peers: Array<{ publicKey: string; allowedIps: string[] }> }>;
    expect(interfaces.h2!.peers.map((p) => p.publicKey)).toEqual([publicKey(1)]);
    expect(interfaces.h1!.peers.find((p) => p.publicKey === publicKey(3))!.allowedIps).toEqual(["10.250.0.99/32"]);
    expect(interfaces.h3).toEqual((outs.interfaces as Record<string, unknown>).h3);
    const checked = engine.check(inputs).inputs;
    expect(engine.diff(read.props, checked).changes).toBe(true);
    expect(engine.diff(outs, checked).changes).toBe(false);
    // Turning preflight on changes nothing on a host; a new credential is an update.
    const withPreflight = { ...inputs, connections: { ...inputs.connections, h1: { ...conn(1), preflight: true } } };
    expect(engine.diff(outs, engine.check(withPreflight).inputs).changes).toBe(false);
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    await engine.update(id, read.props, inputs);
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([1, 1, 0]);
    expect(wg2.wgPeers!.map((p) => p.publicKey)).toEqual(keys(1, 3));
    expect(
      host(1)
        .link(undefined, "wg0")!
        .wgPeers!.find((p) => p.publicKey === publicKey(3))!.allowedIps,
    ).toEqual([wgAddress(3)]);
  });

  it("a peer added by hand is neither reported nor touched, through updates and delete", async () => {
    const { engine, host, peersOf } = lab(3);
    host(1).link(undefined, "wg0")!.wgPeers = [{ publicKey: HAND_ADDED, allowedIps: ["192.0.2.0/24"] }];
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    const updated = await engine.update(id, outs, mesh([1, 2]));
    const read = await engine.read(id, updated.outs);
    expect((read.props.interfaces as Record<string, { peers: Array<{ publicKey: string }> }>).h1!.peers.map((p) => p.publicKey)).toEqual([publicKey(2)]);
    expect(engine.diff(read.props, engine.check(mesh([1, 2])).inputs).changes).toBe(false);
    await engine.delete(id, read.props);
    expect(peersOf(1)).toEqual([HAND_ADDED]);
    expect(peersOf(2)).toEqual([]);
    expect(host(1).commands.join("\n")).not.toMatch(`peer ${quoteArgv([HAND_ADDED])}`);
  });

  it("an endpoint learnt from a handshake (no endpoint listed) is not drift", async () => {
    const { engine, host } = lab(2);
    const inputs = { connections: { h1: conn(1) }, interfaces: { h1: { name: "wg0", peers: [{ publicKey: publicKey(2), allowedIps: [wgAddress(2)] }] } } };
    const { id, outs } = await engine.create(inputs);
    host(1).link(undefined, "wg0")!.wgPeers![0]!.endpoint = "198.51.100.7:40000";
    const read = await engine.read(id, outs);
    expect(engine.diff(read.props, engine.check(inputs).inputs).changes).toBe(false);
  });

  it("a peer whose endpoint the list drops loses it on the host (removed and set again), and keeps its allowed IPs", async () => {
    const { engine, host } = lab(2);
    const { id, outs } = await engine.create(mesh([1, 2]));
    expect(host(1).link(undefined, "wg0")!.wgPeers![0]!.endpoint).toBe(endpoint(2));
    const dropped = {
      ...mesh([1, 2]),
      interfaces: { ...mesh([1, 2]).interfaces, h1: { name: "wg0", peers: [{ publicKey: publicKey(2), allowedIps: [wgAddress(2)] }] } },
    };
    await engine.update(id, outs, engine.check(dropped).inputs);
    expect(host(1).link(undefined, "wg0")!.wgPeers).toEqual([{ publicKey: publicKey(2), allowedIps: [wgAddress(2)] }]);
    expect(host(2).link(undefined, "wg0")!.wgPeers![0]!.endpoint).toBe(endpoint(1));
  });

  it("delete: each member's listed peers removed; an interface that is gone counts as deleted", async () => {
    const { engine, host, peersOf } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    host(2).namespaces.get("")!.links.delete("wg0");
    await engine.delete(id, outs);
    expect(peersOf(1)).toEqual([]);
    expect(peersOf(3)).toEqual([]);
  });

  it("an interface missing on update is named as such; the others are applied", async () => {
    const { engine, host, peersOf } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2]));
    host(3).namespaces.get("")!.links.delete("wg0");
    const error = (await engine.update(id, outs, mesh([1, 2, 3])).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/failed on 1 of 3 member\(s\) \(h3\).*wg0 \(member h3\) on root@10\.0\.0\.3:22: the interface is not there/);
    expect(peersOf(1)).toEqual(keys(2, 3));
  });

  it("one host failing: the error names it (no credential in it), the others are applied, and its state stays as before", async () => {
    const { engine: raw, host, peersOf } = lab(3);
    const engine = withSecretsScrubbed(raw);
    const { id, outs } = await engine.create(mesh([1, 2]));
    host(2).failOn("wg set", `Unable to modify interface: Operation not permitted (${PASSWORD})`);
    const error = (await engine.update(id, outs, mesh([1, 2, 3])).catch((e: unknown) => e)) as Error & { id?: string; properties?: Record<string, unknown> };
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/WireguardPeerLists update failed on 1 of 3 member\(s\) \(h2\)/);
    expect(error.message).toContain("10.0.0.2");
    expect(error.message).not.toContain(PASSWORD);
    expect(peersOf(1)).toEqual(keys(2, 3));
    expect(peersOf(3)).toEqual(keys(1, 2));
    expect(peersOf(2)).toEqual(keys(1));
    // Recorded: what succeeded, and h2 as it was, so the next `up` converges h2 alone.
    expect(error.id).toBe(id);
    const interfaces = error.properties!.interfaces as Record<string, { peers: Array<{ publicKey: string }> }>;
    expect(interfaces.h2!.peers.map((p) => p.publicKey)).toEqual(keys(1));
    expect(interfaces.h3!.peers.map((p) => p.publicKey)).toEqual(keys(1, 2));
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    await engine.update(id, error.properties!, mesh([1, 2, 3]));
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([0, 1, 0]);
    expect(peersOf(2)).toEqual(keys(1, 3));
  });

  it("persist: a boot-time unit per member that sets its peers after the interface exists; drift in it is reported; a leaver's and delete remove it", async () => {
    const { engine, host } = lab(3);
    const inputs = mesh([1, 2, 3]);
    for (const device of Object.values(inputs.interfaces)) Object.assign(device, { persist: "networkd" });
    const { id, outs } = await engine.create(inputs);
    const script = [...host(1).files].find(([path]) => path.endsWith(".sh"));
    expect(script).toBeDefined();
    const content = (script![1] as { content: string }).content;
    expect(content).toContain("wait_for ip link show dev wg0");
    expect(content).toContain(`wg set wg0 peer ${shown(2)} endpoint ${endpoint(2)} allowed-ips ${wgAddress(2)} persistent-keepalive off`);
    expect(content).toContain(`peer ${shown(3)} endpoint`);
    expect((await engine.read(id, outs)).props.interfaces).toEqual(outs.interfaces);
    host(1).files.set(script![0], { content: `${content}# edited\n`, mode: "0644" });
    const read = await engine.read(id, outs);
    expect((read.props.interfaces as Record<string, { persist: string }>).h1!.persist).toBe("drifted");
    expect((read.props.interfaces as Record<string, { persist: string }>).h2!.persist).toBe("networkd");
    // h3 leaves: its unit goes (it would wait at every boot for an interface that no longer comes), its peers stay.
    const left = mesh([1, 2]);
    for (const device of Object.values(left.interfaces)) Object.assign(device, { persist: "networkd" });
    const updated = await engine.update(id, outs, left);
    expect([...host(3).files.keys()]).toEqual([]);
    expect(host(3).link(undefined, "wg0")!.wgPeers!.length).toBe(2);
    await engine.delete(id, updated.outs);
    expect([...host(1).files.keys()]).toEqual([]);
    expect([...host(2).files.keys()]).toEqual([]);
  });

  it("a mesh upgraded from interface peers: the interface's update leaves its peers, the peer lists take them over; never a moment without them", async () => {
    const host = new FakeHost({ user: "root", host: "10.0.0.1", port: 22 });
    const interfaces = new DeviceEngine(wireguardKind as unknown as DeviceKind, () => host);
    const peers = [peer(2), peer(3)];
    const old = interfaces.check({ connection: conn(1), name: "wg0", privateKey: Buffer.alloc(32, 1).toString("base64"), peers }).inputs;
    const made = await interfaces.create(old);
    const present = () => (host.link(undefined, "wg0")!.wgPeers ?? []).map((p) => p.publicKey).sort();
    expect(present()).toEqual(keys(2, 3));
    // Every command from here on must leave the peers in place: no removal.
    const mark = host.commands.length;
    const { peers: _dropped, ...withoutPeers } = old;
    const updated = await interfaces.update(made.id, made.outs, interfaces.check(withoutPeers).inputs);
    expect(updated.outs.peers).toBeUndefined();
    expect(present()).toEqual(keys(2, 3));
    const lists = createPeerListsEngine(() => host);
    await lists.create({ connections: { h1: conn(1) }, interfaces: { h1: { name: "wg0", peers } } });
    expect(present()).toEqual(keys(2, 3));
    expect(host.commands.slice(mark).filter((command) => command.includes(" remove"))).toEqual([]);
  });
});

/** The same mesh given as each member's `asPeer`: how the others list it. */
function asPeers(members: number[]) {
  return {
    connections: Object.fromEntries(members.map((n) => [`h${n}`, conn(n)])),
    interfaces: Object.fromEntries(members.map((n) => [`h${n}`, { name: "wg0", asPeer: peer(n) }])),
  };
}

describe("WireguardPeerLists as a mesh (each member's asPeer)", () => {
  it("every member lists every other; state holds each member once, N entries where the lists are N × (N − 1)", async () => {
    const { engine, peersOf } = lab(4);
    const { outs } = await engine.create(asPeers([1, 2, 3, 4]));
    for (const n of [1, 2, 3, 4]) expect(peersOf(n)).toEqual(keys(...[1, 2, 3, 4].filter((o) => o !== n)));
    const interfaces = outs.interfaces as Record<string, { peers: unknown[]; asPeer: unknown }>;
    expect(interfaces.h2).toEqual({ name: "wg0", peers: [], asPeer: peer(2) });
    // The same lists written out: each member's list in state, three times the peers.
    const listed = await lab(4).engine.create(mesh([1, 2, 3, 4]));
    expect(JSON.stringify(outs.interfaces).length).toBeLessThan(JSON.stringify(listed.outs.interfaces).length / 2);
    // The upgrade from written-out lists to the mesh: the same peers, so no host is contacted.
    const fresh = lab(3);
    const written = await fresh.engine.create(mesh([1, 2, 3]));
    fresh.resetCounts();
    await fresh.engine.update(written.id, written.outs, asPeers([1, 2, 3]));
    expect([1, 2, 3].map((n) => fresh.host(n).roundTrips)).toEqual([0, 0, 0]);
  });

  it("a host joins: the diff is that member alone, one command per host, each naming only the new peer; a leaver is not contacted", async () => {
    const { engine, host, peersOf, resetCounts } = lab(4);
    const { id, outs } = await engine.create(asPeers([1, 2, 3]));
    resetCounts();
    const joined = await engine.update(id, outs, asPeers([1, 2, 3, 4]));
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(peersOf(2)).toEqual(keys(1, 3, 4));
    expect(host(2).commands.at(-1)).toBe(`wg set wg0 peer ${shown(4)} endpoint ${endpoint(4)} allowed-ips ${wgAddress(4)} persistent-keepalive off`);
    expect(Object.keys(joined.outs.interfaces as object)).toEqual(["h1", "h2", "h3", "h4"]);
    resetCounts();
    const commandsBefore = host(1).commands.length;
    await engine.update(id, joined.outs, asPeers([2, 3, 4]));
    expect(host(1).roundTrips).toBe(0);
    expect(host(1).commands.length).toBe(commandsBefore);
    expect(peersOf(2)).toEqual(keys(3, 4));
  });

  it("refresh: a peer removed by hand shows as that member's `found`; the next up restores it there alone and `found` goes", async () => {
    const { engine, host } = lab(3);
    const inputs = asPeers([1, 2, 3]);
    const { id, outs } = await engine.create(inputs);
    const clean = await engine.read(id, outs);
    expect(engine.diff(clean.props, engine.check(inputs).inputs).changes).toBe(false);
    expect(clean.props.interfaces).toEqual(outs.interfaces);
    const wg2 = host(2).link(undefined, "wg0")!;
    wg2.wgPeers = wg2.wgPeers!.filter((p) => p.publicKey !== publicKey(3));
    const read = await engine.read(id, outs);
    const interfaces = read.props.interfaces as Record<string, { found?: Array<{ publicKey: string }> }>;
    expect(interfaces.h2!.found!.map((p) => p.publicKey)).toEqual([publicKey(1)]);
    expect(interfaces.h1!.found).toBeUndefined();
    expect(engine.diff(read.props, engine.check(inputs).inputs).changes).toBe(true);
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    const { outs: repaired } = await engine.update(id, read.props, engine.check(inputs).inputs);
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([0, 1, 0]);
    expect(wg2.wgPeers!.map((p) => p.publicKey)).toEqual(keys(1, 3));
    expect((repaired.interfaces as Record<string, { found?: unknown }>).h2!.found).toBeUndefined();
  });

  it("delete removes every member's mesh peers, and a member's own peers beside the mesh", async () => {
    const { engine, peersOf } = lab(3);
    const inputs = asPeers([1, 2]);
    inputs.interfaces.h1 = { ...inputs.interfaces.h1!, peers: [peer(3)] } as (typeof inputs.interfaces)["h1"];
    const { id, outs } = await engine.create(inputs);
    expect(peersOf(1)).toEqual(keys(2, 3));
    await engine.delete(id, outs);
    expect(peersOf(1)).toEqual([]);
    expect(peersOf(2)).toEqual([]);
  });

  it("check: one key per mesh member; a member's own peers neither repeat the mesh nor hold its own key", () => {
    const engine = engineFor("WireguardPeerLists");
    const inputs = asPeers([1, 2]);
    const twice = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h2: { name: "wg0", asPeer: peer(1) } } }).failures;
    expect(twice.map((f) => f.reason).join("\n")).toMatch(/interfaces\.h2\.asPeer: has the public key of interfaces\.h1\.asPeer/);
    const repeated = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h1: { name: "wg0", asPeer: peer(1), peers: [peer(2)] } } }).failures;
    expect(repeated.map((f) => f.reason).join("\n")).toMatch(/interfaces\.h1\.peers: lists .* which the mesh lists already \(interfaces\.h2\.asPeer\)/);
    const own = engine.check({ ...inputs, interfaces: { ...inputs.interfaces, h1: { name: "wg0", asPeer: peer(1), peers: [peer(1)] } } }).failures;
    expect(own.map((f) => f.reason).join("\n")).toMatch(/interfaces\.h1\.peers: lists the interface's own public key/);
  });
});
