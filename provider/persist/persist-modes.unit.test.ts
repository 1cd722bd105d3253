import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeHost } from "../../test/support/fake-host";
import { DeviceEngine } from "../engine/engine";
import type { DeviceKind } from "../engine/kind";
import { deviceKinds } from "../kinds";
import { keyfilePath } from "./networkmanager";

/**
 * `persist: "networkmanager"` and `persist: "auto"` through the device engine against a fake
 * host: which files each writes, that keyfiles are loaded into NetworkManager and unloaded
 * again, the `persistVia` output, drift on refresh (files edited or deleted, or the host's
 * network manager changed under "auto"), and the check that refuses a host without what the
 * mode needs. The lab proves NetworkManager's side (networkmanager.test.ts).
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
const KEY = "0123456789ab";
const KEYFILE = keyfilePath("d0");
const NETDEV = "/etc/systemd/network/10-pulumi-netdev-d0.netdev";
const LINK = "/etc/systemd/network/10-pulumi-netdev-d0.link";
const UNIT = `/etc/systemd/system/pulumi-netdev-${KEY}.service`;

let hosts = 0;
/** A fake host of its own endpoint (what the persistence probe learns is kept per endpoint), running `runs`. */
function setup(runs: "networkd" | "networkmanager" | "neither" | "both") {
  const host = new FakeHost({ user: "root", host: `modes-${++hosts}`, port: 22 });
  host.support.networkdActive = runs === "networkd" || runs === "both" ? "active" : "inactive";
  host.support.networkd = runs === "networkd" || runs === "both" ? "enabled" : "disabled";
  host.support.networkManager = runs === "networkmanager" || runs === "both" ? "active" : "";
  const engine = new DeviceEngine(deviceKinds.Dummy as unknown as DeviceKind, () => host);
  const inputs = (extra: Record<string, unknown> = {}) => ({ connection, name: "d0", ownerKey: KEY, addresses: ["10.1.0.1/24"], ...extra });
  return { host, engine, inputs };
}

afterEach(() => vi.restoreAllMocks());

describe('persist: "networkmanager"', () => {
  it("writes the keyfile (0600) and the .link file, loads the profile, and says so in persistVia", async () => {
    const { host, engine, inputs } = setup("networkmanager");
    const { outs } = await engine.create(inputs({ persist: "networkmanager" }));
    expect([...host.files.keys()].sort()).toEqual([LINK, KEYFILE].sort());
    expect(host.files.get(KEYFILE)).toMatchObject({ mode: "0600" });
    expect([...host.nmProfiles]).toEqual([KEYFILE]);
    expect(outs.persistVia).toBe("networkmanager");
    expect(host.link(undefined, "d0")).toMatchObject({ up: true, addresses: ["10.1.0.1/24"] });
  });

  it("refresh: clean as written, drifted when the keyfile is edited or deleted; up writes and loads it again", async () => {
    const { host, engine, inputs } = setup("networkmanager");
    const { id, outs } = await engine.create(inputs({ persist: "networkmanager" }));
    const state = { ...inputs({ persist: "networkmanager" }), ...outs };
    expect((await engine.read(id, state)).props).toMatchObject({ persist: "networkmanager", persistVia: "networkmanager" });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    host.files.set(KEYFILE, { ...(host.files.get(KEYFILE) as { content: string; mode: string }), content: "[connection]\nid=edited\n" });
    const drifted = await engine.read(id, state);
    expect(drifted.inputs?.persist).toBe("drifted");
    expect(warn.mock.calls.flat().join("\n")).toMatch(/pulumi-netdev-d0\.nmconnection \(edited\)/);
    host.files.delete(KEYFILE);
    host.nmProfiles.clear();
    expect((await engine.read(id, state)).inputs?.persist).toBe("drifted");
    const after = await engine.update(id, { ...state, persist: "drifted" }, inputs({ persist: "networkmanager" }));
    expect(after.outs.persistVia).toBe("networkmanager");
    expect(host.files.get(KEYFILE)).toMatchObject({ mode: "0600" });
    expect([...host.nmProfiles]).toEqual([KEYFILE]);
  });

  it("delete unloads the profile before it deletes the device (NetworkManager would make it again), then removes the rest", async () => {
    const { host, engine, inputs } = setup("networkmanager");
    const { id, outs } = await engine.create(inputs({ persist: "networkmanager" }));
    const order: string[] = [];
    const unloadWhileDeviceExists = vi.spyOn(host, "applyAll").mockImplementation(async function (this: FakeHost, ...args) {
      order.push(
        `${args[0].some((step) => step.args.includes("netdev-unpersist")) ? "unpersist" : "steps"} ${host.nmProfiles.size} profile(s), d0 ${host.link(undefined, "d0") ? "present" : "gone"}`,
      );
      return FakeHost.prototype.applyAll.apply(host, args);
    });
    await engine.delete(id, { ...inputs({ persist: "networkmanager" }), ...outs });
    unloadWhileDeviceExists.mockRestore();
    expect(order).toEqual(["unpersist 1 profile(s), d0 present", "unpersist 0 profile(s), d0 gone"]);
    expect(host.linkNames()).toEqual([]);
    expect([...host.files.keys()]).toEqual([]);
    expect([...host.nmProfiles]).toEqual([]);
  });

  it("persist turned off removes the files and unloads the profile, the device staying as it is", async () => {
    const { host, engine, inputs } = setup("networkmanager");
    const { id, outs } = await engine.create(inputs({ persist: "networkmanager" }));
    const after = await engine.update(id, { ...inputs({ persist: "networkmanager" }), ...outs }, inputs());
    expect([...host.files.keys()]).toEqual([]);
    expect([...host.nmProfiles]).toEqual([]);
    expect(after.outs.persistVia).toBeUndefined();
    expect(host.link(undefined, "d0")).toMatchObject({ ifindex: outs.ifindex, up: true, addresses: ["10.1.0.1/24"] });
  });

  it("a device a keyfile cannot describe (kept down) gets the oneshot unit, which needs no NetworkManager", async () => {
    const { host, engine, inputs } = setup("neither");
    expect(await engine.preflight(inputs({ persist: "networkmanager", up: false }))).toEqual([]);
    await engine.create(inputs({ persist: "networkmanager", up: false }));
    expect(host.files.has(UNIT)).toBe(true);
    expect(host.files.has(KEYFILE)).toBe(false);
  });

  it("preview refuses keyfiles on a host where NetworkManager does not run, naming the host and the way out", async () => {
    const { engine, inputs } = setup("networkd");
    const failures = await engine.preflight(inputs({ persist: "networkmanager" }));
    expect(failures).toEqual([
      {
        property: "persist",
        reason: expect.stringMatching(/writes NetworkManager keyfiles on root@modes-\d+:22, but NetworkManager is not installed there .*persist: "auto"/),
      },
    ]);
  });
});

describe('persist: "auto"', () => {
  it.each([
    ["networkd", "networkd", NETDEV],
    ["networkmanager", "networkmanager", KEYFILE],
    ["neither", "systemd", UNIT],
    ["both", "networkd", NETDEV],
  ] as const)("on a host running %s it writes for %s", async (runs, via, file) => {
    const { host, engine, inputs } = setup(runs);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    expect(await engine.preflight(inputs({ persist: "auto" }))).toEqual([]);
    expect(log.mock.calls.flat().join("\n")).toMatch(new RegExp(`persist "auto" on root@modes-\\d+:22: ${via} `));
    const { outs } = await engine.create(inputs({ persist: "auto" }));
    expect(outs).toMatchObject({ persist: "auto", persistVia: via });
    expect(host.files.has(file)).toBe(true);
  });

  it("a host that switched from networkd to NetworkManager: refresh reports drift, up moves the files over", async () => {
    const { host, engine, inputs } = setup("networkd");
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { id, outs } = await engine.create(inputs({ persist: "auto" }));
    const state = { ...inputs({ persist: "auto" }), ...outs };
    expect((await engine.read(id, state)).props).toMatchObject({ persist: "auto", persistVia: "networkd" });

    // What the probe learnt is kept for the provider process: a new engine process sees the new host.
    const { host: switched, engine: later } = setup("networkmanager");
    for (const [path, file] of host.files) switched.files.set(path, file);
    switched.addLink(undefined, "d0", "dummy", { ...host.link(undefined, "d0")! });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const refreshed = await later.read(id, state);
    expect(refreshed.inputs?.persist).toBe("drifted");
    expect(refreshed.props.persistVia).toBe("networkd");
    expect(warn.mock.calls.flat().join("\n")).toMatch(/persist "auto" wrote networkd files, but the host now calls for networkmanager/);

    const after = await later.update(id, { ...state, persist: "drifted" }, inputs({ persist: "auto" }));
    expect(after.outs.persistVia).toBe("networkmanager");
    expect([...switched.files.keys()].sort()).toEqual([LINK, KEYFILE].sort());
    expect([...switched.nmProfiles]).toEqual([KEYFILE]);
  });
});
