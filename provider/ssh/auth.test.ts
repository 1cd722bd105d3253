import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLabState } from "../../lab/hosts";
import { connection } from "../../test/support/lab-hosts";
import { SshConnectError } from "./errors";
import { SshPool } from "./pool";

/**
 * The other credentials a connection may carry: an encrypted key with its passphrase, and an
 * ssh-agent socket. A second client key is authorized on the lab hosts for the run.
 */
describe("ssh credentials besides a plain private key", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-auth-"));
  const keyPath = path.join(dir, "encrypted_ed25519");
  const passphrase = "correct horse battery staple";
  const authorizedKeys = path.join(path.dirname(readLabState().clientKeyPath), "authorized_keys");
  let originalAuthorized: string;
  let agent: { socket: string; pid: string } | undefined;
  const pool = new SshPool();

  beforeAll(async () => {
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "netdev-auth-test", "-f", keyPath]);
    originalAuthorized = readFileSync(authorizedKeys, "utf8");
    appendFileSync(authorizedKeys, readFileSync(`${keyPath}.pub`, "utf8"));
  });

  afterAll(async () => {
    pool.closeAll();
    writeFileSync(authorizedKeys, originalAuthorized);
    if (agent) await execa("kill", [agent.pid]);
    // The test's encrypted key pair (ssh-agent removes its own socket when killed).
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects with an encrypted private key and its passphrase", async () => {
    const encrypted = readFileSync(keyPath, "utf8");
    expect(encrypted).toContain("OPENSSH PRIVATE KEY");
    expect(await pool.run(connection("h2", { privateKey: encrypted, passphrase }), ["echo", "ok"])).toBe("ok\n");
  });

  it("refuses a wrong passphrase at once, without retrying or leaking the key or passphrase", async () => {
    const encrypted = readFileSync(keyPath, "utf8");
    const wrong = "not the passphrase";
    const error = await new SshPool().run(connection("h2", { privateKey: encrypted, passphrase: wrong, retries: 3 }), ["true"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as SshConnectError).cause.kind).toBe("config");
    expect((error as SshConnectError).retryable).toBe(false);
    const text = `${String(error)} ${(error as Error).stack}`;
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(encrypted.split("\n")[1]!);
  });

  it("authenticates through an ssh-agent socket, with no key in the connection", async () => {
    const { stdout } = await execa("ssh-agent", ["-s"]);
    const socket = /SSH_AUTH_SOCK=([^;]+);/.exec(stdout)![1]!;
    const pid = /SSH_AGENT_PID=(\d+);/.exec(stdout)![1]!;
    agent = { socket, pid };
    await execa("ssh-add", [keyPath], { env: { SSH_AUTH_SOCK: socket, SSH_ASKPASS: "/bin/false", DISPLAY: "" }, input: `${passphrase}\n` }).catch(async () => {
      // ssh-add reads the passphrase from a terminal; give it an unencrypted copy instead.
      const plain = path.join(dir, "plain_ed25519");
      writeFileSync(plain, readFileSync(keyPath, "utf8"), { mode: 0o600 });
      await execa("ssh-keygen", ["-p", "-q", "-P", passphrase, "-N", "", "-f", plain]);
      await execa("ssh-add", [plain], { env: { SSH_AUTH_SOCK: socket } });
    });
    const viaAgent = connection("h3", { privateKey: undefined, agentSocket: socket });
    expect(viaAgent.privateKey).toBeUndefined();
    expect(await pool.run(viaAgent, ["echo", "agent"])).toBe("agent\n");
  });
});
