import { randomBytes } from "node:crypto";
import { quoteArgv } from "./quote";

/**
 * Several commands for one host sent as ONE remote command (one SSH exec, one round trip),
 * each still reported on its own: stdout, stderr and exit code, as if it had run alone.
 *
 * The host's `sh` reads the script on its stdin, so the boundary that frames the results is in
 * no process's command line or environment, where any command on the host could read it. The
 * commands start together, each with stdin from /dev/null (as a lone exec whose stdin is
 * closed), and each one's output is held in shell variables; the results are printed over the
 * channel in order, each section once between boundary lines, then an end line. No file is
 * written, so a read-only or full /tmp changes nothing. A command that fails does not stop the
 * next one: each belongs to a different resource. The script is built only from argv quoted by
 * quoteArgv and fixed shell syntax, and needs only a POSIX sh (dash, bash, busybox ash); it
 * runs no program besides the commands themselves (its subshells are forks of sh).
 *
 * Output is text: a shell variable cannot hold a NUL byte, so a batched command's NULs are
 * dropped (none of the commands this package sends prints one).
 */
export interface BatchScript {
  /** The command line: the host's sh, reading the script from stdin. */
  argv: string[];
  /** The script, for the command's stdin. */
  stdin: string;
  boundary: string;
}

export interface BatchPartResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * `inOrder`: each command starts only once the one before it has exited (for steps that depend
 * on each other, such as removing a namespace once the devices in it are deleted); the
 * results are framed alike.
 */
export function batchScript(
  commands: ReadonlyArray<readonly string[]>,
  boundary = `__netdev_batch_${randomBytes(12).toString("hex")}`,
  inOrder = false,
): BatchScript {
  // Every command runs in its own element of one pipeline, so all of them start at once. The
  // pipes between the elements carry no data: an element prints its result (on fd 3, the
  // channel) only once the element before it has exited, which its `read` sees as end of file.
  // So results arrive in order and whole, however the commands' run times interleave.
  //
  // Inside an element: the inner $(...) holds the command's stdout, the outer one its stderr
  // (fd 4); a "." after each keeps the trailing newlines that $(...) strips. The command itself
  // gets neither fd 3 nor fd 4, nor the pipe to the next element.
  const element = (argv: readonly string[], i: number) =>
    [
      `{ e=$( { o=$( { ${quoteArgv(argv)}`,
      `} </dev/null 2>&4 3>&- 4>&-; r=$?; printf .; exit "$r" ); r=$?`,
      `read -r _`,
      `printf '\\n%s o ${i}\\n%s' ${boundary} "\${o%.}" >&3`,
      `printf .; exit "$r"; } 4>&1 ); r=$?`,
      `printf '\\n%s e ${i}\\n%s\\n%s r ${i} %s\\n' ${boundary} "\${e%.}" ${boundary} "$r" >&3`,
      `}`,
    ].join("\n");
  // In order: no pipe at all; each element's `read` sees /dev/null's end of file at once.
  const pipeline = inOrder
    ? commands.map((argv, i) => `${element(argv, i)} </dev/null`).join("\n")
    : commands.map((argv, i) => (i === 0 ? `${element(argv, i)} </dev/null` : element(argv, i))).join(" |\n");
  // One brace group: the shell parses all of it before running any of it, so a script cut off
  // on the way runs nothing, and no command can read the rest of it from the shell's stdin.
  const script = ["{", "exec 3>&1", pipeline, `printf '\\n%s end\\n' ${boundary}`, "}", ""].join("\n");
  return { argv: ["sh"], stdin: script, boundary };
}

/**
 * Each command's result from the batch's stdout: all of them, or none when the output is not
 * exactly what the script prints (the sections of every command once and in order, then the
 * end line, then nothing). A command that learnt the boundary can add sections only inside its
 * own output, so they show as extra sections and void the whole batch rather than forge a
 * result; a batch cut off, or whose shell was killed, has no end line. `complete`: all arrived.
 */
export function parseBatchOutput(stdout: string, boundary: string, count: number): { results: Array<BatchPartResult | undefined>; complete: boolean } {
  const none = { results: Array.from({ length: count }, () => undefined), complete: false };
  // Whatever precedes the first boundary line (a login shell's rc files) is no command's.
  const segments = stdout.split(`\n${boundary} `).slice(1);
  if (segments.length !== 3 * count + 1 || segments[3 * count] !== "end\n") return none;
  const results: BatchPartResult[] = [];
  for (let i = 0; i < count; i++) {
    const [o, e, r] = segments.slice(3 * i, 3 * i + 3).map((segment) => {
      const newline = segment.indexOf("\n");
      return newline < 0 ? { header: segment, body: undefined } : { header: segment.slice(0, newline), body: segment.slice(newline + 1) };
    });
    const code = /^r (\d+) (\d+)$/.exec(r!.header);
    if (o!.header !== `o ${i}` || e!.header !== `e ${i}` || !code || code[1] !== String(i) || r!.body !== "" || o!.body === undefined || e!.body === undefined)
      return none;
    results.push({ stdout: o!.body, stderr: e!.body, exitCode: Number(code[2]) });
  }
  return { results, complete: true };
}
