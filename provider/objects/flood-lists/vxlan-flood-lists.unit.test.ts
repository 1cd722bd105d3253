import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../test/support/fake-host";
import { DeviceEngine } from "../../engine/engine";
import type { DeviceKind } from "../../engine/kind";
import { withSecretsScrubbed } from "../../engine/provider-boundary";
import { vxlanKind } from "../../kinds/vxlan/vxlan";
import { engineFor } from "../../registry";
import { createFloodListsEngine } from "./vxlan-flood-lists";

/**
 * VxlanFloodLists against fake hosts: one command per host whose list changes, none for the
 * others, the leaver never contacted, drift per member, entries of others left alone, and a
 * failing host named while the others stay applied.
 */
const PASSWORD = "pw-flood-secret";
const conn = (n: number) => ({ host: `10.0.0.${n}`, port: 22, user: "root", password: PASSWORD, hostKey: `SHA256:${"A".repeat(43)}` });
const underlay = (n: number) => `10.247.0.1${n}`;

function lab(count: number) {
  const hosts = new Map<string, FakeHost>();
  for (let n = 1; n <= count; n++) {
    const host = new FakeHost({ user: "root", host: `10.0.0.${n}`, port: 22 });
    host.addLink(undefined, "vxlan42", "vxlan");
    hosts.set(`10.0.0.${n}`, host);
  }
  const engine = createFloodListsEngine((connection) => hosts.get(connection.host)!);
  const host = (n: number) => hosts.get(`10.0.0.${n}`)!;
  const entries = (n: number) => (host(n).link(undefined, "vxlan42")!.fdb ?? []).map((entry) => entry.dst).sort();
  const resetCounts = () => {
    for (const h of hosts.values()) h.roundTrips = 0;
  };
  return { engine, host, entries, resetCounts, hosts };
}

/** A full mesh of these members: each floods to every other's underlay address. */
function mesh(members: number[]) {
  return {
    connections: Object.fromEntries(members.map((n) => [`h${n}`, conn(n)])),
    vteps: Object.fromEntries(members.map((n) => [`h${n}`, { name: "vxlan42", peers: members.filter((o) => o !== n).map(underlay) }])),
  };
}

describe("VxlanFloodLists inputs", () => {
  it("a bad field is named by its path, the member included; a member without a connection is refused; no credential is echoed", () => {
    const engine = engineFor("VxlanFloodLists");
    const inputs = mesh([1, 2]);
    const bad = engine.check({ ...inputs, vteps: { ...inputs.vteps, h2: { name: "vxlan42", peers: ["not-an-ip"] } } }).failures;
    expect(bad.map((f) => f.reason).join("\n")).toMatch(/^VxlanFloodLists vteps\.h2\.peers\.0: .*\(got "not-an-ip"\)$/);
    const orphan = engine.check({ ...inputs, vteps: { ...inputs.vteps, h3: { name: "vxlan42", peers: [] } } }).failures;
    expect(orphan.map((f) => f.reason)).toEqual(["VxlanFloodLists vteps.h3: this member has no connection in `connections`"]);
    const badConnection = engine.check({ ...inputs, connections: { ...inputs.connections, h1: { ...conn(1), hostKey: "bogus" } } }).failures;
    expect(badConnection.length).toBeGreaterThan(0);
    for (const failure of badConnection) {
      expect(failure.property).toBe("");
      expect(failure.reason).toContain("connections.h1.hostKey");
      expect(failure.reason).not.toContain(PASSWORD);
    }
  });
});

describe("VxlanFloodLists on fake hosts", () => {
  it("create: one command per host after its capability probe, every list applied", async () => {
    const { engine, host, entries } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    expect(id).toMatch(/^VxlanFloodLists#[0-9a-f]{12}$/);
    // The probe (engine/preflight.ts, once per host per run), then the list's one command.
    for (const n of [1, 2, 3]) expect(host(n).roundTrips, `h${n}`).toBe(2);
    for (const n of [1, 2, 3]) expect(host(n).commands[0], `h${n}`).toMatch(/^sh -c 'echo "ip \$\(ip -V/);
    expect(entries(1)).toEqual([underlay(2), underlay(3)]);
    expect(entries(3)).toEqual([underlay(1), underlay(2)]);
    expect((outs.vteps as Record<string, { peers: string[] }>).h2!.peers).toEqual([underlay(1), underlay(3)]);
  });

  it("a host joins: one command per host whose list changes, the joiner included; none for a host whose list does not", async () => {
    const { engine, host, entries, resetCounts } = lab(4);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    const joined = await engine.update(id, outs, mesh([1, 2, 3, 4]));
    // The joiner's host is probed first; the others were in this run already.
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(entries(4)).toEqual([underlay(1), underlay(2), underlay(3)]);
    expect(entries(2)).toEqual([underlay(1), underlay(3), underlay(4)]);
    // Only h2's list changes: only h2 is contacted.
    resetCounts();
    const next = mesh([1, 2, 3, 4]);
    next.vteps.h2!.peers = [underlay(1), underlay(3)];
    await engine.update(id, joined.outs, next);
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([0, 1, 0, 0]);
    expect(entries(2)).toEqual([underlay(1), underlay(3)]);
  });

  it("in a new run (a fresh provider process), a join costs each member applied before one command, no probe; the joiner is probed", async () => {
    const { engine, host, entries, hosts, resetCounts } = lab(4);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    // Probes are remembered per host object for the process: new objects for the same hosts are a new run.
    const fresh = createFloodListsEngine((connection) => new Proxy(hosts.get(connection.host)!, {}));
    await fresh.update(id, outs, mesh([1, 2, 3, 4]));
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(host(4).commands[0]).toMatch(/^sh -c 'echo "ip \$\(ip -V/);
    expect(entries(1)).toEqual([underlay(2), underlay(3), underlay(4)]);
    expect(entries(4)).toEqual([underlay(1), underlay(2), underlay(3)]);
  });

  it("a member whose host lacks `bridge` fails before anything runs there, named with the fix; the others are applied", async () => {
    const { engine, host, entries } = lab(3);
    host(2).missingTools.add("bridge");
    const error = await engine.create(mesh([1, 2, 3])).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^VxlanFloodLists create failed on 1 of 3 member\(s\) \(h2\)/);
    expect(error?.message).toMatch(
      /h2: root@10\.0\.0\.2:22 lacks what VxlanFloodLists vxlan42 \(member h2\) on root@10\.0\.0\.2:22 needs; nothing was changed there\. Missing on root@10\.0\.0\.2:22:\n {2}- iproute2's `bridge` tool \(the host answered: not found in the login's PATH\): install iproute2/,
    );
    expect(host(2).commands).toHaveLength(1);
    expect(entries(2)).toEqual([]);
    expect(entries(1)).toEqual([underlay(2), underlay(3)]);
  });

  it("a host leaves: the others drop it, the leaver is not contacted", async () => {
    const { engine, host, entries, resetCounts } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    resetCounts();
    const commandsBefore = host(3).commands.length;
    await engine.update(id, outs, mesh([1, 2]));
    expect(host(3).roundTrips).toBe(0);
    expect(host(3).commands.length).toBe(commandsBefore);
    expect(entries(1)).toEqual([underlay(2)]);
    expect(entries(2)).toEqual([underlay(1)]);
  });

  it("refresh: an entry deleted by hand on one host shows as that member's drift only", async () => {
    const { engine, host } = lab(3);
    const inputs = mesh([1, 2, 3]);
    const { id, outs } = await engine.create(inputs);
    const vtep = host(2).link(undefined, "vxlan42")!;
    vtep.fdb = vtep.fdb!.filter((entry) => entry.dst !== underlay(3));
    const read = await engine.read(id, outs);
    const vteps = read.props.vteps as Record<string, { peers: string[] }>;
    expect(vteps.h2!.peers).toEqual([underlay(1)]);
    expect(vteps.h1!.peers).toEqual([underlay(2), underlay(3)]);
    expect(vteps.h3!.peers).toEqual([underlay(1), underlay(2)]);
    const checked = engine.check(inputs).inputs;
    expect(engine.diff(read.props, checked).changes).toBe(true);
    expect(engine.diff(outs, checked).changes).toBe(false);
    // Turning preflight on changes nothing on a host; a new credential is an update.
    const withPreflight = { ...inputs, connections: { ...inputs.connections, h1: { ...conn(1), preflight: true } } };
    expect(engine.diff(outs, engine.check(withPreflight).inputs).changes).toBe(false);
    const newPassword = { ...inputs, connections: { ...inputs.connections, h1: { ...conn(1), password: "other" } } };
    expect(engine.diff(outs, engine.check(newPassword).inputs)).toMatchObject({ changes: true, replaces: [] });
    // The next `up` puts it back, on h2 alone.
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    await engine.update(id, read.props, inputs);
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([0, 1, 0]);
    expect(vtep.fdb!.map((entry) => entry.dst).sort()).toEqual([underlay(1), underlay(3)]);
  });

  it("an all-zero entry added by hand (to an address in no list) is left alone and not reported", async () => {
    const { engine, host, entries } = lab(3);
    host(1).link(undefined, "vxlan42")!.fdb = [{ mac: "00:00:00:00:00:00", dst: "192.0.2.99" }];
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    const updated = await engine.update(id, outs, mesh([1, 2]));
    const read = await engine.read(id, updated.outs);
    expect((read.props.vteps as Record<string, { peers: string[] }>).h1!.peers).toEqual([underlay(2)]);
    await engine.delete(id, read.props);
    expect(entries(1)).toEqual(["192.0.2.99"]);
    expect(entries(2)).toEqual([]);
  });

  it("an entry already gone when a delete runs is settled from what the host has; a VTEP that is gone counts as deleted", async () => {
    const { engine, host, entries } = lab(3);
    const { id, outs } = await engine.create(mesh([1, 2, 3]));
    const vtep = host(1).link(undefined, "vxlan42")!;
    vtep.fdb = vtep.fdb!.filter((entry) => entry.dst !== underlay(3));
    const updated = await engine.update(id, outs, mesh([1, 2]));
    expect(entries(1)).toEqual([underlay(2)]);
    host(2).namespaces.get("")!.links.delete("vxlan42");
    await engine.delete(id, updated.outs);
    expect(entries(1)).toEqual([]);
  });

  it("one host failing: the error names it (no credential in it), the others are applied, and its state stays as before", async () => {
    const { engine: raw, host, entries } = lab(3);
    const engine = withSecretsScrubbed(raw);
    const { id, outs } = await engine.create(mesh([1, 2]));
    host(2).failOn("fdb append", `RTNETLINK answers: Permission denied (${PASSWORD})`, 2);
    const error = (await engine.update(id, outs, mesh([1, 2, 3])).catch((e: unknown) => e)) as Error & { id?: string; properties?: Record<string, unknown> };
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/failed on 1 of 3 member\(s\) \(h2\)/);
    expect(error.message).toContain("10.0.0.2");
    expect(error.message).not.toContain(PASSWORD);
    expect(entries(1)).toEqual([underlay(2), underlay(3)]);
    expect(entries(3)).toEqual([underlay(1), underlay(2)]);
    expect(entries(2)).toEqual([underlay(1)]);
    // Recorded: what succeeded, and h2 as it was, so the next `up` converges h2 alone.
    expect(error.id).toBe(id);
    const vteps = error.properties!.vteps as Record<string, { peers: string[] }>;
    expect(vteps.h2!.peers).toEqual([underlay(1)]);
    expect(vteps.h3!.peers).toEqual([underlay(1), underlay(2)]);
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    await engine.update(id, error.properties!, mesh([1, 2, 3]));
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([0, 1, 0]);
    expect(entries(2)).toEqual([underlay(1), underlay(3)]);
  });

  it("persist: a boot-time unit per member that re-adds its list after the VTEP exists; drift in it is reported; delete removes it", async () => {
    const { engine, host } = lab(2);
    const inputs = mesh([1, 2]);
    for (const vtep of Object.values(inputs.vteps)) Object.assign(vtep, { persist: "networkd" });
    const { id, outs } = await engine.create(inputs);
    const script = [...host(1).files].find(([path]) => path.endsWith(".sh"));
    expect(script).toBeDefined();
    const content = (script![1] as { content: string }).content;
    expect(content).toContain("wait_for ip link show dev vxlan42");
    expect(content).toContain(`bridge fdb append 00:00:00:00:00:00 dev vxlan42 dst ${underlay(2)}`);
    expect((await engine.read(id, outs)).props.vteps).toEqual(outs.vteps);
    host(1).files.set(script![0], { content: `${content}# edited\n`, mode: "0644" });
    const read = await engine.read(id, outs);
    expect((read.props.vteps as Record<string, { persist: string }>).h1!.persist).toBe("drifted");
    expect((read.props.vteps as Record<string, { persist: string }>).h2!.persist).toBe("networkd");
    await engine.delete(id, outs);
    expect([...host(1).files.keys()]).toEqual([]);
    expect([...host(2).files.keys()]).toEqual([]);
  });

  it("an overlay upgraded from VTEP peers: the VTEP's update leaves its entries, the flood lists take them over; never a moment without them", async () => {
    const host = new FakeHost({ user: "root", host: "10.0.0.1", port: 22 });
    const vteps = new DeviceEngine(vxlanKind as unknown as DeviceKind, () => host);
    const peers = [underlay(2), underlay(3)];
    const old = vteps.check({ connection: conn(1), name: "vxlan42", vni: 42, local: underlay(1), peers }).inputs;
    const made = await vteps.create(old);
    const entries = () => (host.link(undefined, "vxlan42")!.fdb ?? []).map((entry) => entry.dst).sort();
    expect(entries()).toEqual(peers);
    // Every command from here on must leave the list whole: no delete of a listed entry.
    const mark = host.commands.length;
    const { peers: _dropped, ...withoutPeers } = old;
    const updated = await vteps.update(made.id, made.outs, vteps.check(withoutPeers).inputs);
    expect(updated.outs.peers).toBeUndefined();
    expect(entries()).toEqual(peers);
    const floods = createFloodListsEngine(() => host);
    await floods.create({ connections: { h1: conn(1) }, vteps: { h1: { name: "vxlan42", peers } } });
    expect(entries()).toEqual(peers);
    expect(host.commands.slice(mark).filter((command) => command.includes("fdb del"))).toEqual([]);
  });
});

/** The same mesh given as each member's own `address`: where the others flood to it. */
function byAddress(members: number[]) {
  return {
    connections: Object.fromEntries(members.map((n) => [`h${n}`, conn(n)])),
    vteps: Object.fromEntries(members.map((n) => [`h${n}`, { name: "vxlan42", address: underlay(n) }])),
  };
}

describe("VxlanFloodLists as a mesh (each member's address)", () => {
  it("every member floods to every other; state holds each member once; a join is one member in the diff and one command per host", async () => {
    const { engine, entries, host, resetCounts } = lab(4);
    const { id, outs } = await engine.create(byAddress([1, 2, 3]));
    for (const n of [1, 2, 3]) expect(entries(n)).toEqual([1, 2, 3].filter((o) => o !== n).map(underlay));
    expect((outs.vteps as Record<string, unknown>).h2).toEqual({ name: "vxlan42", peers: [], address: underlay(2) });
    resetCounts();
    const joined = await engine.update(id, outs, byAddress([1, 2, 3, 4]));
    expect([1, 2, 3, 4].map((n) => host(n).roundTrips)).toEqual([1, 1, 1, 2]);
    expect(entries(2)).toEqual([1, 3, 4].map(underlay));
    expect(entries(4)).toEqual([1, 2, 3].map(underlay));
    // Each member once: its address, no list of the others.
    expect(Object.values(joined.outs.vteps as Record<string, { peers: string[] }>).map((vtep) => vtep.peers)).toEqual([[], [], [], []]);
    // The upgrade from written-out lists to the mesh: the same entries, so no host is contacted.
    const fresh = lab(3);
    const written = await fresh.engine.create(mesh([1, 2, 3]));
    fresh.resetCounts();
    await fresh.engine.update(written.id, written.outs, byAddress([1, 2, 3]));
    expect([1, 2, 3].map((n) => fresh.host(n).roundTrips)).toEqual([0, 0, 0]);
  });

  it("refresh: an entry deleted by hand shows as that member's `found`; the next up re-adds it there alone; delete removes every entry", async () => {
    const { engine, entries, host } = lab(3);
    const inputs = byAddress([1, 2, 3]);
    const { id, outs } = await engine.create(inputs);
    const clean = await engine.read(id, outs);
    expect(engine.diff(clean.props, engine.check(inputs).inputs).changes).toBe(false);
    const vtep2 = host(2).link(undefined, "vxlan42")!;
    vtep2.fdb = vtep2.fdb!.filter((entry) => entry.dst !== underlay(3));
    const read = await engine.read(id, outs);
    const vteps = read.props.vteps as Record<string, { found?: string[] }>;
    expect(vteps.h2!.found).toEqual([underlay(1)]);
    expect(vteps.h1!.found).toBeUndefined();
    expect(engine.diff(read.props, engine.check(inputs).inputs).changes).toBe(true);
    for (const n of [1, 2, 3]) host(n).roundTrips = 0;
    const { outs: repaired } = await engine.update(id, read.props, engine.check(inputs).inputs);
    expect([1, 2, 3].map((n) => host(n).roundTrips)).toEqual([0, 1, 0]);
    expect(entries(2)).toEqual([1, 3].map(underlay));
    expect((repaired.vteps as Record<string, { found?: unknown }>).h2!.found).toBeUndefined();
    await engine.delete(id, repaired);
    for (const n of [1, 2, 3]) expect(entries(n)).toEqual([]);
  });

  it("check: one address per member; a member's own peers neither repeat the mesh nor name its own address", () => {
    const engine = engineFor("VxlanFloodLists");
    const inputs = byAddress([1, 2]);
    const twice = engine.check({ ...inputs, vteps: { ...inputs.vteps, h2: { name: "vxlan42", address: underlay(1) } } }).failures;
    expect(twice.map((f) => f.reason).join("\n")).toMatch(/vteps\.h2\.address: has the address of vteps\.h1\.address \(one per member\)/);
    const repeated = engine.check({ ...inputs, vteps: { ...inputs.vteps, h1: { name: "vxlan42", address: underlay(1), peers: [underlay(2)] } } }).failures;
    expect(repeated.map((f) => f.reason).join("\n")).toMatch(/vteps\.h1\.peers: lists 10\.247\.0\.12, which the mesh lists already \(vteps\.h2\.address\)/);
    const own = engine.check({ ...inputs, vteps: { ...inputs.vteps, h1: { name: "vxlan42", address: underlay(1), peers: [underlay(1)] } } }).failures;
    expect(own.map((f) => f.reason).join("\n")).toMatch(/vteps\.h1\.peers: lists the VTEP's own address/);
  });
});
