import { describe, expect, it } from "vitest";
import { FakeHost } from "../../test/support/fake-host";
import { deviceKinds } from "../kinds";
import type { Connection } from "../ssh/connection";
import { TUNING_DEFAULTS } from "../ssh/stored-connection";
import { DeviceEngine } from "./engine";
import type { DeviceKind } from "./kind";
import { UNKNOWN } from "./validation";

/**
 * State written by an earlier release, as `pulumi up` of a Bridge recorded it on the lab (the
 * private key replaced): that release stored the connection with every tuning knob at its
 * default. The installed engine must diff, refresh, update and delete it as it stands.
 */
const RECORDED_CONNECTION = {
  commandTimeoutMs: 120000,
  connectTimeoutMs: 10000,
  host: "10.247.0.13",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfPdndVbAuabad7jle7lu52NJLL59QEX7Mxn9hSIZI8",
  maxChannels: 6,
  port: 22,
  privateKey: "unused",
  retries: 3,
  retryBackoffMs: 500,
  user: "root",
};
const PROVIDER = 'exports.handler=()=>require("pulumi-netdev/runtime").providerOf("Bridge");';
const RECORDED = {
  id: "root@10.247.0.13:22/-/ndss2#973a886ff08b",
  outputs: {
    __provider: PROVIDER,
    adopt: false,
    connection: RECORDED_CONNECTION,
    hwAddress: "d2:e4:39:c7:1e:b5",
    ifindex: 3,
    linkMtu: 1500,
    name: "ndss2",
    operState: "UNKNOWN",
    ownerKey: "973a886ff08b",
    schemaVersion: 1,
    up: true,
  },
};
/** What the same program registers now (the class sends the connection as the program gave it). */
const PROGRAM_INPUTS = {
  __provider: PROVIDER,
  connection: { host: "10.247.0.13", port: 22, user: "root", hostKey: RECORDED_CONNECTION.hostKey, privateKey: "unused" },
  name: "ndss2",
  ownerKey: "973a886ff08b",
};

function setup() {
  const host = new FakeHost();
  const handed: Connection[] = [];
  const engine = new DeviceEngine(deviceKinds.Bridge as unknown as DeviceKind, (connection) => {
    handed.push(connection);
    return host;
  });
  host.addLink(undefined, "ndss2", "bridge", { ifalias: "netdev#973a886ff08b", up: true });
  return { host, engine, handed };
}

const TUNING_KEYS = Object.keys(TUNING_DEFAULTS);

describe("state an earlier release wrote (connection stored with its default tuning)", () => {
  it("diffs as unchanged against the same program's inputs, which are stored without the defaults", () => {
    const { engine } = setup();
    const checked = engine.check(PROGRAM_INPUTS);
    expect(checked.failures).toEqual([]);
    expect(Object.keys(checked.inputs.connection as object).filter((key) => TUNING_KEYS.includes(key))).toEqual([]);
    expect(engine.diff(RECORDED.outputs, checked.inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    // A knob set to another value is kept, and is a change.
    const slower = engine.check({ ...PROGRAM_INPUTS, connection: { ...PROGRAM_INPUTS.connection, commandTimeoutMs: 300_000 } });
    expect((slower.inputs.connection as Record<string, unknown>).commandTimeoutMs).toBe(300_000);
    expect(engine.diff(RECORDED.outputs, slower.inputs)).toMatchObject({ changes: true, replaces: [] });
    // Another host is still a replacement, and a connection unknown in preview may be one.
    const moved = engine.check({ ...PROGRAM_INPUTS, connection: { ...PROGRAM_INPUTS.connection, host: "10.247.0.14" } });
    expect(engine.diff(RECORDED.outputs, moved.inputs)).toMatchObject({ replaces: ["connection"] });
    expect(engine.diff(RECORDED.outputs, { ...checked.inputs, connection: UNKNOWN })).toMatchObject({ replaces: ["connection"] });
  });

  it("refreshes with the connection left as stored, reaching the host with the recorded tuning", async () => {
    const { engine, handed } = setup();
    const read = await engine.read(RECORDED.id, RECORDED.outputs);
    expect(read.id).toBe(RECORDED.id);
    expect(read.props.connection).toEqual(RECORDED_CONNECTION);
    expect(read.inputs?.connection).toEqual(RECORDED_CONNECTION);
    expect(read.props).toMatchObject({ name: "ndss2", up: true, schemaVersion: 1 });
    expect(handed[0]).toMatchObject({ host: "10.247.0.13", ...TUNING_DEFAULTS });
  });

  it("updates it in place, storing the connection without the defaults, and deletes it", async () => {
    const { host, engine, handed } = setup();
    const news = engine.check({ ...PROGRAM_INPUTS, mtu: 1400 }).inputs;
    expect(engine.diff(RECORDED.outputs, news)).toMatchObject({ changes: true, replaces: [] });
    const { outs } = await engine.update(RECORDED.id, RECORDED.outputs, news);
    expect(host.link(undefined, "ndss2")).toMatchObject({ mtu: 1400 });
    expect(outs.connection).toEqual(PROGRAM_INPUTS.connection);
    // The transport still got every knob: parsing the stored connection puts the defaults back.
    expect(handed.at(-1)).toMatchObject(TUNING_DEFAULTS);
    await engine.delete(RECORDED.id, RECORDED.outputs);
    expect(host.linkNames()).toEqual([]);
  });
});

describe("state this release writes", () => {
  it("creates with the connection stored without its default tuning (a jump host's too), and reads and deletes from it", async () => {
    const host = new FakeHost();
    const handed: Connection[] = [];
    const engine = new DeviceEngine(deviceKinds.Bridge as unknown as DeviceKind, (connection) => {
      handed.push(connection);
      return host;
    });
    const jumpHost = { host: "10.0.0.9", hostKey: RECORDED_CONNECTION.hostKey, privateKey: "unused", retries: 5 };
    const inputs = engine.check({ ...PROGRAM_INPUTS, connection: { ...PROGRAM_INPUTS.connection, maxChannels: 2, jumpHost } }).inputs;
    expect(inputs.connection).toEqual({ ...PROGRAM_INPUTS.connection, maxChannels: 2, jumpHost: { ...jumpHost, port: 22, user: "root" } });
    const { id, outs } = await engine.create(inputs);
    expect(outs.connection).toEqual(inputs.connection);
    expect(handed[0]).toMatchObject({ ...TUNING_DEFAULTS, maxChannels: 2, jumpHost: { ...TUNING_DEFAULTS, retries: 5 } });
    expect(engine.diff(outs, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    const read = await engine.read(id, outs);
    expect(read.props.connection).toEqual(inputs.connection);
    await engine.delete(id, outs);
    expect(host.linkNames()).toEqual([]);
  });
});
