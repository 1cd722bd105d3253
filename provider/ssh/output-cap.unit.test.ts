import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";
import { RemoteCommandError } from "./errors";
import { MAX_OUTPUT_BYTES } from "./pool";

const newPool = privatePools();
const servers: FakeSshServer[] = [];
afterAll(() => servers.forEach((s) => s.stop()));

describe("output cap", () => {
  it("is 16 MiB per command unless the exec says otherwise", () => {
    expect(MAX_OUTPUT_BYTES).toBe(16 * 1024 * 1024);
  });

  it("closes the channel of a command that prints more than the cap and fails saying so; the connection stays usable", async () => {
    const cap = 256 * 1024;
    const server = await new FakeSshServer("OpenSSH_9.2p1", { exec: "flood", floodBytes: 8 * cap, misbehaveFirst: 1 }).start();
    servers.push(server);
    const pool = newPool();
    // A long command deadline: only the cap can end the flood (the fake never exits).
    const connection = server.connection({ commandTimeoutMs: 20_000 });
    const started = Date.now();
    const error = await pool.run(connection, ["ip", "-json", "link", "show"], { idempotent: true, maxOutputBytes: cap }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).exitCode).toBeNull();
    expect((error as RemoteCommandError).cause).toEqual({ kind: "overflow", maxOutputBytes: cap, mayHaveRun: false });
    expect((error as Error).message).toMatch(new RegExp(`printed more than ${cap} bytes`));
    expect((error as Error).message).toMatch(/channel was closed/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await pool.run(connection, ["echo", "next"])).toBe("echo next\n");
    expect(pool.handshakes(`root@127.0.0.1:${server.port}`)).toBe(1);
  }, 15_000);

  it("tells a read that overflowed in a batch by its cause, as when it ran alone, and names the batch", async () => {
    const cap = 64 * 1024;
    const server = await new FakeSshServer("OpenSSH_9.2p1", { exec: "flood", floodBytes: 8 * cap, misbehaveFirst: 1 }).start();
    servers.push(server);
    const pool = newPool({ coalesceWindowMs: 20 });
    const connection = server.connection({ commandTimeoutMs: 20_000 });
    const reads = [
      ["ip", "-json", "addr", "show"],
      ["ip", "-json", "route", "show"],
    ].map((argv) => pool.exec(connection, argv, { idempotent: true, maxOutputBytes: cap }).catch((e: unknown) => e));
    const errors = (await Promise.all(reads)) as RemoteCommandError[];
    expect(server.execs).toHaveLength(1);
    for (const [i, error] of errors.entries()) {
      expect(error).toBeInstanceOf(RemoteCommandError);
      expect(error.cause.kind).toBe("overflow");
      expect(error.batchedWith).toBe(1);
      expect(error.command).toBe(i === 0 ? "ip -json addr show" : "ip -json route show");
      expect(error.message).toMatch(/printed more than .* \(it ran in one command with 1 others for this host\)$/);
    }
  }, 15_000);
});
