import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { connection } from "../../test/support/lab-hosts";
import { sshPool } from "../ssh/pool";
import { RemoteCommandError } from "../ssh/errors";
import { HostShell, StepError } from "./host";
import { linkNamed } from "./iplink";
import type { Step } from "./kind";

/**
 * Fused scripts (ip-batch.ts) on a real host: the batch and the sysfs write must do exactly
 * what one `ip` per step did, whatever the alias holds, and a failure must still name its step.
 */
const shell = () => new HostShell(connection("h1"));
const NS = "ndfused";
const read = (name: string, netns?: string) => ({ tool: "ip" as const, netns, args: ["-json", "-details", "addr", "show", "dev", name] });
const create = (name: string, alias: string, netns?: string): Step[] => [
  { field: "create", tool: "ip", netns, args: ["link", "add", "name", name, "mtu", "1400", "type", "bridge"] },
  { field: "alias", tool: "ip", netns, args: ["link", "set", "dev", name, "alias", alias] },
  { field: "addresses", tool: "ip", netns, args: ["addr", "add", "10.251.0.1/24", "dev", name] },
  { field: "up", tool: "ip", netns, args: ["link", "set", "dev", name, "up"] },
];
const remove = (name: string, netns?: string) => shell().exec({ tool: "ip", netns, args: ["link", "del", "dev", name] });

describe("fused scripts on a real host", () => {
  afterAll(async () => {
    await remove("ndfb0");
    await shell().exec({ tool: "ip", args: ["netns", "del", NS] });
    sshPool().closeAll();
  });

  it.each([
    ["the host's namespace", undefined],
    ["a namespace", NS],
  ])("creates a device in %s exactly as one ip per step would, for any alias text (property)", async (_label, netns) => {
    if (netns) await shell().exec({ tool: "ip", args: ["netns", "add", netns] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: "binary-ascii", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 })), async (text) => {
        // What the alias field accepts: printable, no line breaks (fields.ts aliasText).
        const alias = `netdev#0123456789ab ${text.replace(/[\x00-\x1f\x7f]/g, "")}`.trimEnd();
        fc.pre(Buffer.byteLength(alias) <= 255);
        try {
          const link = linkNamed(await shell().applyAll(create("ndfb0", alias, netns), "ndfb0", read("ndfb0", netns)), "ndfb0");
          expect(link?.ifalias).toBe(alias);
          expect(link).toMatchObject({ mtu: 1400, up: true, addresses: ["10.251.0.1/24"] });
        } finally {
          await remove("ndfb0", netns);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("names the failing step and its error, inside a batch and outside it", async () => {
    await remove("ndfb0");
    const failing: Step[] = [
      ...create("ndfb0", "netdev#0123456789ab"),
      { field: "master", tool: "ip", args: ["link", "set", "dev", "ndfb0", "master", "ndnosuch"] },
      { field: "up", tool: "ip", args: ["link", "set", "dev", "ndfb0", "up"] },
    ];
    const error = await shell()
      .applyAll(failing, "ndfb0", read("ndfb0"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ field: "master", stepIndex: 4 });
    expect((error as StepError).stderr).toMatch(/ndnosuch/);
    expect((error as StepError).stderr).not.toMatch(/Command failed|__netdev/);
    // Steps before the failure ran; the batch stopped at it.
    expect((await shell().readLink(undefined, "ndfb0"))?.addresses).toEqual(["10.251.0.1/24"]);

    const exists = await shell()
      .applyAll(create("ndfb0", "netdev#0123456789ab"), "ndfb0", read("ndfb0"))
      .catch((e: unknown) => e);
    expect(exists).toMatchObject({ field: "create", stepIndex: 0 });
    expect((exists as StepError).stderr).toMatch(/File exists/);
    await remove("ndfb0");

    const readFails = await shell()
      .applyAll(create("ndfb0", "netdev#0123456789ab"), "ndfb0", read("ndfbnone"))
      .catch((e: unknown) => e);
    expect(readFails).toBeInstanceOf(RemoteCommandError);
    expect((readFails as RemoteCommandError).stderr).toMatch(/ndfbnone/);
    await remove("ndfb0");
  });

  it("writes a flood list as one bridge -batch, and names the failing entry", async () => {
    await remove("ndfvx0");
    await shell().exec({ tool: "ip", args: ["link", "add", "ndfvx0", "type", "vxlan", "id", "4242", "dstport", "4789"] });
    try {
      const entry = (dst: string, dev = "ndfvx0"): Step => ({
        field: "peers",
        tool: "bridge",
        args: ["fdb", "append", "00:00:00:00:00:00", "dev", dev, "dst", dst],
      });
      const list = Array.from({ length: 40 }, (_, i) => entry(`10.252.0.${i + 1}`));
      await shell().applyAll(list, "ndfvx0");
      const fdb = async () =>
        (await shell().exec({ tool: "bridge", args: ["fdb", "show", "dev", "ndfvx0"] })).stdout.split("\n").filter((line) => line.includes("dst"));
      expect(await fdb()).toHaveLength(40);
      const error = await shell()
        .applyAll([entry("10.252.1.1"), entry("10.252.1.2", "ndfnosuch"), entry("10.252.1.3")], "ndfvx0")
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ field: "peers", stepIndex: 1 });
      expect((error as StepError).stderr).toMatch(/ndfnosuch/);
      // The batch stopped at the failing line: the entry before it is there, the one after not.
      expect((await fdb()).join("\n")).toContain("10.252.1.1");
      expect((await fdb()).join("\n")).not.toContain("10.252.1.3");
    } finally {
      await remove("ndfvx0");
    }
  });

  it("reports a namespace that does not exist as the first step's error", async () => {
    const error = await shell()
      .applyAll(create("ndfb0", "netdev#0123456789ab", "ndfnosuch"), "ndfb0", read("ndfb0", "ndfnosuch"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ field: "create", stepIndex: 0 });
    expect((error as StepError).stderr).toMatch(/ndfnosuch/);
  });
});
