import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";

/**
 * An idle connection closes after idleCloseMs, and only an idle one: a command that took its
 * session slot after waiting for it keeps the connection open however long it runs.
 */
const newPool = privatePools();
const servers: FakeSshServer[] = [];
afterAll(() => servers.forEach((server) => server.stop()));

describe("idle close", () => {
  it("does not close a connection under a command that waited for its slot and runs longer than idleCloseMs", async () => {
    // dropbear: one session at a time, so the second command waits for the first one's slot.
    const server = await new FakeSshServer("dropbear_2022.83", { exec: "shell" }).start();
    servers.push(server);
    const pool = newPool();
    pool.idleCloseMs = 300;
    const connection = server.connection({ commandTimeoutMs: 10_000, connectTimeoutMs: 5000, retries: 0 });
    const [first, second] = await Promise.all([pool.run(connection, ["sleep", "0.1"]), pool.run(connection, ["sh", "-c", "sleep 1; echo done"])]);
    expect(first).toBe("");
    expect(second).toBe("done\n");
    expect(pool.handshakes()).toBe(1);
    // Idle now: closed after idleCloseMs.
    await expect.poll(() => server.connectedClients, { timeout: 3000 }).toBe(0);
  }, 15_000);
});
