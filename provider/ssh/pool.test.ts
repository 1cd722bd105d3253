import { readFileSync } from "node:fs";
import { utils } from "ssh2";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { acceptedConnections, connection, host, netnsHosts } from "../../test/support/lab-hosts";
import { parseConnection } from "./connection";
import { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./errors";
import { scrubSecrets } from "./pool";
import { privatePools } from "../../test/support/pools";

const newPool = privatePools();

async function sessionProcesses(name: string): Promise<number[]> {
  const lab = host(name);
  const { stdout } = await execa("ip", ["netns", "pids", lab.netns!]);
  return stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== lab.pid);
}

describe("ssh transport on lab hosts", () => {
  it("runs a command on every host, including one reached only through a jump host", async () => {
    const pool = newPool();
    for (const lab of [...netnsHosts(), host("j1")]) {
      const out = await pool.run(connection(lab.name), ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
      expect(out).toContain(`inet ${lab.address}/24`);
    }
  });

  it("reaches j1 only through h1: its sshd sees the connection come from h1's side", async () => {
    const pool = newPool();
    const before = acceptedConnections("j1");
    await pool.run(connection("j1"), ["true"]);
    expect(acceptedConnections("j1")).toBe(before + 1);
    const log = readFileSync(host("j1").sshdLogPath!, "utf8");
    expect(log).toMatch(/Accepted publickey for root from 10\.247\.1\.1 /);
    // Without the jump host the address is not even routable from here.
    const direct = parseConnection({ ...connectionArgsWithoutJump("j1"), connectTimeoutMs: 1000, retries: 0 });
    await expect(newPool().run(direct, ["true"])).rejects.toBeInstanceOf(SshConnectError);
  });

  it("pools: many operations on one host cost one handshake", async () => {
    const pool = newPool();
    const h2 = connection("h2");
    const before = acceptedConnections("h2");
    for (let i = 0; i < 10; i++) await pool.run(h2, ["true"]);
    await Promise.all(Array.from({ length: 10 }, () => pool.run(h2, ["true"])));
    expect(pool.handshakes("root@10.247.0.12:22")).toBe(1);
    expect(acceptedConnections("h2") - before).toBe(1);
  });

  it("queues channels: 50 concurrent commands on one host succeed over one connection despite MaxSessions 10", async () => {
    const pool = newPool();
    const h3 = connection("h3");
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.run(h3, ["sh", "-c", 'sleep 0.2; echo "$1"', "sh", String(i)])));
    expect(results.map((r) => r.trim())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(pool.handshakes("root@10.247.0.13:22")).toBe(1);
  });

  it("refuses a host whose key does not match the pin, naming the expected key", async () => {
    const expected = host("h2").hostPublicKey;
    const wrongPin = connection("h1", { hostKey: expected });
    const error = await newPool()
      .run(wrongPin, ["true"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(String(error)).toContain(expected);
    expect(String(error)).toMatch(/presented SHA256:/);
    expect((error as HostKeyMismatchError).cause.kind).toBe("host-key");
  });

  it("accepts a SHA256 fingerprint pin", async () => {
    const { stdout } = await execa("ssh-keygen", ["-lf", "-"], { input: host("h1").hostPublicKey });
    const fingerprintPin = stdout.split(" ")[1]!;
    expect(await newPool().run(connection("h1", { hostKey: fingerprintPin }), ["echo", "ok"])).toBe("ok\n");
  });

  it("refuses a client key the host does not know, without leaking the key", async () => {
    const stranger = utils.generateKeyPairSync("ed25519");
    const error = await newPool()
      .run(connection("h1", { privateKey: stranger.private }), ["true"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectError);
    expect(String(error)).toMatch(/authentication failed/);
    expect((error as SshConnectError).cause).toMatchObject({ kind: "auth", user: "root" });
    expect((error as SshConnectError).retryable).toBe(false);
    const body = stranger.private.split("\n").slice(1, -2).join("");
    expect(JSON.stringify(error) + String(error) + (error as Error).stack).not.toContain(body.slice(0, 40));
  });

  it("reports a host that is down within the connect timeout", async () => {
    const down = connection("h1", { host: "10.247.0.99", connectTimeoutMs: 1500, retries: 1, retryBackoffMs: 100 });
    const started = Date.now();
    const error = await newPool()
      .run(down, ["true"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectError);
    expect(String(error)).toMatch(/cannot connect to root@10\.247\.0\.99:22/);
    // two attempts of 1.5 s plus backoff, with slack for a loaded machine
    expect(Date.now() - started).toBeLessThan(2 * 1500 + 100 + 3000);
  });

  it("reconnects after the server side of the session is killed, and reports the command that was cut off", async () => {
    const pool = newPool();
    const h3 = connection("h3");
    await pool.run(h3, ["true"]);
    const running = pool.run(h3, ["sleep", "5"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sessions = await sessionProcesses("h3");
    expect(sessions.length).toBeGreaterThan(0);
    for (const pid of sessions) process.kill(pid, "SIGKILL");
    const cut = await running.catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(RemoteCommandError);
    expect(String(cut)).toMatch(/lost its connection|could not start/);
    expect(await pool.run(h3, ["echo", "back"])).toBe("back\n");
    expect(pool.handshakes("root@10.247.0.13:22")).toBe(2);
  });

  it("returns stdout, stderr and exit code, and throws a typed error carrying host, command and stderr", async () => {
    const pool = newPool();
    const h1 = connection("h1");
    expect(await pool.exec(h1, ["sh", "-c", "echo out; echo err >&2; exit 3"])).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
    const error = (await pool.run(h1, ["ip", "link", "show", "dev", "no-such-dev0"]).catch((e: unknown) => e)) as RemoteCommandError;
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect(error.endpoint).toBe("root@10.247.0.11:22");
    expect(error.command).toBe("ip link show dev no-such-dev0");
    expect(error.stderr).toMatch(/does not exist/);
    expect(error.exitCode).not.toBe(0);
  });

  it("feeds stdin and enforces the command timeout", async () => {
    const pool = newPool();
    const h1 = connection("h1");
    expect(await pool.run(h1, ["cat"], { stdin: "piped\n" })).toBe("piped\n");
    await expect(pool.run(h1, ["sleep", "10"], { timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms/);
  });
});

describe("scrubSecrets", () => {
  it("removes whole secrets and each long line of a multi-line key", () => {
    const key = "-----BEGIN KEY-----\nAAAABBBBCCCCDDDDEEEE\nFFFFGGGGHHHHIIIIJJJJ\n-----END KEY-----";
    expect(scrubSecrets(`bad key ${key}`, [key])).toBe("bad key [secret]");
    expect(scrubSecrets("line FFFFGGGGHHHHIIIIJJJJ leaked", [key])).toBe("line [secret] leaked");
    expect(scrubSecrets("password hunter22 in output", ["hunter22"])).toBe("password [secret] in output");
  });
});

function connectionArgsWithoutJump(name: string) {
  const lab = host(name);
  return { host: lab.address, port: lab.port, user: lab.username, privateKey: readFileSync(lab.privateKeyPath, "utf8"), hostKey: lab.hostPublicKey };
}
