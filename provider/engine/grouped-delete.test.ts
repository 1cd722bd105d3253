import { afterAll, describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connection, connectionInput } from "../../test/support/lab-hosts";
import { hostLink, onHost } from "../../test/support/lifecycle";
import { groupDeleteOutcomes, groupDeleteScript } from "./grouped-delete";

/**
 * Deletes that overlap on a host go as one script and, for two or more owned devices, one
 * `ip link del group` (grouped-delete.ts). Whatever the grouping, each resource gets what its
 * own delete would give: ours go, a device that is not ours (or not there) is left alone and
 * reported, and a device the kernel will not delete fails alone and keeps its own group.
 */
const engine = engineFor("Bridge");
afterAll(() => sshPool().closeAll());

/** Commands started and execs sent by this process's pool while `work` ran. */
async function counted<T>(work: () => Promise<T>): Promise<{ value: T; commands: number; execs: number }> {
  const pool = sshPool();
  const [commands, execs] = [pool.commandsStarted, pool.execsSent];
  const value = await work();
  return { value, commands: pool.commandsStarted - commands, execs: pool.execsSent - execs };
}

const links = async (hostName: string, netns?: string) =>
  JSON.parse(await onHost(hostName, ["ip", ...(netns ? ["-n", netns] : []), "-json", "link", "show"])) as Array<{ ifname: string; group: string }>;

describe.each([
  { host: "h1", count: 8 },
  { host: "vm1", count: 4 }, // busybox sh, dropbear: one session at a time
])("overlapping deletes on $host", ({ host, count }) => {
  const prefix = `ndgd${host.replace(/\W/g, "")}`;
  const names = Array.from({ length: count + 2 }, (_, i) => `${prefix}${i}`);
  const cleanup = () => Promise.all(names.map((name) => sshPool().exec(connection(host), ["ip", "link", "del", "dev", name])));

  it("delete every owned device in one command, leave a foreign one (and its group) alone, and take an absent one as done", async () => {
    await cleanup();
    const made = await Promise.all(names.map((name) => engine.create(engine.check({ connection: connectionInput(host), name }).inputs)));
    try {
      // names[count]: replaced by hand with someone else's bridge in group 5; names[count+1]: deleted by hand.
      const foreign = names[count]!;
      await onHost(host, ["ip", "link", "del", "dev", foreign]);
      await onHost(host, ["ip", "link", "add", "name", foreign, "group", "5", "type", "bridge"]);
      await onHost(host, ["ip", "link", "del", "dev", names[count + 1]!]);
      await onHost(host, ["true"]); // the connection is up: the deletes below overlap

      const deleted = await counted(() => Promise.allSettled(made.map(({ id, outs }) => engine.delete(id, outs))));
      const outcomes = deleted.value.map((settled) => (settled.status === "fulfilled" ? "ok" : String(settled.reason)));
      expect(outcomes.slice(0, count)).toEqual(names.slice(0, count).map(() => "ok"));
      expect(outcomes[count]).toMatch(/refusing to delete .*not the device this resource created/);
      expect(outcomes[count + 1]).toBe("ok");
      // One grouped command for all (plus the read that names the foreign device's owner in its refusal).
      expect(deleted.commands).toBeLessThanOrEqual(3);
      const left = await links(host);
      for (const name of names.slice(0, count)) expect(left.map((l) => l.ifname)).not.toContain(name);
      expect(left.find((l) => l.ifname === foreign)?.group).toBe("5");
    } finally {
      await cleanup();
    }
  }, 120_000);
});

describe("the grouped delete script on h1", () => {
  const netns = "ndgd-ns";
  const run = async (devices: string[], group: number) => {
    const script = groupDeleteScript(
      devices.map((name) => ({ name, tag: "netdev#0123456789ab" })),
      group,
    );
    const result = await sshPool().exec(connection("h1"), ["ip", "netns", "exec", netns, "sh", "-c", script]);
    expect(result.exitCode).toBe(0);
    return groupDeleteOutcomes(result.stdout, devices.length);
  };
  const bridge = async (name: string, alias: string, group = "default") => {
    await onHost("h1", ["ip", "-n", netns, "link", "add", "name", name, "group", group, "type", "bridge"]);
    await onHost("h1", ["ip", "-n", netns, "link", "set", "dev", name, "alias", alias]);
  };

  it("deletes nothing by group when someone else's device is in the group: ours go one by one, theirs stays", async () => {
    await sshPool().exec(connection("h1"), ["ip", "netns", "del", netns]);
    await onHost("h1", ["ip", "netns", "add", netns]);
    try {
      await bridge("ours0", "netdev#0123456789ab");
      await bridge("ours1", "netdev#0123456789ab with a user alias", "9");
      await bridge("theirs", "someone else's", "777777");
      expect(await run(["ours0", "ours1"], 777777)).toEqual([{ outcome: "deleted" }, { outcome: "deleted" }]);
      expect((await links("h1", netns)).map((l) => [l.ifname, l.group])).toEqual([
        ["lo", "default"],
        ["theirs", "777777"],
      ]);
    } finally {
      await sshPool().exec(connection("h1"), ["ip", "netns", "del", netns]);
    }
  });

  it("when the kernel refuses the group (lo cannot be deleted), each device goes alone: lo fails with the kernel's words and keeps its group", async () => {
    await sshPool().exec(connection("h1"), ["ip", "netns", "del", netns]);
    await onHost("h1", ["ip", "netns", "add", netns]);
    try {
      await onHost("h1", ["ip", "-n", netns, "link", "set", "dev", "lo", "alias", "netdev#0123456789ab", "group", "12"]);
      await bridge("ours0", "netdev#0123456789ab");
      const [lo, ours] = await run(["lo", "ours0"], 888888);
      expect(lo).toEqual({ outcome: "failed", stderr: expect.stringMatching(/Operation not supported/) });
      expect(ours).toEqual({ outcome: "deleted" });
      expect((await links("h1", netns)).map((l) => [l.ifname, l.group])).toEqual([["lo", "12"]]);
    } finally {
      await sshPool().exec(connection("h1"), ["ip", "netns", "del", netns]);
    }
  });

  it("deletes owned devices in a namespace through the engine, and a namespace removed by hand counts as gone", async () => {
    const inNs = ["ndgdn0", "ndgdn1", "ndgdn2"];
    const made = await Promise.all(inNs.map((name) => engine.create(engine.check({ connection: connectionInput("h1"), name, netns }).inputs)));
    await onHost("h1", ["true"]);
    const deleted = await counted(() => Promise.all(made.map(({ id, outs }) => engine.delete(id, outs))));
    // The grouped delete, then each device's look for an implicit namespace left empty, and its removal.
    expect(deleted.commands).toBeLessThanOrEqual(1 + 2 * inNs.length);
    expect((await onHost("h1", ["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0])).not.toContain(netns);

    const again = await Promise.all(inNs.map((name) => engine.create(engine.check({ connection: connectionInput("h1"), name, netns }).inputs)));
    await onHost("h1", ["ip", "netns", "del", netns]);
    await Promise.all(again.map(({ id, outs }) => engine.delete(id, outs)));
    for (const name of inNs) expect(await hostLink("h1", netns, name)).toBeUndefined();
  });
});
