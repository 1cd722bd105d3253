import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { FORGER, forgerFoundBoundary } from "../../test/support/batch-forger";
import { connection } from "../../test/support/lab-hosts";
import { RemoteCommandError } from "./errors";
import { type ExecResult, SshPool } from "./pool";

/**
 * Commands for one host that overlap travel as one exec (coalescer.ts, batch.ts). Whatever the
 * batching, each caller must get exactly what its command gives when run alone, a failing
 * command fails only its own caller, and a batch that gets no answer is reported to each
 * caller under its own command, never run twice.
 */
const pools: SshPool[] = [];
const newPool = (coalesceWindowMs: number | undefined) => {
  const pool = new SshPool({ coalesceWindowMs });
  pools.push(pool);
  return pool;
};
afterAll(() => pools.forEach((pool) => pool.closeAll()));

/** Reads of every shape (these run twice: alone, then batched), and what each is for. */
const COMMANDS: Array<{ argv: string[]; idempotent: boolean }> = [
  { argv: ["ip", "-json", "link", "show", "dev", "lo"], idempotent: true },
  { argv: ["ip", "link", "show", "dev", "no-such-dev0"], idempotent: true }, // fails: exit 1, stderr
  { argv: ["printf", "%s", "no newline at the end"], idempotent: true },
  { argv: ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"], idempotent: false },
  { argv: ["cat"], idempotent: false }, // stdin is closed, as for a lone exec
  { argv: ["sh", "-c", "sleep 0.2; echo slow"], idempotent: true },
  { argv: ["printf", "%s\\n", "it's", "$(id)", "a;b", "ünï 名前"], idempotent: false },
];

describe.each(["h1", "vm1"])("coalesced commands on lab host %s", (name) => {
  it("each caller gets what its command prints alone, in far fewer execs than commands", async () => {
    const alone = newPool(undefined);
    const expected: ExecResult[] = [];
    for (const { argv, idempotent } of COMMANDS) expected.push(await alone.exec(connection(name), argv, { idempotent }));

    const coalescing = newPool(1);
    await coalescing.run(connection(name), ["true"]); // connected, so the commands below overlap
    const execsBefore = coalescing.execsSent;
    const rounds = 4;
    const results = await Promise.all(
      Array.from({ length: rounds }, () => COMMANDS.map(({ argv, idempotent }) => coalescing.exec(connection(name), argv, { idempotent }))).flat(),
    );
    results.forEach((result, i) => {
      const want = expected[i % COMMANDS.length]!;
      expect(result, `command ${i % COMMANDS.length}: ${COMMANDS[i % COMMANDS.length]!.argv.join(" ")}`).toEqual(want);
    });
    expect(coalescing.commandsStarted - 1).toBe(rounds * COMMANDS.length);
    // Reads and writes go in separate batches; at most a few of each.
    expect(coalescing.execsSent - execsBefore).toBeLessThanOrEqual(4);
  }, 60_000);

  it("a command that fails in a batch fails only its own caller", async () => {
    const pool = newPool(1);
    const made = Array.from({ length: 6 }, (_, i) =>
      pool.exec(connection(name), i === 3 ? ["ip", "link", "del", "dev", "no-such-dev0"] : ["sh", "-c", `echo ok${i}`]),
    );
    const settled = await Promise.all(made);
    settled.forEach((result, i) => {
      if (i === 3) {
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr).toMatch(/Cannot find device|does not exist|No such device/i);
      } else {
        expect(result).toEqual({ stdout: `ok${i}\n`, stderr: "", exitCode: 0 });
      }
    });
    expect(pool.execsSent).toBeLessThan(made.length);
  }, 30_000);

  it("a command cannot forge the result of another in its batch: it finds no boundary, and the other's own result arrives", async () => {
    const pool = newPool(1);
    await pool.run(connection(name), ["true"]);
    const execsBefore = pool.execsSent;
    // The victim fails (no such device); a forged result would report it deleted.
    const [forger, victim] = await Promise.all([pool.exec(connection(name), FORGER), pool.exec(connection(name), ["ip", "link", "del", "dev", "ndforge0"])]);
    expect(pool.execsSent - execsBefore).toBe(1);
    expect(victim.stdout).not.toContain("forged");
    expect(victim.exitCode).not.toBe(0);
    expect(victim.stderr).toMatch(/Cannot find device|does not exist|No such device/i);
    expect(forgerFoundBoundary(forger)).toBe(false);
  }, 30_000);
});

describe("a batch that gets no answer", () => {
  const servers: FakeSshServer[] = [];
  afterAll(() => servers.forEach((server) => server.stop()));

  it("fails every command in it within the deadline, each naming its own command, none run twice", async () => {
    const server = await new FakeSshServer("OpenSSH_9.2p1", { exec: "silent" }).start();
    servers.push(server);
    const pool = newPool(1);
    const limits = { commandTimeoutMs: 500, connectTimeoutMs: 2000, retries: 0, retryBackoffMs: 50 };
    const commands = [0, 1, 2].map((i) => ["ip", "link", "add", `br${i}`, "type", "bridge"]);
    const started = Date.now();
    const errors = await Promise.all(
      commands.map((argv) =>
        pool.exec(server.connection(limits), argv).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    errors.forEach((error, i) => {
      expect(error).toBeInstanceOf(RemoteCommandError);
      expect((error as RemoteCommandError).command).toBe(`ip link add br${i} type bridge`);
      expect((error as Error).message).toMatch(/timed out after 500 ms/);
      expect((error as Error).message).toMatch(/may or may not have run/);
      expect((error as Error).message).toMatch(/in one command with 2 others/);
    });
    // All three went in one exec request, sent once.
    expect(server.execs).toHaveLength(1);
  }, 10_000);
});
