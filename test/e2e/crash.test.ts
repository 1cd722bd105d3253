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
 * resource's identity, so a create retried after the crash recognises the device it made.
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
  return out.split("\n").map((line) => line.split(/\s+/)[0]!).filter((n) => n.startsWith(PREFIX));
};

describe("pulumi killed mid-operation", () => {
  const { workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"]);
  const spec = { hosts: { [HOST]: host(HOST) }, devices: names.map((name, i) => ({ type: "Bridge", resourceName: `kill${i}`, host: HOST, inputs: { name } })) };
  const runEnv = { ...process.env, ...env, NETDEV_E2E_SPEC: JSON.stringify(spec) };
  const pulumi = (args: string[]) => execa("pulumi", [...args, "--non-interactive"], { cwd: workDir, env: runEnv, reject: false, stdin: "ignore", all: true });

  /** Starts `pulumi <args>` in its own process group and SIGKILLs the whole group once `when` holds. */
  async function killWhen(args: string[], when: (devices: string[]) => boolean): Promise<string[]> {
    const child: ResultPromise = execa("pulumi", [...args, "--non-interactive"], { cwd: workDir, env: runEnv, reject: false, stdin: "ignore" });
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
    await pulumi(["cancel", "--yes"]);
    await pulumi(["destroy", "--yes"]);
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);
  }, 300_000);

  it("SIGKILL during `up` of 30 devices: the next `up` converges; SIGKILL during `destroy`: the next `destroy` leaves the host as it was", async () => {
    for (const name of await onHost()) await exec(HOST, ["ip", "link", "del", "dev", name]);
    expect((await pulumi(["stack", "init", "crash"])).exitCode).toBe(0);

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
});
