import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";

/**
 * preconnect: the handshake done ahead of the first command, which then runs on that same
 * connection; nothing runs on the host meanwhile; an unused one idles out; a failure is left to
 * the first command to report.
 */
const newPool = privatePools();
const servers: FakeSshServer[] = [];
afterAll(() => servers.forEach((server) => server.stop()));

async function server(): Promise<FakeSshServer> {
  const started = await new FakeSshServer().start();
  servers.push(started);
  return started;
}

describe("preconnect", () => {
  it("connects with no command run; the first command uses that connection; a second preconnect opens nothing", async () => {
    const host = await server();
    const pool = newPool();
    const connection = host.connection({ connectTimeoutMs: 5000, retries: 0 });
    pool.preconnect(connection);
    await expect.poll(() => pool.handshakes(), { timeout: 5000 }).toBe(1);
    expect(host.connectedClients).toBe(1);
    expect(host.execs).toEqual([]);
    pool.preconnect(connection);
    expect(await pool.run(connection, ["echo", "hi"])).toContain("echo hi");
    expect(pool.handshakes()).toBe(1);
    expect(host.connectedClients).toBe(1);
  });

  it("an unused connection closes after idleCloseMs", async () => {
    const host = await server();
    const pool = newPool();
    pool.idleCloseMs = 300;
    pool.preconnect(host.connection({ connectTimeoutMs: 5000, retries: 0 }));
    await expect.poll(() => pool.handshakes(), { timeout: 5000 }).toBe(1);
    await expect.poll(() => host.connectedClients, { timeout: 3000 }).toBe(0);
  });

  it("a host that refuses: nothing thrown or left pending; the first command reports its own failure", async () => {
    const host = await server();
    const port = host.port;
    host.stop();
    const pool = newPool();
    const connection = host.connection({ port, connectTimeoutMs: 2000, retries: 0 });
    pool.preconnect(connection);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(pool.run(connection, ["true"])).rejects.toThrow(/127\.0\.0\.1/);
    expect(pool.handshakes()).toBe(0);
  });
});
