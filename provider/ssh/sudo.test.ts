import { afterAll, describe, expect, it } from "vitest";
import { connection, connectionInput, labState } from "../../test/support/lab-hosts";
import { hostLink, runLifecycle } from "../../test/support/lifecycle";
import { type SudoLogin, sudoLogin } from "../../test/support/sudo-login";
import { type ConnectionInput, parseConnection } from "./connection";
import { RemoteCommandError, SshConnectError } from "./errors";
import { SshPool } from "./pool";
import { SudoError } from "./sudo";

/**
 * Logging in as a user who is not root, on the lab's netns hosts: real sshd refusing root on
 * the port used here, real Debian sudo, real sudoers rules (lab/sudo-users.ts). Every kind's
 * lifecycle through a sudo user runs from scripts/test.sh (NETDEV_TEST_LOGIN); this file holds
 * what only sudo has: its errors, its stdin, its batches, a jump host.
 */
const pool = new SshPool({ coalesceWindowMs: 5 });
afterAll(() => pool.closeAll());

function as(hostName: string, login: SudoLogin, overrides: Partial<ConnectionInput> = {}) {
  const state = labState();
  const target = state.hosts.find((h) => h.name === hostName)!;
  return parseConnection(connectionInput(hostName, { ...sudoLogin(state, target, login), ...overrides }));
}

async function refusal(promise: Promise<unknown>): Promise<SudoError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SudoError);
  return error as SudoError;
}

describe("a lab host that refuses root", () => {
  it("refuses root on that port, and lets the sudo users in", async () => {
    const root = connection("h2", { port: labState().sudo!.rootRefusedPort });
    await expect(pool.run(root, ["true"])).rejects.toBeInstanceOf(SshConnectError);
    // The user itself is not root: only sudo makes it so.
    expect(await pool.run(as("h2", "nopasswd", { sudo: false }), ["id", "-u"])).not.toBe("0\n");
  });
});

describe("commands through sudo", () => {
  for (const login of ["nopasswd", "password"] as const) {
    it(`run as root for the ${login} user, with the command's own stdin, stderr and exit code`, async () => {
      const target = as("h2", login);
      expect(await pool.run(target, ["id", "-u"])).toBe("0\n");
      // How a WireGuard key reaches `wg`: on stdin, read through /proc/self/fd/0; the password never.
      expect(await pool.run(target, ["cat", "/proc/self/fd/0"], { stdin: "a key\nsecond line\n" })).toBe("a key\nsecond line\n");
      expect(await pool.run(target, ["cat"])).toBe("");
      const failed = await pool.exec(target, ["ip", "link", "show", "dev", "ndsudo-none"]);
      expect(failed.exitCode).not.toBe(0);
      expect(failed.stderr).toMatch(/^Device "ndsudo-none" does not exist\.\n$/);
    });
  }

  it("runs a batch of commands as one exec: one sudo for all of them", async () => {
    const target = as("h2", "password");
    const before = pool.execsSent;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run(target, ["sh", "-c", `id -u; echo ${i}`], { idempotent: true })));
    expect(results).toEqual(Array.from({ length: 8 }, (_, i) => `0\n${i}\n`));
    expect(pool.execsSent - before).toBeLessThan(8);
  });

  it("runs one command after another in the same root shell: one sudo, not one per exec", async () => {
    const target = as("h1", "password");
    const before = pool.execsSent;
    const parents: string[] = [];
    // The command runs in a subshell of the root shell, which execs it: its parent is that shell.
    for (let i = 0; i < 5; i++) parents.push(await pool.run(target, ["sh", "-c", 'echo "$PPID"; id -u']));
    expect(new Set(parents).size).toBe(1);
    expect(parents[0]).toMatch(/^\d+\n0\n$/);
    expect(pool.execsSent - before).toBe(5);
  });

  it("reports a command whose root shell dies as lost, and runs the next one in a new shell", async () => {
    const target = as("h1", "nopasswd");
    const error = await pool.run(target, ["sh", "-c", 'echo going; kill -9 "$PPID"; sleep 5']).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).cause).toEqual({ kind: "lost" });
    expect((error as RemoteCommandError).message).toMatch(/lost its connection before finishing/);
    expect(await pool.run(target, ["id", "-u"])).toBe("0\n");
  });

  it("bounds a command in a root shell by its deadline, then runs the next one on a new connection", async () => {
    const target = as("h1", "nopasswd");
    const error = await pool.run(target, ["sleep", "10"], { timeoutMs: 500 }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as RemoteCommandError).cause).toEqual({ kind: "timeout", timeoutMs: 500, mayHaveRun: true });
    expect(await pool.run(target, ["id", "-u"])).toBe("0\n");
  });

  it("reaches a host behind a jump host, both logged in as sudo users", async () => {
    const target = as("j1", "nopasswd", { jumpHost: connectionInput("h1", sudoLogin(labState(), labState().hosts.find((h) => h.name === "h1")!, "nopasswd")) });
    expect(target.jumpHost?.user).toBe(labState().sudo!.users.nopasswd);
    expect(await pool.run(target, ["id", "-u"])).toBe("0\n");
  });

  it("keeps a device's whole lifecycle working through the password user (the rest: NETDEV_TEST_LOGIN)", async () => {
    const previous = process.env.NETDEV_TEST_LOGIN;
    process.env.NETDEV_TEST_LOGIN = "password";
    try {
      await runLifecycle({
        type: "Bridge",
        host: "h3",
        inputs: { name: "ndsudobr0", addresses: ["192.168.79.1/24"] },
        verifyCreated: (link) => expect(link.addr_info.map((a: { local: string }) => a.local)).toContain("192.168.79.1"),
        inPlace: [{ patch: { mtu: 1400 }, verify: (link) => expect(link.mtu).toBe(1400) }],
        replace: { patch: { name: "ndsudobr1" }, verify: (link) => expect(link.linkinfo.info_kind).toBe("bridge") },
        outOfBandCreate: ["ip", "link", "add", "ndsudobr1", "type", "bridge"],
      });
      expect(await hostLink("h3", undefined, "ndsudobr1")).toBeUndefined();
    } finally {
      if (previous === undefined) delete process.env.NETDEV_TEST_LOGIN;
      else process.env.NETDEV_TEST_LOGIN = previous;
    }
  });
});

describe("sudo's refusals, each naming the host and the fix", () => {
  it("a rule that asks for a password, and no sudoPassword", async () => {
    const error = await refusal(pool.run(as("h2", "password", { sudoPassword: undefined }), ["true"]));
    expect(error.problem).toBe("no-password");
    expect(error.message).toContain(labState().hosts.find((h) => h.name === "h2")!.address);
    expect(error.message).toMatch(/set connection\.sudoPassword/i);
  });

  it("a wrong sudoPassword, which never reaches the command", async () => {
    const error = await refusal(pool.run(as("h2", "password", { sudoPassword: "not the password" }), ["sh", "-c", "touch /tmp/ndsudo-ran"], { stdin: "x\n" }));
    expect(error.problem).toBe("wrong-password");
    expect(error.message).not.toContain("not the password");
    expect((await pool.exec(connection("h2"), ["test", "-e", "/tmp/ndsudo-ran"])).exitCode).toBe(1);
  });

  it("a user who may not sudo, with and without a password", async () => {
    const withPassword = await refusal(pool.run(as("h2", "nosudo", { sudoPassword: labState().sudo!.password }), ["true"]));
    expect(withPassword.problem).toBe("not-allowed");
    expect(withPassword.message).toMatch(/may not run commands as root through sudo/);
    expect(withPassword.message).not.toContain(labState().sudo!.password);
    // Without a password sudo does not say which: the message names both fixes.
    const without = await refusal(pool.run(as("h2", "nosudo"), ["true"]));
    expect(without.problem).toBe("no-password");
    expect(without.message).toMatch(/may not use sudo at all/);
  });

  it("sudoers requiring a terminal", async () => {
    const error = await refusal(pool.run(as("h2", "requiretty"), ["true"]));
    expect(error.problem).toBe("requiretty");
    expect(error.message).toContain(`Defaults:${labState().sudo!.users.requiretty} !requiretty`);
  });

  it("a host without sudo (the busybox VM host)", async () => {
    const error = await refusal(pool.run(connection("vm1", { sudo: true }), ["true"]));
    expect(error.problem).toBe("not-installed");
    expect(error.message).toMatch(/sudo is not installed on/);
  });

  it("a refusal inside a batch fails each command with sudo's reason, never as its exit code", async () => {
    const target = as("h2", "password", { sudoPassword: undefined });
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => pool.exec(target, ["ip", "link", "show", "dev", "lo"], { idempotent: true })));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/asks .* for a password and the connection has no sudoPassword/);
    }
  });
});
