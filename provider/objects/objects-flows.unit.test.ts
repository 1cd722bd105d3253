import { describe, expect, it } from "vitest";
import { FakeHost } from "../../test/support/fake-host";
import { createNamespaceEngine } from "./namespace/namespace";
import { createRouteEngine } from "./route/route";

/**
 * NetworkNamespace and Route against a fake host (test/support/fake-host.ts): create, read and
 * delete, whose namespace or route they may touch, and cleanup after a failed create.
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
const KEY = "0123456789ab";
const TAG = `netdev#${KEY}`;

describe("NetworkNamespace", () => {
  const setup = () => {
    const host = new FakeHost();
    return {
      host,
      engine: createNamespaceEngine(() => host),
      inputs: (extra: Record<string, unknown> = {}) => ({ connection, name: "web", ownerKey: KEY, ...extra }),
    };
  };

  it("creates the namespace with lo tagged and up, reads what is inside, deletes it", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs());
    expect(id).toBe(`${host.endpoint}/netns/web#${KEY}`);
    expect(outs.devices).toEqual([]);
    expect(host.link("web", "lo")).toMatchObject({ ifalias: TAG, up: true });
    host.addLink("web", "eth0", "veth");
    expect((await engine.read(id, { ...inputs(), ...outs })).props.devices).toEqual(["eth0"]);
    host.namespaces.get("web")!.links.delete("eth0");
    await engine.delete(id, { ...inputs(), ...outs });
    expect(host.namespaceNames()).toEqual([]);
    expect(await engine.read(id, { ...inputs(), ...outs })).toEqual({ id: "", props: {} });
  });

  it("refuses to delete a namespace that still holds devices, unless forced", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs());
    host.addLink("web", "eth0", "veth");
    await expect(engine.delete(id, { ...inputs(), ...outs })).rejects.toThrow(/still holds eth0; delete those first or set force: true/);
    expect(host.linkNames("web")).toEqual(["eth0"]);
    await engine.delete(id, { ...inputs(), ...outs, force: true });
    expect(host.namespaceNames()).toEqual([]);
  });

  it("refuses an existing namespace without adopt, and one another resource owns even with it", async () => {
    const { host, engine, inputs } = setup();
    host.addNamespace("web", "netdev#ffffffffffff");
    await expect(engine.create(inputs())).rejects.toThrow(/already exists; set adopt: true/);
    await expect(engine.create(inputs({ adopt: true }))).rejects.toThrow(/already managed by another netdev resource \(owner tag ffffffffffff\)/);
    expect(host.link("web", "lo")!.ifalias).toBe("netdev#ffffffffffff");
  });

  it("adopts an untagged namespace and takes back its own after a crash, keeping what is inside", async () => {
    const { host, engine, inputs } = setup();
    host.addNamespace("web");
    host.addLink("web", "eth0", "veth");
    await engine.create(inputs({ adopt: true }));
    expect(host.link("web", "lo")!.ifalias).toBe(TAG);
    const { outs } = await engine.create(inputs());
    expect(outs.devices).toEqual(["eth0"]);
  });

  it("refuses to delete a namespace whose lo another resource tagged since", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs());
    host.link("web", "lo")!.ifalias = "netdev#ffffffffffff";
    await expect(engine.delete(id, { ...inputs(), ...outs })).rejects.toThrow(/refusing to delete .*not the namespace this resource created/);
    expect(host.namespaceNames()).toEqual(["web"]);
  });

  it("removes the namespace and its boot unit when a step after the add fails", async () => {
    const { host, engine, inputs } = setup();
    host.failOn("link set dev lo up");
    await expect(engine.create(inputs({ persist: "networkd" }))).rejects.toThrow(/setting name failed/);
    expect(host.namespaceNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
  });
});

describe("Route", () => {
  const setup = () => {
    const host = new FakeHost();
    host.addLink(undefined, "d0", "dummy", { up: true });
    const inputs = (extra: Record<string, unknown> = {}) => ({ connection, destination: "10.5.0.0/24", dev: "d0", ownerKey: KEY, ...extra });
    return { host, engine: createRouteEngine(() => host), inputs };
  };

  it("adds the route with netdev's protocol, reads it, deletes it", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs({ metric: 10 }));
    expect(id.endsWith(`#${KEY}`)).toBe(true);
    expect(host.routes()).toEqual([{ family: 4, dst: "10.5.0.0/24", dev: "d0", metric: 10, protocol: "250" }]);
    expect((await engine.read(id, outs)).id).toBe(id);
    await engine.delete(id, outs);
    expect(host.routes()).toEqual([]);
    expect(await engine.read(id, outs)).toEqual({ id: "", props: {} });
    await expect(engine.delete(id, outs)).resolves.toBeUndefined();
  });

  it("refuses to add over an existing route, and to delete one netdev did not add", async () => {
    const { host, engine, inputs } = setup();
    host.addRoute(undefined, { dst: "10.5.0.0/24", dev: "d0" });
    await expect(engine.create(inputs())).rejects.toThrow(/File exists/);
    expect(host.routes()).toHaveLength(1);
    const id = `${host.endpoint}/-/route/10.5.0.0/24_dev_d0#${KEY}`;
    await expect(engine.delete(id, inputs())).rejects.toThrow(/refusing to delete .*not added by netdev \(protocol boot, expected 250\)/);
    expect(host.routes()).toEqual([{ family: 4, dst: "10.5.0.0/24", dev: "d0", metric: 0, protocol: "boot" }]);
  });

  it("writes its boot unit, and removes the route and the unit when writing fails half way", async () => {
    const { host, engine, inputs } = setup();
    const { id, outs } = await engine.create(inputs({ persist: "networkd" }));
    expect([...host.files.keys()].some((path) => path.endsWith(`${KEY}.sh`))).toBe(true);
    expect((await engine.read(id, outs)).props.persist).toBe("networkd");
    await engine.delete(id, outs);
    expect([...host.files.keys()]).toEqual([]);
    host.failOn("netdev-persist", "sh: cannot create /etc/pulumi-netdev: Read-only file system");
    await expect(engine.create(inputs({ persist: "networkd" }))).rejects.toThrow(/Read-only file system/);
    expect(host.routes()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
  });
});

describe("state from a newer release", () => {
  it("is refused by NetworkNamespace and Route alike, touching nothing", async () => {
    const host = new FakeHost();
    host.addLink(undefined, "d0", "dummy", { up: true });
    const namespaces = createNamespaceEngine(() => host);
    const routes = createRouteEngine(() => host);
    const nsInputs = { connection, name: "web", ownerKey: KEY };
    const routeInputs = { connection, destination: "10.5.0.0/24", dev: "d0", ownerKey: KEY };
    const ns = await namespaces.create(nsInputs);
    const route = await routes.create(routeInputs);
    expect(ns.outs.schemaVersion).toBe(1);
    expect(route.outs.schemaVersion).toBe(1);
    const trips = host.roundTrips;
    for (const [engine, { id, outs }, news] of [
      [namespaces, ns, nsInputs],
      [routes, route, routeInputs],
    ] as const) {
      const newer = { ...outs, schemaVersion: 2 };
      await expect(engine.read(id, newer)).rejects.toThrow(/written by a newer pulumi-netdev \(schema 2; this one understands up to 1\)/);
      await expect(engine.update(id, newer, news)).rejects.toThrow(/newer pulumi-netdev/);
      await expect(engine.delete(id, newer)).rejects.toThrow(/newer pulumi-netdev/);
    }
    expect(host.roundTrips).toBe(trips);
    expect(host.namespaceNames()).toEqual(["web"]);
    expect(host.routes()).toHaveLength(1);
  });
});
