import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
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

/** Runs `argv[0] argv[1..] script`, as `sh -c script` runs on the host, and returns its stdout. */
function runLocally(interpreter: string[], script: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(interpreter[0]!, [...interpreter.slice(1), script], { encoding: "utf8", timeout: 10_000, env });
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
  // The login shell parses the command line SSH hands it (`sh -c '<script>'`)...
  noteSkippedShells();
  for (const shell of SHELLS) {
    it.skipIf(shellSkipReason(shell))(shellTitle(`reports each command's own stdout, stderr and exit code, sent through ${shell.name} as the login shell`, shell), () => {
      requireShell(shell);
      const batch = batchScript(PARTS.map((p) => p.argv));
      expectEachAsAlone(runLocally(shell.argv, quoteArgv(batch.argv)), batch.boundary);
    });
  }
  // ...and the host's `sh` runs the script.
  for (const shell of SHELLS.filter((s) => s.name !== "zsh")) {
    it.skipIf(shellSkipReason(shell))(shellTitle(`runs under ${shell.name} as the host's sh`, shell), () => {
      requireShell(shell);
      const batch = batchScript(PARTS.map((p) => p.argv));
      expectEachAsAlone(runLocally(shell.argv, batch.argv[2]!), batch.boundary);
    });
  }

  it("output cut off anywhere never yields a wrong result: each part is whole or missing", () => {
    const batch = batchScript(PARTS.map((p) => p.argv));
    const full = runLocally(["dash", "-c"], batch.argv[2]!);
    const whole = parseBatchOutput(full, batch.boundary, PARTS.length).results;
    for (let cut = 0; cut < full.length; cut++) {
      const { results, complete } = parseBatchOutput(full.slice(0, cut), batch.boundary, PARTS.length);
      expect(complete).toBe(false);
      results.forEach((result, i) => {
        if (result !== undefined) expect(result, `cut at ${cut}, part ${i}`).toEqual(whole[i]);
      });
    }
  });

  it("leaves no temporary directory behind", () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "netdev-batch-"));
    try {
      const batch = batchScript([["true"], ["false"]]);
      runLocally(["dash", "-c"], batch.argv[2]!, { ...process.env, TMPDIR: tmp });
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
