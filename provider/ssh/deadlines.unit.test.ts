import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";
import { RemoteCommandError, SshConnectError } from "./errors";

/**
 * Servers that accept a request and never answer it: every remote operation must still end
 * within its deadline, release whatever waits behind it, and leave the pool usable.
 */
const newPool = privatePools();
const servers: FakeSshServer[] = [];
async function serve(...args: ConstructorParameters<typeof FakeSshServer>): Promise<FakeSshServer> {
  const server = await new FakeSshServer(...args).start();
  servers.push(server);
  return server;
}
afterAll(() => servers.forEach((s) => s.stop()));

const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 500;
const limits = { commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, retries: 0, retryBackoffMs: 50 };

/** Settles `operation`, returning what it threw and how long it took. */
async function timed(operation: Promise<unknown>): Promise<{ error: unknown; elapsedMs: number }> {
  const started = Date.now();
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, elapsedMs: Date.now() - started };
}

describe("one deadline per remote operation", () => {
  it("ends a host-changing command whose exec request is never answered: it may or may not have run", async () => {
    const stuck = await serve("OpenSSH_9.2p1", { exec: "silent" });
    const healthy = await serve();
    const pool = newPool();
    const { error, elapsedMs } = await timed(pool.run(stuck.connection(limits), ["ip", "link", "add", "br9", "type", "bridge"]));
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).exitCode).toBeNull();
    expect((error as Error).message).toMatch(/127\.0\.0\.1:\d+/);
    expect((error as RemoteCommandError).cause).toEqual({ kind: "unanswered", timeoutMs: COMMAND_TIMEOUT_MS, mayHaveRun: true });
    expect((error as Error).message).toMatch(new RegExp(`${COMMAND_TIMEOUT_MS} ms`));
    expect((error as Error).message).toMatch(/may or may not have run/);
    expect(elapsedMs).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
    expect(stuck.execs).toHaveLength(1);
    // The stuck client is gone, and the pool still serves a healthy host.
    await expect.poll(() => stuck.connectedClients, { timeout: 2000 }).toBe(0);
    expect(await pool.run(healthy.connection(limits), ["echo", "ok"])).toBe("echo ok\n");
  }, 10_000);

  it("ends a command whose channel open is never answered", async () => {
    const stuck = await serve("OpenSSH_9.2p1", { session: "silent" });
    const healthy = await serve();
    const pool = newPool();
    const { error, elapsedMs } = await timed(pool.run(stuck.connection(limits), ["ip", "link", "del", "br9"]));
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).exitCode).toBeNull();
    expect((error as Error).message).toMatch(/may or may not have run/);
    expect(elapsedMs).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
    expect(await pool.run(healthy.connection(limits), ["echo", "ok"])).toBe("echo ok\n");
  }, 10_000);

  it("ends a read whose channel open is never answered, retries included", async () => {
    const stuck = await serve("OpenSSH_9.2p1", { session: "silent" });
    const { error, elapsedMs } = await timed(newPool().run(stuck.connection(limits), ["ip", "-json", "link", "show"], { idempotent: true }));
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toMatch(/timed out after 500 ms/);
    expect((error as RemoteCommandError).cause.kind).toBe("unanswered");
    expect(elapsedMs).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
  }, 10_000);

  it("releases a command queued behind a stuck one, which then runs on a new connection", async () => {
    const dropbear = await serve("dropbear_2022.83", { exec: "silent", misbehaveFirst: 1 });
    const pool = newPool();
    const connection = dropbear.connection(limits);
    const stuck = timed(pool.run(connection, ["ip", "link", "add", "br9", "type", "bridge"]));
    const queued = timed(pool.run(connection, ["echo", "after"]));
    const [stuckResult, queuedResult] = await Promise.all([stuck, queued]);
    expect(stuckResult.error).toBeInstanceOf(RemoteCommandError);
    expect(queuedResult.error).toBeUndefined();
    expect(queuedResult.elapsedMs).toBeLessThan(3 * COMMAND_TIMEOUT_MS);
    expect(pool.handshakes(`root@127.0.0.1:${dropbear.port}`)).toBe(2);
  }, 10_000);

  it("ends a connect through a jump host that never answers the tunnel request", async () => {
    const jump = await serve("OpenSSH_9.2p1", { tunnel: "silent" });
    const target = await serve();
    const healthy = await serve();
    const pool = newPool();
    const connection = target.connection({ ...limits, jumpHost: jump.input(limits) });
    const { error, elapsedMs } = await timed(pool.run(connection, ["ip", "link", "add", "br9", "type", "bridge"]));
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as Error).message).toMatch(/timed out after 500 ms/);
    expect((error as Error).message).toMatch(/jump host/);
    expect((error as SshConnectError).cause).toEqual({ kind: "timeout", timeoutMs: CONNECT_TIMEOUT_MS, jumpHost: `root@127.0.0.1:${jump.port}` });
    expect((error as SshConnectError).retryable).toBe(true);
    expect(elapsedMs).toBeLessThan(3 * CONNECT_TIMEOUT_MS);
    expect(jump.tunnelRequests).toBe(1);
    expect(target.execs).toHaveLength(0);
    expect(await pool.run(healthy.connection(limits), ["echo", "ok"])).toBe("echo ok\n");
  }, 10_000);

  it("still reaches a host through a healthy jump host", async () => {
    const jump = await serve();
    const target = await serve();
    // Generous: two handshakes in this process take longer than 500 ms on a loaded machine, and
    // this test is about reaching the host, not about how fast.
    const healthyLimits = { ...limits, connectTimeoutMs: 10_000, commandTimeoutMs: 10_000 };
    const connection = target.connection({ ...healthyLimits, jumpHost: jump.input(healthyLimits) });
    expect(await newPool().run(connection, ["echo", "via"])).toBe("echo via\n");
    expect(jump.tunnelRequests).toBe(1);
  }, 30_000);
});
