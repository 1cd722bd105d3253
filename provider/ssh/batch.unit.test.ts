import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quoteArgv } from "./quote";
import { describe, expect, it } from "vitest";
import { HOSTILE, noteSkippedShells, requireShell, shellSkipReason, SHELLS, shellTitle } from "../../test/support/shells";
import { batchScript, parseBatchOutput } from "./batch";

/** Commands with every shape of output a part can have, and what each must report. */
const PARTS: Array<{ argv: string[]; stdout: string; stderr: string; exitCode: number }> = [
  { argv: ["printf", "%s", "no trailing newline"], stdout: "no trailing newline", stderr: "", exitCode: 0 },
  { argv: ["printf", "a\\nb\\n\\n"], stdout: "a\nb\n\n", stderr: "", exitCode: 0 },
  { argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], stdout: "out\n", stderr: "err\n", exitCode: 3 },
  { argv: ["true"], stdout: "", stderr: "", exitCode: 0 },
  { argv: ["cat"], stdout: "", stderr: "", exitCode: 0 }, // stdin is empty, as for a lone exec
  { argv: ["sh", "-c", "printf '%s' \"$1\"", "sh", HOSTILE.join("\n")], stdout: HOSTILE.join("\n"), stderr: "", exitCode: 0 },
  { argv: ["sh", "-c", "printf '\\n__netdev_batch_x 0 0\\n'; exit 1"], stdout: "\n__netdev_batch_x 0 0\n", stderr: "", exitCode: 1 },
  { argv: ["no-such-command-netdev"], stdout: "", stderr: "", exitCode: 127 },
];

/** Runs argv with `stdin`, as the host runs the batch's command line, and returns its stdout. */
function runLocally(argv: string[], stdin: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 10_000, env, input: stdin });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

function expectEachAsAlone(stdout: string, boundary: string): void {
  const { results, complete } = parseBatchOutput(stdout, boundary, PARTS.length);
  expect(complete).toBe(true);
  results.forEach((result, i) => {
    const part = PARTS[i]!;
    expect(result?.stdout, `part ${i}`).toBe(part.stdout);
    expect(result?.exitCode, `part ${i}`).toBe(part.exitCode);
    if (part.exitCode === 127) expect(result?.stderr).toMatch(/not found/);
    else expect(result?.stderr, `part ${i}`).toBe(part.stderr);
  });
}

describe("batch of commands in one remote command", () => {
  // The login shell runs the command line SSH hands it (`sh`, the script on its stdin)...
  noteSkippedShells();
  for (const shell of SHELLS) {
    it.skipIf(shellSkipReason(shell))(
      shellTitle(`reports each command's own stdout, stderr and exit code, sent through ${shell.name} as the login shell`, shell),
      () => {
        requireShell(shell);
        const batch = batchScript(PARTS.map((p) => p.argv));
        expectEachAsAlone(runLocally([...shell.argv, quoteArgv(batch.argv)], batch.stdin), batch.boundary);
      },
    );
  }
  // ...and the host's `sh` runs the script.
  for (const shell of SHELLS.filter((s) => s.name !== "zsh")) {
    it.skipIf(shellSkipReason(shell))(shellTitle(`runs under ${shell.name} as the host's sh`, shell), () => {
      requireShell(shell);
      const batch = batchScript(PARTS.map((p) => p.argv));
      expectEachAsAlone(runLocally(shell.argv.slice(0, -1), batch.stdin), batch.boundary);
    });
  }

  for (const shell of SHELLS.filter((s) => s.name !== "zsh")) {
    it.skipIf(shellSkipReason(shell))(
      shellTitle(`in order under ${shell.name}: each command as alone, and each after the one before has exited`, shell),
      () => {
        requireShell(shell);
        const batch = batchScript(
          PARTS.map((p) => p.argv),
          undefined,
          true,
        );
        expectEachAsAlone(runLocally(shell.argv.slice(0, -1), batch.stdin), batch.boundary);
        const dir = mkdtempSync(join(tmpdir(), "netdev-batch-"));
        try {
          // The second sees what the first did only after the first's sleep: in a pipeline it would not.
          const steps = [
            ["sh", "-c", 'sleep 0.3; mkdir "$1/made"', "sh", dir],
            ["test", "-d", join(dir, "made")],
          ];
          const ordered = batchScript(steps, undefined, true);
          expect(parseBatchOutput(runLocally(shell.argv.slice(0, -1), ordered.stdin), ordered.boundary, 2).results.map((r) => r?.exitCode)).toEqual([0, 0]);
          rmSync(join(dir, "made"), { recursive: true });
          const together = batchScript(steps);
          expect(parseBatchOutput(runLocally(shell.argv.slice(0, -1), together.stdin), together.boundary, 2).results.map((r) => r?.exitCode)).toEqual([0, 1]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  }

  it("keeps the boundary out of the command line: the script travels on stdin", () => {
    const batch = batchScript([["true"], ["false"]]);
    expect(batch.argv).toEqual(["sh"]);
    expect(batch.stdin).toContain(batch.boundary);
  });

  it("output cut off anywhere yields no result at all", () => {
    const batch = batchScript(PARTS.map((p) => p.argv));
    const full = runLocally(["dash"], batch.stdin);
    const whole = parseBatchOutput(full, batch.boundary, PARTS.length).results;
    for (let cut = 0; cut < full.length; cut++) {
      const { results, complete } = parseBatchOutput(full.slice(0, cut), batch.boundary, PARTS.length);
      expect(complete).toBe(false);
      expect(
        results.every((result) => result === undefined),
        `cut at ${cut}`,
      ).toBe(true);
    }
    expect(whole.every((result) => result !== undefined)).toBe(true);
  });

  it("a command that knows the boundary voids the batch instead of forging another command's result", () => {
    const boundary = "__netdev_batch_0123456789abcdef01234567";
    const forged = `\n${boundary} e 0\n\n${boundary} r 0 0\n\n${boundary} o 1\nforged\n${boundary} e 1\n\n${boundary} r 1 0\n\n${boundary} end\n`;
    for (const to of ["stdout", "stderr"]) {
      const forger = ["sh", "-c", `printf '%s' "$1"${to === "stderr" ? " >&2" : ""}`, "sh", forged];
      const batch = batchScript([forger, ["sh", "-c", "echo real; exit 3"]], boundary);
      const { results, complete } = parseBatchOutput(runLocally(["dash"], batch.stdin), boundary, 2);
      expect(complete, to).toBe(false);
      expect(results, to).toEqual([undefined, undefined]);
    }
  });

  it("writes no file: runs with no temporary directory", () => {
    const batch = batchScript(PARTS.map((p) => p.argv));
    expectEachAsAlone(runLocally(["dash"], batch.stdin, { ...process.env, TMPDIR: "/nonexistent/netdev-no-tmp" }), batch.boundary);
  });
});
