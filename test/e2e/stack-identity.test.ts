import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";
import { host } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";
import { exec } from "../support/components";

/**
 * Two stacks with the same project and stack name in two backends (two teams, two state
 * buckets; here two file backends used from ONE project directory, so they even share
 * Pulumi.<stack>.yaml and its passphrase salt) have the same URNs. Each stack's devices carry
 * owner tags derived from a seed kept in that stack's own state (provider/stack-identity.ts),
 * so the second stack's `up` finds the first's device not its own: "already exists … set
 * adopt", its fields untouched, and its destroy leaves it alone. Stacks whose state an earlier
 * release wrote (tags from the URN alone) keep working after the upgrade.
 */
const HOST = "h3";
const DEVICE = "ndtwin0";
const STACK = "twin";
/** The last commit whose owner tags came from the URN alone: the state "the current release" writes. */
const URN_ONLY_RELEASE = "b327c13e1828403a407d6a6b5fa4cb0b23c34800";

const spec = (mtu: number) =>
  JSON.stringify({ hosts: { [HOST]: host(HOST) }, devices: [{ type: "Bridge", resourceName: "twin-bridge", host: HOST, inputs: { name: DEVICE, mtu } }] });

/** A Pulumi CLI in `workDir` against one backend. */
function cli(workDir: string, env: Record<string, string>) {
  return (args: string[], mtu = 1400) =>
    execa("pulumi", [...args, "--non-interactive"], {
      cwd: workDir,
      env: { ...process.env, ...env, NETDEV_E2E_SPEC: spec(mtu) },
      reject: false,
      stdin: "ignore",
      all: true,
    });
}

const tagOnHost = async () => (await hostLink(HOST, undefined, DEVICE))?.ifalias as string | undefined;

/** A second backend beside the first, for the same program directory. */
function secondBackend(home: string, env: Record<string, string>): Record<string, string> {
  const state = path.join(home, "state-b");
  mkdirSync(state);
  return { ...env, PULUMI_BACKEND_URL: `file://${state}` };
}

describe("owner identity is per stack instance", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await exec(HOST, ["ip", "link", "del", "dev", DEVICE]);
  }, 300_000);

  it("a stack of the same project and stack name in another backend cannot take the device: its up fails, its destroy leaves it, the owner's refresh sees no change", async () => {
    await exec(HOST, ["ip", "link", "del", "dev", DEVICE]);
    const { home, workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"]);
    const first = cli(workDir, env);
    const second = cli(workDir, secondBackend(home, env));
    cleanups.push(
      () => second(["destroy", "--yes", "--skip-preview"]),
      () => first(["destroy", "--yes", "--skip-preview"]),
    );

    expect((await first(["stack", "init", STACK])).exitCode).toBe(0);
    const up = await first(["up", "--yes", "--skip-preview"]);
    expect(up.exitCode, up.all).toBe(0);
    const tag = await tagOnHost();
    expect(tag).toMatch(/^netdev#[0-9a-f]{12}$/);

    expect((await second(["stack", "init", STACK])).exitCode).toBe(0);
    const taken = await second(["up", "--yes", "--skip-preview"], 1300);
    expect(taken.exitCode, taken.all).not.toBe(0);
    expect(taken.all).toMatch(/ndtwin0 on .* already exists .*set adopt: true/);
    expect(await tagOnHost()).toBe(tag);
    expect((await hostLink(HOST, undefined, DEVICE)).mtu).toBe(1400);

    const destroyed = await second(["destroy", "--yes", "--skip-preview"]);
    expect(destroyed.exitCode, destroyed.all).toBe(0);
    expect(await tagOnHost()).toBe(tag);

    const refresh = await first(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.exitCode, refresh.all).toBe(0);
    const preview = await first(["preview", "--expect-no-changes"]);
    expect(preview.exitCode, preview.all).toBe(0);
    const down = await first(["destroy", "--yes", "--skip-preview"]);
    expect(down.exitCode, down.all).toBe(0);
    expect(await tagOnHost()).toBeUndefined();
  }, 600_000);

  it("a stack written by the release that derived tags from the URN alone keeps its device after the upgrade, and is protected from a twin the same way", async () => {
    await exec(HOST, ["ip", "link", "del", "dev", DEVICE]);
    // That release, built from this repository's history into a directory of its own.
    const release = mkdtempSync(path.join(os.tmpdir(), "netdev-release-"));
    cleanups.push(async () => rmSync(release, { recursive: true, force: true }));
    await execa("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repoRoot, URN_ONLY_RELEASE, release]);
    symlinkSync(path.join(repoRoot, "node_modules"), path.join(release, "node_modules"));
    await execa("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", "dist"], { cwd: release });

    const { home, workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], {}, release);
    const first = cli(workDir, env);
    cleanups.push(() => first(["destroy", "--yes", "--skip-preview"]));
    expect((await first(["stack", "init", STACK])).exitCode).toBe(0);
    const old = await first(["up", "--yes", "--skip-preview"]);
    expect(old.exitCode, old.all).toBe(0);
    const tag = await tagOnHost();
    // The old derivation: the URN alone.
    const urn = `urn:pulumi:${STACK}::netdev-e2e::netdev:index:Bridge::twin-bridge`;
    expect(tag).toBe(`netdev#${createHash("sha256").update(urn).digest("hex").slice(0, 12)}`);

    // The upgrade: the program now loads this checkout.
    const installed = path.join(workDir, "node_modules", "pulumi-netdev");
    rmSync(installed);
    symlinkSync(repoRoot, installed);
    const upgraded = await first(["up", "--yes", "--skip-preview"]);
    expect(upgraded.exitCode, upgraded.all).toBe(0);
    // Only the stack's identity is new; the device is untouched, its tag the old one.
    expect(upgraded.all).toMatch(/\+ 1 created/);
    expect(upgraded.all).not.toMatch(/updated|replaced|deleted/);
    expect(await tagOnHost()).toBe(tag);
    const refresh = await first(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.exitCode, refresh.all).toBe(0);

    // A twin in another backend derives other tags: it cannot take the old stack's device.
    const second = cli(workDir, secondBackend(home, env));
    cleanups.push(() => second(["destroy", "--yes", "--skip-preview"]));
    expect((await second(["stack", "init", STACK])).exitCode).toBe(0);
    const taken = await second(["up", "--yes", "--skip-preview"], 1300);
    expect(taken.exitCode, taken.all).not.toBe(0);
    expect(taken.all).toMatch(/already exists .*set adopt: true/);
    expect(await tagOnHost()).toBe(tag);

    const down = await first(["destroy", "--yes", "--skip-preview"]);
    expect(down.exitCode, down.all).toBe(0);
    expect(await tagOnHost()).toBeUndefined();
  }, 600_000);
});
