import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connection } from "../../../test/support/lab-hosts";
import { privatePools } from "../../../test/support/pools";
import { describeEndpoint, HostKeyMismatchError, RemoteCommandError, SshConnectError } from "../errors";
import { keeperSocket } from "./place";
import { lineReader } from "./protocol";

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
    rmSync(runtimeDir, { recursive: true, force: true });
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

  it("a line that is no request closes only its own connection; a command sent after its requester stopped waiting never runs", async () => {
    const pool = newPool({ persistMs: 30_000 });
    await pool.run(connection("h1"), ["true"]);
    const pid = await keeperPid(pool);
    const place = keeperSocket(30_000);
    if (!("path" in place)) throw new Error(place.refused);

    const junk = await rawLink(place.path);
    junk.socket.write("null\n");
    await junk.closed;
    expect(alive(pid)).toBe(true);

    const marker = `/tmp/netdev-keeper-late-${process.pid}`;
    const raw = await rawLink(place.path);
    const late = { id: 7, op: "exec", connection: connection("h1"), argv: ["touch", marker], options: {}, output: "scrubbed", startBy: Date.now() - 1 };
    raw.socket.write(`${JSON.stringify(late)}\n`);
    const answer = (await raw.next()) as { id: number; ok: boolean; error: { cause: { kind: string } } };
    expect(answer).toMatchObject({ id: 7, ok: false, error: { type: "command", cause: { kind: "refused" } } });
    raw.socket.destroy();
    expect((await pool.exec(connection("h1"), ["test", "-e", marker])).exitCode).toBe(1);
    expect((await keeperPid(pool)) === pid).toBe(true);
  });
});

/** The keeper's socket spoken to directly: its hello read, then each line it sends. */
async function rawLink(socketPath: string): Promise<{ socket: Socket; next: () => Promise<unknown>; closed: Promise<void> }> {
  const socket = connect(socketPath);
  const lines: unknown[] = [];
  const waiting: Array<(message: unknown) => void> = [];
  socket.on(
    "data",
    lineReader(
      (message) => {
        const taker = waiting.shift();
        if (taker) taker(message);
        else lines.push(message);
      },
      () => socket.destroy(),
    ),
  );
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise<unknown>((resolve) => waiting.push(resolve)));
  expect(await next()).toMatchObject({ hello: { pid: expect.any(Number) } });
  return { socket, next, closed };
}
