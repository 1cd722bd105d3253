import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { builtKeeper, stopBuiltKeeper } from "../../lab/keeper";
import { labStack } from "../../lab/stack";
import { describeEndpoint } from "../../provider/ssh/errors";
import type { KeeperStats } from "../../provider/ssh/keeper/protocol";
import { host } from "../support/lab-hosts";
import { hostLink, onHost } from "../support/lifecycle";

const PERSIST_MS = 60_000;
const NAME = "ndkl-br0";

/**
 * NETDEV_SSH_PERSIST under the real CLI: each `pulumi` command is a fresh provider process (the
 * package as users install it, from dist/), yet every host is logged in to once for all of them.
 */
describe("logins kept between pulumi commands (NETDEV_SSH_PERSIST)", () => {
  let stack: Stack;
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), "netdev-kept-"));
  const setSpec = (mtu: number) => {
    process.env.NETDEV_E2E_SPEC = JSON.stringify({
      hosts: { h1: host("h1"), h2: host("h2") },
      devices: ["h1", "h2"].map((h) => ({ type: "Bridge", resourceName: `br-${h}`, host: h, inputs: { name: NAME, mtu } })),
    });
  };

  async function keeperStats(): Promise<KeeperStats> {
    const stats = await builtKeeper(runtimeDir, PERSIST_MS);
    if (!stats) throw new Error("no keeper listens");
    return stats;
  }

  beforeAll(async () => {
    for (const h of ["h1", "h2"]) await onHost(h, ["ip", "link", "del", NAME]).catch(() => undefined);
    setSpec(1400);
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "kept-logins"));
    stack.workspace.envVars.NETDEV_SSH_PERSIST = String(PERSIST_MS / 1000);
    stack.workspace.envVars.XDG_RUNTIME_DIR = runtimeDir;
  }, 300_000);

  afterAll(async () => {
    await stack?.destroy({}).catch(() => undefined);
    await stopBuiltKeeper(runtimeDir, PERSIST_MS);
    rmSync(runtimeDir, { recursive: true, force: true });
    for (const h of ["h1", "h2"]) await onHost(h, ["ip", "link", "del", NAME]).catch(() => undefined);
  }, 300_000);

  it("up, preview, refresh, an update and destroy log in to each host once", async () => {
    expect((await stack.up()).summary.result).toBe("succeeded");
    const first = await keeperStats();
    expect(Object.keys((await stack.preview()).changeSummary)).toEqual(["same"]);
    await onHost("h1", ["ip", "link", "set", "dev", NAME, "mtu", "1300"]);
    expect((await stack.refresh()).summary.resourceChanges).toMatchObject({ update: 1 });
    setSpec(1450);
    expect((await stack.up()).summary.resourceChanges).toMatchObject({ update: 2 });
    for (const h of ["h1", "h2"]) expect((await hostLink(h, undefined, NAME))?.mtu).toBe(1450);
    await stack.destroy();
    for (const h of ["h1", "h2"]) expect(await hostLink(h, undefined, NAME)).toBeUndefined();

    const stats = await keeperStats();
    expect(stats.pid).toBe(first.pid);
    // The program logs in as the lab host's own user (index.js), whatever login the tests use.
    const endpoint = (name: string) => describeEndpoint({ user: host(name).username, host: host(name).address, port: host(name).port });
    expect(stats.handshakes).toEqual({ [endpoint("h1")]: 1, [endpoint("h2")]: 1 });
  }, 300_000);

  it("where the keeper's directory is open to others, `pulumi up` says so and works without one", async () => {
    const unsafe = mkdtempSync(path.join(os.tmpdir(), "netdev-kept-"));
    const dir = path.join(unsafe, `netdev-ssh-${process.getuid?.()}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    stack.workspace.envVars.XDG_RUNTIME_DIR = unsafe;
    try {
      setSpec(1400);
      const up = await stack.up();
      expect(up.summary.result).toBe("succeeded");
      expect(up.stdout + up.stderr).toMatch(/NETDEV_SSH_PERSIST is set, but logins are not kept between runs: .*open to other users \(mode 777\)/);
      expect((await hostLink("h1", undefined, NAME))?.mtu).toBe(1400);
      expect(readdirSync(dir)).toEqual([]);
      await stack.destroy();
    } finally {
      stack.workspace.envVars.XDG_RUNTIME_DIR = runtimeDir;
      rmSync(unsafe, { recursive: true, force: true });
    }
  }, 300_000);
});
