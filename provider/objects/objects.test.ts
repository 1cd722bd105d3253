import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionInput } from "../../test/support/lab-hosts";
import { namespaceEngine } from "./namespace/namespace";
import { routeEngine } from "./route/route";
import { exec, removeLeftovers } from "../../test/support/components";

const NS = "ndo-ns-test";

describe("NetworkNamespace and Route engines on h2", () => {
  beforeAll(async () => removeLeftovers("h2", [], [NS]));
  afterAll(async () => removeLeftovers("h2", [], [NS]));

  it("check refuses bad names without touching a host", () => {
    for (const name of ["-x", "a/b", "..", "a b", ""]) {
      expect(namespaceEngine.check({ connection: connectionInput("h2"), name }).failures.map((f) => f.property)).toContain("name");
    }
    expect(namespaceEngine.check({ connection: connectionInput("h2"), name: "ok", extra: 1 }).failures.map((f) => f.property)).toContain("extra");
    expect(routeEngine.check({ connection: connectionInput("h2"), destination: "default" }).failures.map((f) => f.property)).toContain("via");
  });

  it("create (lo up, owner tag) → read → refuse delete with devices inside → route → delete", async () => {
    const inputs = namespaceEngine.check({ connection: connectionInput("h2"), name: NS }).inputs;
    const { id, outs } = await namespaceEngine.create(inputs);
    expect(outs.devices).toEqual([]);
    const lo = JSON.parse((await exec("h2", ["ip", "-n", NS, "-json", "link", "show", "lo"])).stdout)[0];
    expect(lo.flags).toContain("UP");
    expect(lo.ifalias).toMatch(/^netdev#/);
    expect((await namespaceEngine.read(id, outs)).id).toBe(id);
    expect(namespaceEngine.diff(outs, inputs)).toMatchObject({ changes: false });
    expect(namespaceEngine.diff(outs, { ...inputs, name: "other" })).toMatchObject({ replaces: ["name"], deleteBeforeReplace: true });
    await expect(namespaceEngine.create(inputs)).rejects.toThrow(/already exists/);
    await expect(namespaceEngine.create({ ...inputs, adopt: true })).rejects.toThrow(/already managed/);

    await exec("h2", ["ip", "-n", NS, "link", "add", "ndo-x0", "type", "veth", "peer", "name", "ndo-x1"]);
    await exec("h2", ["ip", "-n", NS, "addr", "add", "10.99.0.1/24", "dev", "ndo-x0"]);
    await exec("h2", ["ip", "-n", NS, "link", "set", "ndo-x0", "up"]);
    await exec("h2", ["ip", "-n", NS, "link", "set", "ndo-x1", "up"]);
    const route = routeEngine.check({ connection: connectionInput("h2"), netns: NS, destination: "default", via: "10.99.0.254", dev: "ndo-x0" });
    expect(route.failures).toEqual([]);
    const r = await routeEngine.create(route.inputs);
    expect((await exec("h2", ["ip", "-n", NS, "route", "show", "default"])).stdout).toContain("via 10.99.0.254 dev ndo-x0");
    expect((await routeEngine.read(r.id, r.outs)).id).toBe(r.id);
    await expect(routeEngine.create(route.inputs)).rejects.toThrow(/exists/);
    expect(r.id).toMatch(/#[0-9a-f]{12}$/);
    const showDefault = async () => JSON.parse((await exec("h2", ["ip", "-n", NS, "-json", "route", "show", "default"])).stdout || "[]")[0];
    expect((await showDefault()).protocol).toBe("250");
    // The same route, re-added by someone else (proto boot): delete leaves it alone and says why.
    await exec("h2", ["ip", "-n", NS, "route", "replace", "default", "via", "10.99.0.254", "dev", "ndo-x0", "proto", "boot"]);
    await expect(routeEngine.delete(r.id, r.outs)).rejects.toThrow(/not added by netdev \(protocol boot/);
    const kept = await showDefault();
    expect(kept.gateway).toBe("10.99.0.254");
    expect(kept.protocol ?? "boot").toBe("boot"); // ip -json leaves out the default protocol
    await exec("h2", ["ip", "-n", NS, "route", "replace", "default", "via", "10.99.0.254", "dev", "ndo-x0", "proto", "250"]);

    await expect(namespaceEngine.delete(id, outs)).rejects.toThrow(/still holds ndo-x0, ndo-x1/);
    await routeEngine.delete(r.id, r.outs);
    expect((await routeEngine.read(r.id, r.outs)).id).toBe("");
    await routeEngine.delete(r.id, r.outs); // already gone: fine
    await namespaceEngine.delete(id, { ...outs, force: true });
    expect((await namespaceEngine.read(id, outs)).id).toBe("");
    expect((await exec("h2", ["ip", "netns", "list"])).stdout).not.toContain(NS);
  });

  it("delete refuses a namespace this resource did not create", async () => {
    await exec("h2", ["ip", "netns", "add", NS]);
    const inputs = namespaceEngine.check({ connection: connectionInput("h2"), name: NS }).inputs;
    await expect(namespaceEngine.delete("x#000000000000", inputs)).rejects.toThrow(/not the namespace this resource created/);
    const adopted = await namespaceEngine.create({ ...inputs, adopt: true });
    await namespaceEngine.delete(adopted.id, adopted.outs);
    expect((await exec("h2", ["ip", "netns", "list"])).stdout).not.toContain(NS);
  });
});
