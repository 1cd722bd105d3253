import { randomBytes } from "node:crypto";
import { quoteArgv } from "./quote";

/**
 * Several commands for one host sent as ONE remote command (one SSH exec, one round trip),
 * each still reported on its own: stdout, stderr and exit code, as if it had run alone.
 *
 * The commands run side by side, each with stdin from /dev/null (as a lone exec whose stdin is
 * closed) and its output in a private temporary directory; once all have finished, their
 * results are printed in order between boundary lines that carry a random token no command can
 * guess. A command that fails
 * does not stop the next one: each belongs to a different resource. The script is built only
 * from argv quoted by quoteArgv and fixed shell syntax, and needs only a POSIX sh with mktemp
 * and cat (dash, bash, busybox).
 */
export interface BatchScript {
  argv: string[];
  boundary: string;
}

export interface BatchPartResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function batchScript(commands: ReadonlyArray<readonly string[]>, boundary = `__netdev_batch_${randomBytes(12).toString("hex")}`): BatchScript {
  // Each command runs in the background (side by side, as separate exec channels would run
  // them: they were in flight together, so none waits for another) and writes its framed
  // stdout and stderr to files; one `cat` prints them all in order once every command is done.
  // Only builtins besides mktemp, rm and that one cat: a process start costs milliseconds.
  const files = commands.flatMap((_, i) => [`"$d/${i}.o"`, `"$d/${i}.e"`]).join(" ");
  const lines = [
    `d=$(mktemp -d) || exit 97`,
    `trap 'rm -rf "$d"' EXIT`,
    ...commands.map((argv, i) =>
      `{ printf '\\n%s o ${i}\\n' ${boundary}; printf '\\n%s e ${i}\\n' ${boundary} >&2; { ${quoteArgv(argv)} ; } </dev/null; r=$?; printf '\\n%s r ${i} %s\\n' ${boundary} "$r"; } >"$d/${i}.o" 2>"$d/${i}.e" &`),
    `wait`,
    `cat ${files}`,
    `printf '\\n%s end\\n' ${boundary}`,
  ];
  return { argv: ["sh", "-c", lines.join("\n")], boundary };
}

/**
 * Each command's result from the batch's stdout, in order; `undefined` for a command whose
 * result never arrived whole (the batch was cut off). `complete`: the end marker arrived.
 */
export function parseBatchOutput(stdout: string, boundary: string, count: number): { results: Array<BatchPartResult | undefined>; complete: boolean } {
  const parts = Array.from({ length: count }, () => ({}) as { stdout?: string; stderr?: string; exitCode?: number });
  let complete = false;
  const segments = stdout.split(`\n${boundary} `).slice(1);
  for (const [j, segment] of segments.entries()) {
    const newline = segment.indexOf("\n");
    if (newline < 0) break;
    const [what, index, code] = segment.slice(0, newline).split(" ");
    if (what === "end") {
      complete = true;
      break;
    }
    // A section is whole only once the next boundary line follows it.
    if (j === segments.length - 1) break;
    const part = parts[Number(index)];
    if (!part) break;
    const body = segment.slice(newline + 1);
    if (what === "o") part.stdout = body;
    else if (what === "e") part.stderr = body;
    else if (what === "r" && Number.isInteger(Number(code))) part.exitCode = Number(code);
    else break;
  }
  const results = parts.map((part) => (part.stdout !== undefined && part.stderr !== undefined && part.exitCode !== undefined ? { stdout: part.stdout, stderr: part.stderr, exitCode: part.exitCode } : undefined));
  return { results, complete };
}
