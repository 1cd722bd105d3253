import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labStack } from "../../lab/stack";
import { host } from "../support/lab-hosts";
import { hostLink, onHost } from "../support/lifecycle";

/**
 * HostDevices under the real engine: one resource for a host's bridges, whose per-device
 * changes `pulumi preview --diff` names (the CLI diffs the inputs, `devices.<key>.<field>`),
 * and whose replacement of one device stays an update of the one resource.
 */
const NAMES = ["ndhe-br0", "ndhe-br1", "ndhe-br2", "ndhe-br3", "ndhe-brX"];
/** The CLI's output without its colours. */
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

describe("HostDevices (real engine)", () => {
  let stack: Stack;
  const setDevices = (devices: Record<string, unknown>) => {
    process.env.NETDEV_E2E_SPEC = JSON.stringify({
      hosts: { h1: host("h1") },
      devices: [{ type: "HostDevices", resourceName: "bridges", host: "h1", inputs: { devices } }],
    });
  };

  beforeAll(async () => {
    for (const name of NAMES) await onHost("h1", ["ip", "link", "del", name]).catch(() => undefined);
    setDevices({ br0: { kind: "bridge", name: "ndhe-br0" }, br1: { kind: "bridge", name: "ndhe-br1" }, br2: { kind: "bridge", name: "ndhe-br2" } });
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "host-devices"));
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const resources = (await stack.exportStack()).deployment.resources as Array<{ type: string }>;
    expect(resources.filter((r) => r.type.endsWith(":HostDevices"))).toHaveLength(1);
  }, 300_000);

  afterAll(async () => {
    await stack?.destroy({}).catch(() => undefined);
    for (const name of NAMES) await onHost("h1", ["ip", "link", "del", name]).catch(() => undefined);
  }, 300_000);

  it("preview --diff names each device's change; up applies them as one update", async () => {
    const before = await hostLink("h1", undefined, "ndhe-br0");
    setDevices({
      br0: { kind: "bridge", name: "ndhe-br0", mtu: 1400 },
      br1: { kind: "bridge", name: "ndhe-brX" },
      br3: { kind: "bridge", name: "ndhe-br3" },
    });
    const preview = await stack.preview({ diff: true });
    expect(preview.changeSummary).toMatchObject({ update: 1 });
    expect(preview.changeSummary).not.toHaveProperty("replace");
    const text = plain(preview.stdout);
    expect(text).toMatch(/br0[\s\S]*mtu[\s\S]*1400/);
    expect(text).toMatch(/br1[\s\S]*name[\s\S]*"ndhe-br1" => "ndhe-brX"/);
    expect(text).toMatch(/- +br2/);
    expect(text).toMatch(/\+ +br3/);

    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
    expect(await hostLink("h1", undefined, "ndhe-br0")).toMatchObject({ ifindex: before.ifindex, mtu: 1400 });
    expect(await hostLink("h1", undefined, "ndhe-br1")).toBeUndefined();
    expect(await hostLink("h1", undefined, "ndhe-br2")).toBeUndefined();
    expect(await hostLink("h1", undefined, "ndhe-brX")).toBeDefined();
    expect(await hostLink("h1", undefined, "ndhe-br3")).toBeDefined();
    const again = await stack.preview();
    expect(Object.keys(again.changeSummary)).toEqual(["same"]);
  }, 300_000);

  it("refresh finds a device's drift; destroy removes every device", async () => {
    await onHost("h1", ["ip", "link", "set", "dev", "ndhe-br0", "mtu", "1300"]);
    const refreshed = await stack.refresh();
    expect(refreshed.summary.resourceChanges).toMatchObject({ update: 1 });
    const preview = await stack.preview({ diff: true });
    expect(plain(preview.stdout)).toMatch(/br0[\s\S]*mtu[\s\S]*1300 => 1400/);
    await stack.up();
    expect((await hostLink("h1", undefined, "ndhe-br0"))?.mtu).toBe(1400);
    await stack.destroy();
    for (const name of NAMES) expect(await hostLink("h1", undefined, name), name).toBeUndefined();
  }, 300_000);
});
