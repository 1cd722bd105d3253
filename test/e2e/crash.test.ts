import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";
import { host } from "../support/lab-hosts";
import { exec } from "../support/components";

/**
 * The Pulumi CLI killed with SIGKILL in the middle of a 30-device `up`, and again in the middle
 * of `destroy` (a laptop that dies, a CI job cancelled): the next run converges with no manual
 * step beyond what Pulumi itself requires (clearing the pending operations it recorded), and
 * the host ends as it began. Nothing is stranded: the owner tag of each device derives from its
 * stack's seed (saved in the state before any device is made) and its resource's URN, so a
 * create retried after the crash recognises the device it made.
 */
const DEVICES = 30;
const HOST = "h1";
const PREFIX = "ndkill";
const names = Array.from({ length: DEVICES }, (_, i) => `${PREFIX}${i}`);

/** Every process below `pid`, from /proc (children of children included). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length; ) {
    frontier = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

/** Running (a zombie is dead: it only waits for its parent to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const onHost = async () => {
  const out = (await exec(HOST, ["ip", "-br", "link", "show", "type", "bridge"])).stdout;
  return out
    .split("\n")
    .map((line) => line.split(/\s+/)[0]!)
    .filter((n) => n.startsWith(PREFIX));
};

describe("pulumi killed mid-operation", () => {
  const { workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"]);
  const spec = (count = DEVICES) =>
    JSON.stringify({
      hosts: { [HOST]: host(HOST) },
      devices: names.slice(0, count).map((name, i) => ({ type: "Bridge", resourceName: `kill${i}`, host: HOST, inputs: { name } })),
    });
  /** What a test adds to the CLI's environment (PULUMI_SKIP_CHECKPOINTS, a smaller spec). */
  let extraEnv: Record<string, string> = {};
  const runEnv = () => ({ ...process.env, ...env, NETDEV_E2E_SPEC: spec(), ...extraEnv });
  const pulumi = (args: string[]) =>
    execa("pulumi", [...args, "--non-interactive"], { cwd: workDir, env: runEnv(), reject: false, stdin: "ignore", all: true });
  const stacks: string[] = [];

  /** Starts `pulumi <args>` in its own process group and SIGKILLs the whole group once `when` holds. */
  async function killWhen(args: string[], when: (devices: string[]) => boolean): Promise<string[]> {
    const child: ResultPromise = execa("pulumi", [...args, "--non-interactive"], { cwd: workDir, env: runEnv(), reject: false, stdin: "ignore" });
    const deadline = Date.now() + 120_000;
    let devices = await onHost();
    while (!when(devices) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      devices = await onHost();
    }
    expect(child.exitCode, `pulumi ${args[0]} was still running when the kill came`).toBeNull();
    // Everything dies at once, as on a machine that loses power: the CLI and every process it
    // started (the language host and the provider run in process groups of their own).
    const tree = [child.pid!, ...descendants(child.pid!)];
    expect(tree.length, "the CLI had started its language host and provider").toBeGreaterThan(2);
    for (const pid of tree) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await child;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tree.filter(alive), "processes left running after the kill").toEqual([]);
    return devices;
  }

  /**
   * What Pulumi requires after a killed run on a file backend: the lock gone, pending operations
   * cleared, and (when the kill came while the CLI saved its checkpoint) the empty metadata
   * sidecar gone. The file backend (gocloud's fileblob) renames the checkpoint into place
   * atomically but rewrites `<stack>.json.attrs` in place; killed between the truncate and the
   * write, it leaves that file empty and every later command fails with "failed to load
   * checkpoint: EOF". The sidecar holds only an MD5 and a content type, and the checkpoint loads
   * without it: deleting the empty one is the README's documented step.
   */
  async function recover(): Promise<string> {
    const stacks = path.join(new URL(env.PULUMI_BACKEND_URL!).pathname, ".pulumi", "stacks");
    const emptySidecars = await execa("find", [stacks, "-name", "*.attrs", "-empty", "-print", "-delete"]);
    if (emptySidecars.stdout) console.log(`recover: removed empty checkpoint sidecars left by the kill:\n${emptySidecars.stdout}`);
    const cancel = await pulumi(["cancel", "--yes"]);
    const refresh = await pulumi(["refresh", "--yes", "--clear-pending-creates"]);
    expect(refresh.exitCode, refresh.all).toBe(0);
    return `${cancel.all}\n${refresh.all}`;
  }

  afterAll(async () => {
    extraEnv = {};
    for (const stack of stacks) {
      await pulumi(["cancel", "--yes", "--stack", stack]);
      await pulumi(["destroy", "--yes", "--stack", stack]);
    }
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);
  }, 300_000);

  it("SIGKILL during `up` of 30 devices: the next `up` converges; SIGKILL during `destroy`: the next `destroy` leaves the host as it was", async () => {
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);
    expect((await pulumi(["stack", "init", "crash"])).exitCode).toBe(0);
    stacks.push("crash");

    const atKill = await killWhen(["up", "--yes", "--skip-preview"], (devices) => devices.length >= 8);
    expect(atKill.length).toBeGreaterThanOrEqual(8);
    expect(atKill.length).toBeLessThan(DEVICES);
    await recover();
    const up = await pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.exitCode, up.all).toBe(0);
    expect(up.all).not.toMatch(/already exists/);
    expect((await onHost()).sort()).toEqual([...names].sort());
    const preview = await pulumi(["preview", "--expect-no-changes"]);
    expect(preview.exitCode, preview.all).toBe(0);

    const left = await killWhen(["destroy", "--yes", "--skip-preview"], (devices) => devices.length <= DEVICES - 8);
    expect(left.length).toBeGreaterThan(0);
    await recover();
    const destroy = await pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(destroy.exitCode, destroy.all).toBe(0);
    expect(await onHost()).toEqual([]);
  }, 600_000);
  /**
   * PULUMI_SKIP_CHECKPOINTS=true keeps the state in memory and saves it once, when the run ends:
   * a killed run leaves no trace in the backend. A killed later `up` still converges, since the
   * stack's seed (provider/stack-identity.ts) was saved by the run before. A killed FIRST `up`
   * loses the seed with everything else: the next `up` draws another one, so the devices the
   * killed run made are not this stack's to it ("already exists … set adopt"), and it takes
   * none of them; they are removed by hand (README: Ownership).
   */
  it("with PULUMI_SKIP_CHECKPOINTS=true: a killed first `up` takes nothing; a killed later `up` converges", async () => {
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);
    extraEnv = { PULUMI_SKIP_CHECKPOINTS: "true" };
    expect((await pulumi(["stack", "init", "crash-nockpt"])).exitCode).toBe(0);
    stacks.push("crash-nockpt");

    const atKill = await killWhen(["up", "--yes", "--skip-preview"], (devices) => devices.length >= 8);
    const tags = async (devices: string[]) =>
      Promise.all(devices.map(async (name) => (await exec(HOST, ["cat", `/sys/class/net/${name}/ifalias`])).stdout.trim()));
    const before = await tags(atKill);
    expect(before.every((tag) => /^netdev#[0-9a-f]{12}$/.test(tag))).toBe(true);
    await recover();
    const retried = await pulumi(["up", "--yes", "--skip-preview"]);
    expect(retried.exitCode, retried.all).not.toBe(0);
    expect(retried.all).toMatch(/ndkill\d+ on .* already exists .*set adopt: true/);
    expect(await tags(atKill), "the devices of the killed run keep their tags").toEqual(before);
    // By hand: the stack's own devices go with destroy, the killed run's with `ip link del`.
    expect((await pulumi(["destroy", "--yes", "--skip-preview"])).exitCode).toBe(0);
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);

    // A run that ends saves the seed; a later `up` killed mid-way then recovers its own devices.
    extraEnv = { PULUMI_SKIP_CHECKPOINTS: "true", NETDEV_E2E_SPEC: spec(1) };
    const small = await pulumi(["up", "--yes", "--skip-preview"]);
    expect(small.exitCode, small.all).toBe(0);
    extraEnv = { PULUMI_SKIP_CHECKPOINTS: "true" };
    const later = await killWhen(["up", "--yes", "--skip-preview"], (devices) => devices.length >= 8);
    expect(later.length).toBeLessThan(DEVICES);
    await recover();
    const up = await pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.exitCode, up.all).toBe(0);
    expect(up.all).not.toMatch(/already exists/);
    expect((await onHost()).sort()).toEqual([...names].sort());
    const preview = await pulumi(["preview", "--expect-no-changes"]);
    expect(preview.exitCode, preview.all).toBe(0);
    expect((await pulumi(["destroy", "--yes", "--skip-preview"])).exitCode).toBe(0);
    expect(await onHost()).toEqual([]);
  }, 600_000);
});
