import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connection } from "../../../test/support/lab-hosts";
import { privatePools } from "../../../test/support/pools";
import { describeEndpoint, HostKeyMismatchError, RemoteCommandError, SshConnectError } from "../errors";

const newPool = privatePools();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * NETDEV_SSH_PERSIST's keeper on lab hosts: each test has a runtime directory of its own, so a
 * keeper of its own. A pool stands for one provider process: it has its own link to the keeper,
 * and the keeper is a process apart.
 */
describe("logins kept between provider processes (the connection keeper)", () => {
  const savedRuntimeDir = process.env.XDG_RUNTIME_DIR;
  let runtimeDir: string;
  const started: number[] = [];

  beforeEach(() => {
    runtimeDir = mkdtempSync(path.join(os.tmpdir(), "netdev-keeper-"));
    process.env.XDG_RUNTIME_DIR = runtimeDir;
  });
  afterEach(() => {
    if (savedRuntimeDir === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
    for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid);
  });

  async function keeperPid(pool: ReturnType<typeof newPool>): Promise<number> {
    const stats = await pool.keeperStats();
    if (!stats) throw new Error("no keeper");
    started.push(stats.pid);
    return stats.pid;
  }

  it("a second process runs its commands on the login the first one made", async () => {
    const first = newPool({ persistMs: 30_000, coalesceWindowMs: 1 });
    expect(await first.run(connection("h1"), ["hostname"])).toBeTruthy();
    await first.run(connection("h2"), ["true"]);
    const pid = await keeperPid(first);
    first.closeAll();

    const second = newPool({ persistMs: 30_000, coalesceWindowMs: 1 });
    const [a, b] = await Promise.all([second.exec(connection("h1"), ["ip", "-br", "link", "show", "lo"]), second.exec(connection("h1"), ["false"])]);
    expect(a.stdout).toMatch(/^lo\s/);
    expect(b.exitCode).toBe(1);
    const stats = await second.keeperStats();
    expect(stats?.pid).toBe(pid);
    expect(stats?.handshakes).toEqual({ [describeEndpoint(connection("h1"))]: 1, [describeEndpoint(connection("h2"))]: 1 });
    // Neither process logged in itself.
    expect(first.handshakes() + second.handshakes()).toBe(0);
  });

  it("a login is shared only with the same credentials and pins: others get their own refusal", async () => {
    const pool = newPool({ persistMs: 30_000 });
    await pool.run(connection("h1"), ["true"]);
    await keeperPid(pool);
    const wrongPin = connection("h1", { hostKey: connection("h2").hostKey, retries: 0 });
    await expect(pool.run(wrongPin, ["true"])).rejects.toBeInstanceOf(HostKeyMismatchError);
    const wrongUser = connection("h1", { user: "nobody-here", retries: 0 });
    const refused = await pool.run(wrongUser, ["true"]).catch((error) => error);
    expect(refused).toBeInstanceOf(SshConnectError);
    expect((refused as SshConnectError).cause.kind).toBe("auth");
  });

  it("a keeper that died is replaced; what it was running is reported unless it only read", async () => {
    const pool = newPool({ persistMs: 30_000 });
    await pool.run(connection("h1"), ["true"]);
    const pid = await keeperPid(pool);

    const write = pool.exec(connection("h1"), ["sleep", "2"]);
    const read = pool.exec(connection("h1"), ["sh", "-c", "sleep 1; echo read"], { idempotent: true });
    await sleep(300);
    process.kill(pid, "SIGKILL");
    const failure = await write.catch((error) => error);
    expect(failure).toBeInstanceOf(RemoteCommandError);
    expect((failure as RemoteCommandError).message).toContain("may or may not have run");
    expect((await read).stdout).toBe("read\n");
    const replacement = await keeperPid(pool);
    expect(replacement).not.toBe(pid);
  });

  it("the keeper ends once nothing used it for the persistence time, and removes its socket", async () => {
    const pool = newPool({ persistMs: 1000 });
    await pool.run(connection("h1"), ["true"]);
    const pid = await keeperPid(pool);
    const dir = path.join(runtimeDir, `netdev-ssh-${process.getuid?.()}`);
    expect(readdirSync(dir)).toHaveLength(1);
    pool.closeAll();
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100) await sleep(100);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir) && readdirSync(dir)).toEqual([]);
  });
});
