import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { HOSTILE, noteSkippedShells, SHELLS, shellSkipReason, shellTitle } from "../../test/support/shells";
import { batchScript, parseBatchOutput } from "./batch";
import { RootShell, type ShellStream } from "./root-shell";
import { shellRequest } from "./root-shell-protocol";

// The root shell's framing, fed to a local shell as sudo would start it on the host (`sh`
// reading commands on stdin), without SSH: each shell a host's /bin/sh may be.
const POSIX_SHELLS = SHELLS.filter((shell) => shell.name !== "zsh");
const far = () => Date.now() + 20_000;
const CAP = 1024 * 1024;

const shells: RootShell[] = [];
afterEach(() => {
  for (const shell of shells.splice(0)) shell.close();
});

/** A local shell reading requests on stdin, as the stream a RootShell runs on. */
function localShell(shell: (typeof SHELLS)[number]): RootShell & { pid: number } {
  const [program, ...flags] = shell.argv.filter((arg) => arg !== "-c");
  const child = spawn(program!, flags, { stdio: ["pipe", "pipe", "pipe"] });
  const stream: ShellStream = {
    write: (text) => void child.stdin.write(text),
    onStdout: (listener) => void child.stdout.on("data", listener),
    onStderr: (listener) => void child.stderr.on("data", listener),
    onClose: (listener) => void child.once("close", listener),
    close: () => void child.kill("SIGKILL"),
  };
  const root = new RootShell(stream);
  shells.push(root);
  return Object.assign(root, { pid: child.pid! });
}

describe("root shell framing", () => {
  noteSkippedShells();

  for (const shell of POSIX_SHELLS) {
    describe.skipIf(shellSkipReason(shell) !== undefined)(shellTitle(shell.name, shell), () => {
      it("reports each command's stdout, stderr and exit status exactly, one after another in one shell", async () => {
        const root = localShell(shell);
        const cases: Array<{ argv: string[]; stdin?: string; stdout: string; stderr: string; exitCode: number }> = [
          { argv: ["printf", "%s", "no trailing newline"], stdout: "no trailing newline", stderr: "", exitCode: 0 },
          { argv: ["printf", "a\\nb\\n\\n"], stdout: "a\nb\n\n", stderr: "", exitCode: 0 },
          { argv: ["sh", "-c", "echo out; printf err >&2; exit 3"], stdout: "out\n", stderr: "err", exitCode: 3 },
          { argv: ["cat"], stdout: "", stderr: "", exitCode: 0 }, // no stdin: end of file, not the next request
          { argv: ["cat"], stdin: "line\n\n", stdout: "line\n\n", stderr: "", exitCode: 0 },
          { argv: ["cat"], stdin: "no newline at the end", stdout: "no newline at the end", stderr: "", exitCode: 0 },
          { argv: ["cat"], stdin: "", stdout: "", stderr: "", exitCode: 0 },
          { argv: ["cat"], stdin: ".\n..", stdout: ".\n..", stderr: "", exitCode: 0 },
          { argv: ["sh", "-c", 'printf "%s" "$1"', "sh", HOSTILE.join("\n")], stdout: HOSTILE.join("\n"), stderr: "", exitCode: 0 },
          { argv: ["cat"], stdin: HOSTILE.join("\n"), stdout: HOSTILE.join("\n"), stderr: "", exitCode: 0 },
          { argv: ["exit", "7"], stdout: "", stderr: "", exitCode: 7 },
          { argv: ["cd", "/nonexistent-netdev"], stdout: "", stderr: expect.stringMatching(/nonexistent-netdev/), exitCode: expect.any(Number) },
          { argv: ["sh", "-c", "echo still here"], stdout: "still here\n", stderr: "", exitCode: 0 },
        ];
        for (const c of cases) {
          const outcome = await root.run(c.argv, c.stdin, far(), CAP);
          expect(outcome, JSON.stringify(c.argv)).toEqual({ kind: "exit", stdout: c.stdout, stderr: c.stderr, exitCode: c.exitCode });
        }
        expect(root.open).toBe(true);
      });

      it("gives a command exactly its stdin even when a line of it is the here-document's end word", async () => {
        const root = localShell(shell);
        const boundary = "__netdev_done_fixed";
        const stdin = `a\n${boundary}_in\nb\n`;
        // The request picks another end word for this stdin, so the text stays inert.
        expect(shellRequest(["cat"], stdin, boundary).text).not.toMatch(new RegExp(`<<'${boundary}_in'`));
        expect(await root.run(["cat"], stdin, far(), CAP)).toEqual({ kind: "exit", stdout: stdin, stderr: "", exitCode: 0 });
      });

      it("runs a batch script on stdin as a lone exec of it would", async () => {
        const root = localShell(shell);
        const script = batchScript([
          ["echo", "one"],
          ["sh", "-c", "echo two >&2; exit 2"],
        ]);
        const outcome = await root.run(script.argv, script.stdin, far(), CAP);
        if (outcome.kind !== "exit") throw new Error(`batch: ${outcome.kind}`);
        expect(parseBatchOutput(outcome.stdout, script.boundary, 2).results).toEqual([
          { stdout: "one\n", stderr: "", exitCode: 0 },
          { stdout: "", stderr: "two\n", exitCode: 2 },
        ]);
      });

      it("says 'timeout' with the output so far when the deadline passes", async () => {
        const root = localShell(shell);
        const outcome = await root.run(["sh", "-c", "echo started; exec sleep 30"], undefined, Date.now() + 300, CAP);
        expect(outcome).toEqual({ kind: "timeout", stdout: "started\n", stderr: "" });
      });

      it("says 'lost' with the output so far when the shell ends during a command, and runs nothing after", async () => {
        const root = localShell(shell);
        // The command kills the shell it runs in, after letting go of the shell's stdout and stderr.
        const kill = 'echo partial; exec >/dev/null 2>&1; kill -9 "$1"; sleep 30';
        const running = root.run(["sh", "-c", kill, "sh", String(root.pid)], undefined, far(), CAP);
        expect(await running).toEqual({ kind: "lost", stdout: "partial\n", stderr: "" });
        expect(root.open).toBe(false);
        expect(await root.run(["true"], undefined, far(), CAP)).toEqual({ kind: "lost", stdout: "", stderr: "" });
      });

      it("closes the shell when a command prints more than the cap", async () => {
        const root = localShell(shell);
        const outcome = await root.run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done"], undefined, far(), 4096);
        expect(outcome).toEqual({ kind: "overflow" });
        expect(root.open).toBe(false);
      });

      it("runs one command at a time", async () => {
        const root = localShell(shell);
        const first = root.run(["true"], undefined, far(), CAP);
        expect(() => root.run(["true"], undefined, far(), CAP)).toThrow(/one command at a time/);
        expect((await first).kind).toBe("exit");
      });
    });
  }

  it("refuses a NUL byte in stdin rather than pass something else on", () => {
    expect(() => shellRequest(["cat"], "a\0b")).toThrow(/NUL/);
  });

  it("puts the boundary only in the request text, never in argv", () => {
    const request = shellRequest(["ip", "link", "show"], undefined);
    expect(request.boundary).toMatch(/^__netdev_done_[0-9a-f]{24}$/);
    expect(request.text).toContain(`( ip link show ) </dev/null;`);
  });
});
