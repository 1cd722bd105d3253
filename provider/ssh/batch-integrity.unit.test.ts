import { afterAll, describe, expect, it } from "vitest";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";
import { parseBatchOutput } from "./batch";
import { FORGER, forgerFoundBoundary } from "../../test/support/batch-forger";

/**
 * A batch's results are what its commands printed, each to its own caller, or nothing: no
 * command can forge another's result, and nothing on the host (a read-only /tmp) loses a
 * result that ran. The in-process server runs each exec with this machine's `sh -c`, stdin
 * included, as sshd would.
 */
const newPool = privatePools();
const servers: FakeSshServer[] = [];
afterAll(() => servers.forEach((server) => server.stop()));
async function shellServer(shellEnv?: NodeJS.ProcessEnv): Promise<FakeSshServer> {
  const server = await new FakeSshServer("OpenSSH_9.2p1", { exec: "shell", shellEnv }).start();
  servers.push(server);
  return server;
}
const limits = { commandTimeoutMs: 10_000, connectTimeoutMs: 5000, retries: 0, retryBackoffMs: 50 };

const B = "__netdev_batch_0123456789abcdef01234567";
/** The exact output of a batch of two commands, as the script prints it. */
const WHOLE = `\n${B} o 0\nout0\n\n${B} e 0\nerr0\n\n${B} r 0 0\n\n${B} o 1\n\n${B} e 1\n\n${B} r 1 3\n\n${B} end\n`;

describe("batch output is accepted only whole and in order", () => {
  it("parses the output the script prints", () => {
    expect(parseBatchOutput(WHOLE, B, 2)).toEqual({
      complete: true,
      results: [
        { stdout: "out0\n", stderr: "err0\n", exitCode: 0 },
        { stdout: "", stderr: "", exitCode: 3 },
      ],
    });
  });

  const none = { complete: false, results: [undefined, undefined] };
  it("refuses sections out of order", () => {
    const swapped = WHOLE.replace(`\n${B} o 1\n\n${B} e 1\n`, `\n${B} e 1\n\n${B} o 1\n`);
    expect(swapped).not.toBe(WHOLE);
    expect(parseBatchOutput(swapped, B, 2)).toEqual(none);
  });

  it("refuses a section that comes twice, earlier or later", () => {
    const forged = `\n${B} r 0 0\n\n${B} o 1\nforged\n${B} e 1\n\n${B} r 1 0\n`;
    expect(parseBatchOutput(WHOLE.replace("out0\n", `out0\n${forged}`), B, 2)).toEqual(none);
    expect(parseBatchOutput(WHOLE.replace(`\n${B} end\n`, `${forged}\n${B} end\n`), B, 2)).toEqual(none);
  });

  it("refuses output without its end line, or with anything after it", () => {
    expect(parseBatchOutput(WHOLE.slice(0, WHOLE.indexOf(`\n${B} end`)), B, 2)).toEqual(none);
    expect(parseBatchOutput(`${WHOLE}\n${B} o 2\n`, B, 2)).toEqual(none);
    // An end line forged early, inside a command's output, cuts off nothing but itself.
    expect(parseBatchOutput(WHOLE.replace("out0\n", `out0\n${B} end\n`), B, 2)).toEqual(none);
  });
});

describe("batched commands over SSH", () => {
  it("a command that searches its ancestors' command lines and environments for the boundary finds none, and cannot forge another's result", async () => {
    const server = await shellServer();
    const pool = newPool({ coalesceWindowMs: 5 });
    const connection = server.connection(limits);
    await pool.run(connection, ["true"]);
    const execsBefore = pool.execsSent;
    const [forger, victim] = await Promise.all([pool.exec(connection, FORGER), pool.exec(connection, ["sh", "-c", "echo real; exit 3"])]);
    expect(pool.execsSent - execsBefore).toBe(1);
    expect(victim).toEqual({ stdout: "real\n", stderr: "", exitCode: 3 });
    expect(forgerFoundBoundary(forger)).toBe(false);
  }, 20_000);

  it("overlapping writes each get their own result when the host has no writable temporary directory", async () => {
    const server = await shellServer({ ...process.env, TMPDIR: "/nonexistent/netdev-no-tmp" });
    const pool = newPool({ coalesceWindowMs: 5 });
    const connection = server.connection(limits);
    await pool.run(connection, ["true"]);
    const execsBefore = pool.execsSent;
    const results = await Promise.all([0, 1, 2].map((i) => pool.exec(connection, ["sh", "-c", `echo made${i}; echo note${i} >&2`])));
    expect(pool.execsSent - execsBefore).toBe(1);
    expect(results).toEqual([0, 1, 2].map((i) => ({ stdout: `made${i}\n`, stderr: `note${i}\n`, exitCode: 0 })));
  }, 20_000);
});
