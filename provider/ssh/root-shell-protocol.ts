import { randomBytes } from "node:crypto";
import { quoteArgv } from "./quote";

/**
 * The framing of one command sent to a long-lived root shell (see root-shell.ts): what is written
 * to the shell's stdin, and how its reply is recognised on the shell's stdout and stderr.
 *
 * The shell (POSIX sh, reading commands from stdin) runs one request at a time. A request runs the
 * command in a subshell, so nothing it does (`cd`, `exit`, variables) reaches the shell, with
 * stdin from /dev/null, or with its own stdin taken from a here-document that the shell reads
 * before the command starts, so no command can read the requests that follow it. After the
 * command the shell prints, on stdout, a newline, the request's boundary and the exit status,
 * and on stderr a newline and the boundary. The boundary is random per request and travels only
 * on the shell's stdin, never on a command line. The request is built only from argv quoted by
 * quoteArgv, the boundary and fixed shell syntax.
 *
 * A here-document ends with a newline and $(...) strips trailing newlines, so the stdin text is
 * sent with a "." after it, which the shell strips again: the command reads its stdin exactly.
 * A shell variable cannot hold a NUL byte, so a NUL in stdin is refused here.
 */
export interface ShellRequest {
  /** Written to the shell's stdin. */
  text: string;
  /** Ends the command's stdout, with its exit status before the final newline. */
  boundary: string;
}

export function shellRequest(argv: readonly string[], stdin: string | undefined, boundary = newBoundary()): ShellRequest {
  const command = `( ${quoteArgv(argv)} )`;
  const report = `__netdev_r=$?; printf '\\n%s %s\\n' ${boundary} "$__netdev_r"; printf '\\n%s\\n' ${boundary} >&2`;
  if (stdin === undefined) return { text: `${command} </dev/null; ${report}\n`, boundary };
  if (stdin.includes("\0")) throw new Error("the command's stdin contains a NUL byte, which the root shell cannot pass on");
  let end = `${boundary}_in`;
  while (`\n${stdin}.\n`.includes(`\n${end}\n`)) end = `${newBoundary()}_in`;
  const text = [`__netdev_in=$(cat <<'${end}'`, `${stdin}.`, end, `); printf '%s' "\${__netdev_in%.}" | ${command}; ${report}`, ""].join("\n");
  return { text, boundary };
}

function newBoundary(): string {
  return `__netdev_done_${randomBytes(12).toString("hex")}`;
}

/** The reply's end on stdout (`\nBOUNDARY STATUS\n`), as far as it has arrived: the exit status once it has. */
export function stdoutEnd(tail: string, boundary: string): { at: number; exitCode: number } | undefined {
  const match = new RegExp(`\\n${boundary} (\\d{1,3})\\n$`).exec(tail);
  return match ? { at: match.index, exitCode: Number(match[1]) } : undefined;
}

/** Where the reply's end on stderr (`\nBOUNDARY\n`) starts, once it has arrived. */
export function stderrEnd(tail: string, boundary: string): number | undefined {
  const marker = `\n${boundary}\n`;
  return tail.endsWith(marker) ? tail.length - marker.length : undefined;
}
