import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { Stack } from "@pulumi/pulumi/automation";
import { labStack } from "../../lab/stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { acceptedConnections, host } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";

/**
 * The real Pulumi engine (the CLI built by scripts/install-pulumi.sh) running the stack in
 * test/e2e/stack against lab hosts, fully offline: file backend, passphrase secrets.
 */
interface Device {
  type: string;
  resourceName: string;
  host: string;
  inputs: Record<string, unknown>;
}

const BRIDGES = 20;
const bridges = (mtuOf: (i: number) => number = () => 1500): Device[] =>
  Array.from({ length: BRIDGES }, (_, i) => ({ type: "Bridge", resourceName: `br${i}`, host: "h1", inputs: { name: `nde${i}`, mtu: mtuOf(i) } }));
const vxlan = (vni: number): Device => ({
  type: "VxlanTunnel",
  resourceName: "vx",
  host: "h2",
  inputs: { name: "ndevx", vni, peers: ["10.247.0.11", "10.247.0.13"], mtu: 1450 },
});

describe("pulumi up/preview/refresh/destroy with the real engine", () => {
  let stack: Stack;
  let home: string;
  let spec: { hosts: Record<string, unknown>; devices: Device[] };

  const setDevices = async (devices: Device[]) => {
    spec.devices = devices;
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
  };

  beforeAll(async () => {
    spec = { hosts: { h1: host("h1"), h2: host("h2") }, devices: [] };
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
    ({ stack, home } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "e2e"));
  }, 180_000);

  afterAll(async () => {
    await stack?.destroy({}).catch(() => undefined);
  }, 180_000);

  it("creates 20 bridges on one host over one SSH handshake, plus a VTEP elsewhere", async () => {
    await setDevices([...bridges(), vxlan(1100)]);
    const before = acceptedConnections("h1");
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges?.create).toBe(BRIDGES + 1 + 2); // + the stack and its netdev identity (provider/stack-identity.ts)
    expect(acceptedConnections("h1") - before).toBe(1);
    for (let i = 0; i < BRIDGES; i++) expect((await hostLink("h1", undefined, `nde${i}`))?.linkinfo.info_kind).toBe("bridge");
    expect((await hostLink("h2", undefined, "ndevx")).linkinfo.info_data.id).toBe(1100);
  }, 300_000);

  it("previews no changes right after up", async () => {
    const preview = await stack.preview();
    expect(preview.changeSummary).toEqual({ same: BRIDGES + 3 });
  }, 180_000);

  it("updates an in-place field without replacing, and replaces on a VNI change", async () => {
    const ifindexBefore = (await hostLink("h1", undefined, "nde3")).ifindex;
    await setDevices([...bridges((i) => (i === 3 ? 1400 : 1500)), vxlan(1200)]);
    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1, replace: 1 });
    const br3 = await hostLink("h1", undefined, "nde3");
    expect(br3.mtu).toBe(1400);
    expect(br3.ifindex).toBe(ifindexBefore);
    expect((await hostLink("h2", undefined, "ndevx")).linkinfo.info_data.id).toBe(1200);
  }, 300_000);

  it("refresh drops a device deleted out of band; up restores it", async () => {
    await execa("ip", ["-n", host("h1").netns!, "link", "del", "dev", "nde7"]);
    const refresh = await stack.refresh();
    expect(refresh.summary.resourceChanges?.delete).toBe(1);
    const up = await stack.up();
    expect(up.summary.resourceChanges?.create).toBe(1);
    expect(await hostLink("h1", undefined, "nde7")).toBeDefined();
  }, 300_000);

  it("refresh keeps a device whose alias (and owner tag) was cleared by hand, saying so; the next up tags it again", async () => {
    const before = await hostLink("h1", undefined, "nde5");
    await execa("ip", ["-n", host("h1").netns!, "link", "set", "dev", "nde5", "alias", ""]);
    expect((await hostLink("h1", undefined, "nde5")).ifalias ?? "").toBe("");
    const refresh = await stack.refresh();
    expect(refresh.summary.resourceChanges?.delete ?? 0).toBe(0);
    expect(refresh.stdout).toMatch(/nde5 .*lost its owner tag/);
    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
    const after = await hostLink("h1", undefined, "nde5");
    expect(after.ifindex).toBe(before.ifindex);
    expect(after.ifalias).toMatch(/^netdev#[0-9a-f]{12}$/);
    expect(Object.keys((await stack.preview()).changeSummary)).toEqual(["same"]);
  }, 300_000);

  it("keeps the private key out of the state, on disk and in `pulumi stack export`", async () => {
    const keyBody = readFileSync(host("h1").privateKeyPath, "utf8").split("\n")[1]!;
    const stateFiles = (await execa("find", [path.join(home, "state"), "-type", "f"])).stdout.split("\n").filter(Boolean);
    expect(stateFiles.some((f) => f.endsWith("e2e.json"))).toBe(true);
    for (const file of stateFiles) expect(readFileSync(file, "utf8"), file).not.toContain(keyBody);
    const exported = await execa("pulumi", ["stack", "export", "--stack", "e2e"], {
      cwd: stack.workspace.workDir,
      env: { ...process.env, ...stack.workspace.envVars },
    });
    expect(exported.stdout).not.toContain(keyBody);
    expect(exported.stdout).toContain("ciphertext");
    // With secrets shown, the key is there, marked secret in inputs and in the whole connection output.
    const shown = JSON.stringify(await stack.exportStack());
    expect(shown).toContain("4dabf18193072939515e22adb298388d");
  }, 120_000);

  it("records the program's line as each resource's source position, not one of netdev's", async () => {
    const exported = await stack.exportStack();
    // The stack's identity is made by netdev itself (with the first resource), not by a line of the program.
    const ours = (exported.deployment.resources ?? []).filter(
      (r: { type: string }) => r.type.startsWith("pulumi-nodejs:dynamic/netdev:") && !r.type.endsWith(":StackIdentity"),
    );
    expect(ours.length).toBeGreaterThan(0);
    for (const resource of ours) {
      // test/e2e/stack/index.js: `new Resource(device.resourceName, args, options)`.
      expect(resource.sourcePosition, resource.urn).toMatch(/^project:\/\/\/index\.js#\d+,\d+$/);
      expect(JSON.stringify(resource.stackTrace ?? []), resource.urn).not.toContain("resources.");
    }
  }, 120_000);

  it("adopts an existing device with adopt: true (pulumi import does not work for dynamic providers)", async () => {
    await execa("ip", ["-n", host("h1").netns!, "link", "add", "ndeadopt", "type", "bridge"]);
    const before = (await hostLink("h1", undefined, "ndeadopt")).ifindex;
    const adopted: Device = { type: "Bridge", resourceName: "adopted", host: "h1", inputs: { name: "ndeadopt", mtu: 1400, adopt: true } };
    await setDevices([...bridges((i) => (i === 3 ? 1400 : 1500)), vxlan(1200), adopted]);
    const up = await stack.up();
    expect(up.summary.resourceChanges?.create).toBe(1);
    const link = await hostLink("h1", undefined, "ndeadopt");
    expect(link.ifindex).toBe(before);
    expect(link.mtu).toBe(1400);
    expect(link.ifalias).toMatch(/^netdev#/);
  }, 300_000);

  it("fails a bad resource with a readable message and leaves the others intact", async () => {
    const adopted: Device = { type: "Bridge", resourceName: "adopted", host: "h1", inputs: { name: "ndeadopt", mtu: 1400, adopt: true } };
    await setDevices([
      ...bridges((i) => (i === 3 ? 1400 : 1500)),
      vxlan(1200),
      adopted,
      { type: "Macvlan", resourceName: "bad", host: "h1", inputs: { name: "ndebad", parent: "no-such-parent" } },
    ]);
    const error = await stack.up().catch((e: unknown) => e);
    expect(String(error)).toMatch(/no-such-parent/);
    expect(await hostLink("h1", undefined, "ndebad")).toBeUndefined();
    expect(await hostLink("h1", undefined, "nde0")).toBeDefined();
  }, 300_000);

  it("destroy leaves no device on any host", async () => {
    await stack.destroy();
    for (let i = 0; i < BRIDGES; i++) expect(await hostLink("h1", undefined, `nde${i}`)).toBeUndefined();
    expect(await hostLink("h2", undefined, "ndevx")).toBeUndefined();
    expect(await hostLink("h1", undefined, "ndeadopt"), "the adopted device is owned, so destroyed").toBeUndefined();
  }, 300_000);
});
