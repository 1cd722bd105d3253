import { afterAll, describe, expect, it } from "vitest";
import { withSecretsScrubbed, type AnyEngine } from "../engine/provider-boundary";
import { FakeSshServer } from "../../test/support/fake-ssh-server";
import { privatePools } from "../../test/support/pools";
import { parseConnection, secretsOf } from "./connection";
import { RemoteCommandError } from "./errors";
import { parseRemoteJson, scrubSecrets, scrubStdout, STDOUT_SCRUB_MIN_LENGTH } from "./scrub";

const newPool = privatePools();
const servers: FakeSshServer[] = [];
afterAll(() => servers.forEach((s) => s.stop()));
const hostKey = `SHA256:${"A".repeat(43)}`;

describe("scrubbing secrets", () => {
  it("removes secrets of any length, longest first, in one pass", () => {
    expect(scrubSecrets("user x logged in", ["x"])).toBe("user [secret] logged in");
    expect(scrubSecrets("pin 123 and 123", ["123"])).toBe("pin [secret] and [secret]");
    // "c" and "e" occur in "[secret]" and in the longer secret: neither may split anything.
    expect(scrubSecrets("key hunter2ce here", ["c", "hunter2ce", "e"])).toBe("k[secret]y [secret] h[secret]r[secret]");
    expect(scrubSecrets("a.b* and a.b*", ["a.b*"])).toBe("[secret] and [secret]");
    expect(scrubSecrets("nothing here", [""])).toBe("nothing here");
  });

  it("keeps every secret of a connection and its jump hosts, however short", () => {
    const connection = parseConnection({ host: "h", password: "ab", hostKey, jumpHost: { host: "j", password: "c", hostKey } });
    expect(secretsOf(connection)).toEqual(["ab", "c"]);
  });

  it("scrubs stdout only of secrets long enough not to be a coincidence", () => {
    expect(STDOUT_SCRUB_MIN_LENGTH).toBe(8);
    expect(scrubStdout('[{"ifname":"eth0","mtu":1500}]', ["1"])).toBe('[{"ifname":"eth0","mtu":1500}]');
    expect(scrubStdout("alias correct-horse", ["correct-horse"])).toBe("alias [secret]");
  });

  it("reports remote JSON that does not parse without quoting it", () => {
    expect(() => parseRemoteJson("oops s3cret-pass", "ip -json link show")).toThrow(/ip -json link show printed 16 bytes that are not valid JSON/);
    expect(() => parseRemoteJson("oops s3cret-pass", "ip -json link show")).not.toThrow(/s3cret/);
    expect(parseRemoteJson("", "x")).toEqual([]);
  });

  it("the transport scrubs stderr of every secret and stdout of long ones", async () => {
    const longPassword = "correct-horse-battery";
    const server = await new FakeSshServer("OpenSSH_9.2p1", { stderr: `auth with ${longPassword} and q\n` }).start();
    servers.push(server);
    const pool = newPool();
    const long = parseConnection({ host: "127.0.0.1", port: server.port, password: longPassword, hostKey: server.hostKey.public });
    const result = await pool.exec(long, ["echo", longPassword]);
    expect(result.stdout).toBe("echo [secret]\n");
    expect(result.stderr).toBe("auth with [secret] and q\n");
    const short = parseConnection({ host: "127.0.0.1", port: server.port, password: "q", hostKey: server.hostKey.public });
    const shortResult = await pool.exec(short, ["echo", "q"]);
    expect(shortResult.stdout).toBe("echo q\n");
    expect(shortResult.stderr).not.toMatch(/ q\n/);
  });

  it("a command batched with others is scrubbed as it would be alone: stderr of every secret, stdout of long ones", async () => {
    const server = await new FakeSshServer("OpenSSH_9.2p1", { exec: "shell" }).start();
    servers.push(server);
    // A short password (under STDOUT_SCRUB_MIN_LENGTH) and a long key: a batch carries each command's stderr inside its stdout.
    const connection = server.connection({ password: "q7" });
    const key = connection.privateKey!.split("\n")[1]!;
    const argv = (i: number) => ["sh", "-c", `echo "out q7 ${key} ${i}"; echo "denied for q7 ${key} ${i}" >&2; exit ${i}`];
    const alone = await newPool().exec(connection, argv(1));
    expect(alone).toEqual({ stdout: "out q7 [secret] 1\n", stderr: "denied for [secret] [secret] 1\n", exitCode: 1 });
    const pool = newPool({ coalesceWindowMs: 20 });
    const batched = await Promise.all([1, 2, 3].map((i) => pool.exec(connection, argv(i))));
    expect(pool.execsSent).toBe(1);
    expect(batched).toEqual([1, 2, 3].map((i) => ({ stdout: `out q7 [secret] ${i}\n`, stderr: `denied for [secret] [secret] ${i}\n`, exitCode: i })));
  });

  it("the provider boundary scrubs whatever an engine throws or reports, keeping the error object", async () => {
    const connection = { host: "h", password: "pw1", hostKey, jumpHost: { host: "j", privateKey: "KEY-MATERIAL", hostKey } };
    const partial = Object.assign(new RemoteCommandError("root@h:22", "ip link add", 2, "bad pw1"), { id: "partial-id" });
    const stub: AnyEngine = {
      check: () => ({ inputs: {}, failures: [{ property: "connection", reason: "password pw1 rejected" }] }),
      diff: () => {
        throw new Error("diff saw KEY-MATERIAL");
      },
      create: async () => {
        throw partial;
      },
      read: async () => {
        throw new Error("read saw pw1");
      },
      update: async () => ({ outs: {} }),
      delete: async () => undefined,
    };
    const engine = withSecretsScrubbed(stub);
    expect(engine.check({ connection }).failures[0]!.reason).toBe("password [secret] rejected");
    expect(() => engine.diff({ connection }, { connection })).toThrow("diff saw [secret]");
    const created = await engine.create({ connection }).catch((e: unknown) => e);
    expect(created).toBe(partial);
    expect((created as Error).message).not.toMatch(/pw1/);
    expect((created as RemoteCommandError).stderr).toBe("bad [secret]");
    expect((created as { id: string }).id).toBe("partial-id");
    await expect(engine.read("id", { connection })).rejects.toThrow("read saw [secret]");
  });
});
