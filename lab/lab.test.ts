import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { labDown, labUp } from "./lab";

async function leftovers(prefix: string, stateDir: string) {
  const netns = (await execa("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((l) => l.startsWith(`${prefix}-`));
  const links = (await execa("ip", ["-br", "link"])).stdout.split("\n").filter((l) => l.startsWith(prefix));
  const processes = (await execa("pgrep", ["-f", stateDir], { reject: false })).stdout.split("\n").filter(Boolean);
  return { netns, links, processes };
}

describe("lab up/down", () => {
  it("makes hosts, is harmless twice, and leaves nothing behind", async () => {
    const prefix = "ndlt";
    const stateDir = mkdtempSync(path.join(os.tmpdir(), "netdev-labtest-"));
    const options = { prefix, stateDir, hosts: 2, subnetOctet: 20 };
    try {
      const state = await labUp(options);
      expect(state.hosts.map((h) => h.name)).toEqual(["h1", "h2", "j1"]);
      expect((await leftovers(prefix, stateDir)).netns.sort()).toEqual(["ndlt-h1", "ndlt-h2", "ndlt-j1", "ndlt-ul"]);
      const again = await labUp(options);
      expect(again.hosts.map((h) => h.pid)).toEqual(state.hosts.map((h) => h.pid));
    } finally {
      await labDown(options);
    }
    expect(await leftovers(prefix, stateDir)).toEqual({ netns: [], links: [], processes: [] });
  });

  it("cleans up after an `up` that crashed half-way", async () => {
    const prefix = "ndlc";
    const stateDir = mkdtempSync(path.join(os.tmpdir(), "netdev-labcrash-"));
    // What a crash leaves: namespaces, a root link, a stray process in a namespace, no hosts.json.
    await execa("ip", ["netns", "add", `${prefix}-ul`]);
    await execa("ip", ["netns", "add", `${prefix}-h1`]);
    await execa("ip", ["link", "add", `${prefix}0`, "type", "veth", "peer", "name", "root", "netns", `${prefix}-ul`]);
    const stray = execa("ip", ["netns", "exec", `${prefix}-h1`, "sleep", "300"], { reject: false });
    await labDown({ prefix, stateDir });
    await stray;
    expect(await leftovers(prefix, stateDir)).toEqual({ netns: [], links: [], processes: [] });
  });
});
