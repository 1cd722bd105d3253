import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";
import { RemoteCommandError } from "./errors";

/**
 * A tunnel through a jump host lives as long as the connection through it (until that one has
 * been idle idleCloseMs), so it must not hold one of the jump host's session slots; and a
 * command that waits for a slot waits within its own deadline.
 */
const newPool = privatePools();
const servers: FakeSshServer[] = [];
async function serve(behaviour: ConstructorParameters<typeof FakeSshServer>[1] = {}): Promise<FakeSshServer> {
  const server = await new FakeSshServer("OpenSSH_9.2p1", behaviour).start();
  servers.push(server);
  return server;
}
afterAll(() => servers.forEach((server) => server.stop()));
const limits = { commandTimeoutMs: 5000, connectTimeoutMs: 3000, retries: 0, retryBackoffMs: 50 };

describe("jump host tunnels and session slots", () => {
  it("three targets through a jump host with two session slots, while the tunnels stay open, and a command on the jump host beside them", async () => {
    const jump = await serve();
    const targets = await Promise.all([serve(), serve(), serve()]);
    const pool = newPool();
    // The targets' connections, and so their tunnels, stay open for the whole test.
    pool.idleCloseMs = 60_000;
    const jumpHost = jump.input({ ...limits, maxChannels: 2 });
    for (const [i, target] of targets.entries()) {
      expect(await pool.run(target.connection({ ...limits, jumpHost }), ["echo", `t${i}`])).toBe(`echo t${i}\n`);
    }
    expect(jump.tunnelRequests).toBe(3);
    expect(await pool.run(jump.connection({ ...limits, maxChannels: 2 }), ["echo", "on-jump"])).toBe("echo on-jump\n");
    expect(pool.handshakes()).toBe(4);
  }, 15_000);

  it("a command that waits for a session slot past its deadline fails saying it did not start", async () => {
    const server = await serve({ exec: "shell" });
    const pool = newPool();
    const connection = server.connection({ ...limits, maxChannels: 1 });
    await pool.run(connection, ["true"]);
    const busy = pool.run(connection, ["sleep", "1.5"]);
    const started = Date.now();
    const error = await pool.run(connection, ["echo", "late"], { timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - started;
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toMatch(/timed out after 300 ms waiting for a free session .*maxChannels 1/);
    expect((error as Error).message).toMatch(/it did not start/);
    expect((error as RemoteCommandError).cause).toEqual({ kind: "no-session", timeoutMs: 300, maxChannels: 1 });
    expect(elapsedMs).toBeLessThan(1000);
    expect(server.execs.some((command) => command.startsWith("echo late"))).toBe(false);
    await busy;
  }, 15_000);
});
