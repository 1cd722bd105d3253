import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ChannelOutcome } from "./channel";
import { parseConnection } from "./connection";
import { remoteCommand, SudoError, sudoAdvice, sudoProblem } from "./sudo";

const base = { host: "192.0.2.11", user: "admin", privateKey: "KEY", hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
const plain = parseConnection(base);
const nopasswd = parseConnection({ ...base, sudo: true });
const withPassword = parseConnection({ ...base, sudo: true, sudoPassword: "hunter2 is long" });

/** The command line as sh would split it: what sudo would be started with. */
function words(command: string): string[] {
  const result = spawnSync("sh", ["-c", `for w in ${command}; do printf '%s\\0' "$w"; done`], { encoding: "utf8" });
  return result.stdout.split("\0").slice(0, -1);
}

/**
 * Runs what sudo would run (everything after `--`) with this machine's sh, its stdin as sudo
 * leaves it: without the password line when sudo read it, whole when sudo did not ask.
 */
function runAfterSudo(command: string, stdin: string, sudoReadsPassword: boolean) {
  const argv = words(command);
  const after = argv.slice(argv.indexOf("--") + 1);
  const input = sudoReadsPassword ? stdin.slice(stdin.indexOf("\n") + 1) : stdin;
  return spawnSync(after[0]!, after.slice(1), { input, encoding: "utf8" });
}

const exit = (stderr: string, exitCode = 1, stdout = ""): ChannelOutcome => ({ kind: "exit", stdout, stderr, exitCode });

describe("remoteCommand", () => {
  it("sends a plain login's argv as it is", () => {
    const remote = remoteCommand(plain, ["ip", "link", "show"], "in");
    expect(remote.command).toBe("ip link show");
    expect(remote.stdin).toBe("in");
    const outcome = exit("oops", 1);
    expect(remote.outcome(outcome)).toBe(outcome);
  });

  it("runs the argv through one non-interactive sudo, stdin untouched, without a password", () => {
    const remote = remoteCommand(nopasswd, ["ip", "link", "show", "dev", "x y"], "data\n");
    const argv = words(remote.command);
    expect(argv.slice(0, 3)).toEqual(["sudo", "-n", "--"]);
    expect(argv.slice(-5)).toEqual(["ip", "link", "show", "dev", "x y"]);
    expect(remote.stdin).toBe("data\n");
  });

  it("puts the password on stdin only, and the command still gets exactly its own stdin", () => {
    for (const stdin of [undefined, "", "line one\nline two\n", "no newline at the end"]) {
      const remote = remoteCommand(withPassword, ["cat"], stdin);
      expect(remote.command).not.toContain("hunter2");
      expect(remote.stdin!.startsWith("hunter2 is long\n")).toBe(true);
      expect(words(remote.command).slice(0, 5)).toEqual(["sudo", "-S", "-p", "", "--"]);
      // sudo reads the password line when the rule asks for one, and leaves it when NOPASSWD.
      for (const sudoReadsPassword of [true, false]) {
        const ran = runAfterSudo(remote.command, remote.stdin!, sudoReadsPassword);
        expect(ran.status).toBe(0);
        expect(ran.stdout).toBe(stdin ?? "");
        expect(remote.outcome(exit(ran.stderr, 0, ran.stdout))).toEqual(exit("", 0, stdin ?? ""));
      }
    }
  });

  it("leaves enough empty lines that sudo's retries of a wrong password never reach the command's stdin", () => {
    const remote = remoteCommand(withPassword, ["sh"], "secret script\n");
    const lines = remote.stdin!.split("\n");
    // passwd_tries is 3 by default: the password and the next two lines are all sudo reads.
    expect(lines.slice(1, 10)).toEqual(Array(9).fill(""));
  });

  it("hands back the command's own stderr and exit code, sudo's lecture dropped", () => {
    const remote = remoteCommand(nopasswd, ["false"], undefined);
    const ran = runAfterSudo(remote.command, "", false);
    expect(ran.status).toBe(1);
    const lecture = "We trust you have received the usual lecture from the local System Administrator.\n";
    expect(remote.outcome(exit(`${lecture}${ran.stderr}Error: boom\n`, 1))).toEqual(exit("Error: boom\n", 1));
    expect(remote.outcome({ kind: "timeout", stdout: "", stderr: ran.stderr })).toEqual({ kind: "timeout", stdout: "", stderr: "" });
  });

  it("turns a sudo that never ran the command into a SudoError naming the host and the fix, never an exit code", () => {
    const remote = remoteCommand(nopasswd, ["ip", "link", "show", "dev", "br0"], undefined);
    const error = (() => {
      try {
        remote.outcome(exit("sudo: a password is required\n", 1));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(SudoError);
    expect((error as SudoError).problem).toBe("no-password");
    expect((error as SudoError).message).toContain("admin@192.0.2.11:22");
    expect((error as SudoError).message).toContain("sudoPassword");
    expect((error as SudoError).message).toContain("`ip link show dev br0`");
  });

  it("scrubs the password from what sudo said", () => {
    const remote = remoteCommand(withPassword, ["true"], undefined);
    expect(() => remote.outcome(exit("sudo: hunter2 is long: odd\n", 1))).toThrow(/\[secret\]/);
    expect(() => remote.outcome(exit("sudo: hunter2 is long: odd\n", 1))).not.toThrow(/hunter2/);
  });
});

describe("sudoProblem", () => {
  // sudo 1.9's own words (Debian bookworm), as the lab's users get them.
  it.each([
    ["sudo: a password is required\n", 1, "no-password"],
    [
      "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\n",
      1,
      "no-password",
    ],
    ["Sorry, try again.\nSorry, try again.\nsudo: 3 incorrect password attempts\n", 1, "wrong-password"],
    ["ndlabnosudo is not in the sudoers file.\n", 1, "not-allowed"],
    ["Sorry, user ndlabnosudo is not allowed to execute '/usr/bin/sh -c true' as root on h3.\n", 1, "not-allowed"],
    ["sudo: sorry, you must have a tty to run sudo\n", 1, "requiretty"],
    ["sh: 1: sudo: not found\n", 127, "not-installed"],
    ["bash: line 1: sudo: command not found\n", 127, "not-installed"],
    ["sudo: unable to resolve host\n", 1, "failed"],
  ] as const)("%j → %s", (stderr, exitCode, problem) => {
    expect(sudoProblem(stderr, exitCode)).toBe(problem);
  });

  it("advises a fix for each, naming the host and user", () => {
    for (const problem of ["no-password", "wrong-password", "not-allowed", "requiretty", "not-installed", "failed"] as const) {
      const advice = sudoAdvice(problem, { user: "admin", host: "192.0.2.11" }, "sudo: words\n");
      expect(advice, problem).toContain("192.0.2.11");
      expect(advice, problem).toContain("sudo said: sudo: words");
    }
    expect(sudoAdvice("requiretty", { user: "admin", host: "h" }, "")).toContain("Defaults:admin !requiretty");
    expect(
      sudoAdvice(
        "no-password",
        { user: "admin", host: "h" },
        "Could not chdir to home directory /home/admin: No such file or directory\nsudo: a password is required\n",
      ),
    ).toContain("(sudo said: sudo: a password is required)");
    expect(sudoAdvice("not-installed", { user: "admin", host: "h" }, "")).toContain("apt-get install sudo");
    expect(sudoAdvice("not-allowed", { user: "admin", host: "h" }, "")).toContain("admin ALL=(root) NOPASSWD: ALL");
  });
});

describe("the sudo fields of a connection", () => {
  it("refuse a sudoPassword without sudo, and a password of more than one line", () => {
    expect(() => parseConnection({ ...base, sudoPassword: "pw" })).toThrow(/set sudo: true/);
    expect(() => parseConnection({ ...base, sudo: true, sudoPassword: "a\nb" })).toThrow(/one line/);
  });

  it("keep sudo and plain logins of one user apart in the pool (a batch runs as one of them)", async () => {
    const { poolKey, secretsOf } = await import("./connection");
    expect(new Set([poolKey(plain), poolKey(nopasswd), poolKey(withPassword)]).size).toBe(3);
    expect(secretsOf(withPassword)).toContain("hunter2 is long");
  });
});
