import { afterAll, describe, expect, it } from "vitest";
import { connection, connectionInput } from "../../test/support/lab-hosts";
import { RemoteCommandError } from "./errors";
import { SshPool } from "./pool";

/**
 * h1 as the jump host of three targets (j1, reachable only through it, and h2, h3), with two
 * session slots: the tunnels stay open while their connections are pooled, and must take none
 * of those slots; a command on h1 meanwhile runs at once, and one that waits for a slot fails
 * within its own deadline.
 */
const pools: SshPool[] = [];
const newPool = () => {
  const pool = new SshPool();
  pools.push(pool);
  return pool;
};
afterAll(() => pools.forEach((pool) => pool.closeAll()));

describe("jump host h1", () => {
  it("reaches a third target while the tunnels to two others are open, and runs a command of its own beside them", async () => {
    const pool = newPool();
    // The targets' connections, and so their tunnels, stay open for the whole test.
    pool.idleCloseMs = 60_000;
    const jumpHost = connectionInput("h1", { maxChannels: 2 });
    for (const name of ["j1", "h2", "h3"]) {
      const out = await pool.run(connection(name, { jumpHost, connectTimeoutMs: 3000, retries: 0 }), ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
      expect(out).toContain(`inet ${connectionInput(name).host}/24`);
    }
    const started = Date.now();
    expect(await pool.run(connection("h1", { maxChannels: 2, commandTimeoutMs: 2000 }), ["echo", "on-h1"])).toBe("on-h1\n");
    expect(Date.now() - started).toBeLessThan(2000);
    // One connection to h1, shared by the three tunnels and the command.
    expect(pool.handshakes("root@10.247.0.11:22")).toBe(1);
  }, 60_000);

  it("a command waiting for a session slot on h1 fails within its own deadline, saying it did not start", async () => {
    const pool = newPool();
    const h1 = connection("h1", { maxChannels: 1 });
    const absent = async () => (await pool.exec(h1, ["ip", "link", "show", "dev", "ndslot0"], { idempotent: true })).exitCode !== 0;
    await pool.exec(h1, ["ip", "link", "del", "dev", "ndslot0"]);
    const busy = pool.run(h1, ["sleep", "3"]);
    const started = Date.now();
    const error = await pool.run(h1, ["ip", "link", "add", "ndslot0", "type", "bridge"], { timeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toMatch(/timed out after 500 ms waiting for a free session .*: it did not start/);
    expect(Date.now() - started).toBeLessThan(2500);
    await busy;
    try {
      expect(await absent()).toBe(true);
    } finally {
      await pool.exec(h1, ["ip", "link", "del", "dev", "ndslot0"]);
    }
  }, 60_000);
});
