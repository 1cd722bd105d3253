import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connection, connectionInput } from "../../test/support/lab-hosts";
import { hostLink, onHost } from "../../test/support/lifecycle";

/**
 * What Pulumi does with --parallel: many operations on one host at once. Each must cost one
 * command (a fused script), commands that overlap must share execs, and a refresh of N devices
 * must cost O(1) dumps of the host, not N reads, while still seeing the host as it is now.
 */
const COUNT = 12;
const names = Array.from({ length: COUNT }, (_, i) => `ndrt${i}`);
const engine = engineFor("Bridge");
const removeAll = () => Promise.all(names.map((name) => sshPool().exec(connection("h1"), ["ip", "link", "del", "dev", name])));

/** Commands started and execs sent by this process's pool while `work` ran. */
async function counted<T>(work: () => Promise<T>): Promise<{ value: T; commands: number; execs: number }> {
  const pool = sshPool();
  const [commands, execs] = [pool.commandsStarted, pool.execsSent];
  const value = await work();
  return { value, commands: pool.commandsStarted - commands, execs: pool.execsSent - execs };
}

describe(`${COUNT} bridges on one host at once`, () => {
  beforeAll(removeAll);
  afterAll(async () => {
    await removeAll();
    sshPool().closeAll();
  });

  it("create, refresh and delete each cost one command per device or less, in far fewer execs", async () => {
    const inputs = names.map((name) => {
      const checked = engine.check({ connection: connectionInput("h1"), name, mtu: 1400 });
      expect(checked.failures).toEqual([]);
      return checked.inputs;
    });
    await onHost("h1", ["true"]); // connected, so the timing below is the operations' own

    const created = await counted(() => Promise.all(inputs.map((input) => engine.create(input))));
    expect(created.execs).toBeLessThan(COUNT / 2);
    for (const name of names) expect((await hostLink("h1", undefined, name))?.mtu).toBe(1400);

    const refresh = () => counted(() => Promise.all(created.value.map(({ id, outs }) => engine.read(id, outs))));
    expect((await refresh()).value.map((r) => r.props.mtu)).toEqual(names.map(() => 1400));
    // A change made on the host after that refresh is what the next one must report: no stale dump.
    await onHost("h1", ["ip", "link", "set", "dev", names[5]!, "mtu", "1300"]);
    const refreshed = await refresh();
    expect(refreshed.value.map((r) => r.props.mtu)).toEqual(names.map((_, i) => (i === 5 ? 1300 : 1400)));
    expect(refreshed.value.map((r) => r.id)).toEqual(created.value.map((c) => c.id));
    expect(refreshed.commands, "one shared dump of the host answers every device").toBeLessThanOrEqual(2);
    expect(refreshed.execs).toBeLessThanOrEqual(2);

    const deleted = await counted(() => Promise.all(created.value.map(({ id, outs }) => engine.delete(id, outs))));
    // Overlapping deletes go as one grouped command (grouped-delete.ts): the host checks each owner tag and deletes them in one request.
    expect(deleted.commands, "one grouped command per wave of deletes").toBeLessThan(COUNT / 2);
    expect(deleted.execs).toBeLessThan(COUNT / 2);
    for (const name of names) expect(await hostLink("h1", undefined, name)).toBeUndefined();
  }, 60_000);

  it("deleting a device whose namespace was removed by hand succeeds: gone with it", async () => {
    const { inputs } = engine.check({ connection: connectionInput("h1"), name: "ndrtgone", netns: "ndrtns" });
    const { id, outs } = await engine.create(inputs);
    await onHost("h1", ["ip", "netns", "del", "ndrtns"]);
    const deleted = await counted(() => engine.delete(id, outs));
    expect(deleted.commands, "the delete, then the check for an implicit namespace to remove").toBeLessThanOrEqual(2);
  });
});
