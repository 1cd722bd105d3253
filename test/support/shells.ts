import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { quoteArgv } from "../../provider/ssh/quote";

/** Each shell an SSH server may hand the command line to, and the Debian package that has it. */
export const SHELLS = [
  { name: "dash", argv: ["dash", "-c"], pkg: "dash" },
  { name: "bash", argv: ["bash", "-c"], pkg: "bash" },
  { name: "zsh", argv: ["zsh", "-c"], pkg: "zsh" },
  { name: "busybox sh", argv: ["busybox", "sh", "-c"], pkg: "busybox (or busybox-static)" },
];

function onPath(program: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, program)));
}

/** The argv a shell's builtin printf receives for `printf '%s\0' <quoted args>`. */
export function argvSeenBy(shell: (typeof SHELLS)[number], args: string[]): string[] {
  const line = `printf '%s\\0' ${quoteArgv(args)}`;
  const [program, ...flags] = shell.argv;
  const result = spawnSync(program!, [...flags, line], { encoding: "buffer", timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${shell.name} exited ${result.status} on ${JSON.stringify(line)}: ${result.stderr.toString()}`);
  return result.stdout.toString("utf8").split("\0").slice(0, -1);
}

export const HOSTILE = [
  "=ls",
  "=",
  "==",
  "a=b",
  "%1",
  "%",
  "~",
  "~root",
  "~/x",
  "a~b",
  "time",
  "if",
  "then",
  "!",
  "!!",
  "{a,b}",
  "{}",
  "*",
  "?",
  "[a]",
  "$'x'",
  '$"x"',
  "$HOME",
  "${IFS}",
  "$(id)",
  "`id`",
  "-n",
  "--",
  "-e",
  "\\",
  "'",
  '"',
  " ",
  "",
  "\n",
  "\t",
  "#",
  "a#b",
  "^x",
  "x^y",
  "a;b",
  "a|b",
  "a&b",
  "a>b",
  "<(true)",
  "=(true)",
  "!(x)",
  "@(x)",
  "+(x)",
  "foo=bar=baz",
  "--opt=~/x",
  "PATH=/x",
  "ünï 名前 🙂",
];

/** Fails, naming the Debian package, when a shell the quoting must hold for is missing. */
export function requireShell(shell: (typeof SHELLS)[number]): void {
  if (!onPath(shell.argv[0]!)) {
    throw new Error(`${shell.argv[0]} is not installed, so quoting cannot be checked against ${shell.name}: install the Debian package ${shell.pkg}`);
  }
}

/**
 * Why the tests through `shell` are skipped here, or undefined when they run. `npm test` on a
 * fresh clone needs only `npm install`, so a shell that is not installed (zsh, busybox) skips its
 * tests with this reason in their names; NETDEV_REQUIRE_SHELLS=1 (scripts/test.sh, which installs
 * every shell) runs them anyway, so there a missing shell fails, naming its package.
 */
export function shellSkipReason(shell: (typeof SHELLS)[number]): string | undefined {
  if (process.env.NETDEV_REQUIRE_SHELLS === "1" || onPath(shell.argv[0]!)) return undefined;
  return `${shell.argv[0]} is not installed (Debian package ${shell.pkg}); NETDEV_REQUIRE_SHELLS=1 makes this a failure`;
}

/** A test title for `shell`, with the reason it is skipped appended when it is. */
export function shellTitle(title: string, shell: (typeof SHELLS)[number]): string {
  const reason = shellSkipReason(shell);
  return reason ? `${title} [skipped: ${reason}]` : title;
}

/** The shells the tests here check quoting against: every one unless skipped (shellSkipReason). */
export const CHECKED_SHELLS = SHELLS.filter((shell) => !shellSkipReason(shell));

/** Says once, on the test file's output (vitest names the file), which shells are not checked here and why. */
export function noteSkippedShells(): void {
  const skipped = SHELLS.filter((shell) => shellSkipReason(shell));
  if (skipped.length) console.warn(`quoting not checked against ${skipped.map((s) => `${s.name} (${shellSkipReason(s)})`).join(", ")}`);
}

/**
 * argvSeenBy without blocking the event loop: on a loaded machine (the lab's VMs and stacks
 * beside it) a few hundred shell starts can take minutes, and a test worker blocked that long
 * loses its connection to vitest.
 */
export function argvSeenByAsync(shell: (typeof SHELLS)[number], args: string[]): Promise<string[]> {
  const line = `printf '%s\\0' ${quoteArgv(args)}`;
  const [program, ...flags] = shell.argv;
  return new Promise((resolve, reject) => {
    const child = spawn(program!, [...flags, line], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      if (status !== 0) return reject(new Error(`${shell.name} exited ${status} on ${JSON.stringify(line)}: ${Buffer.concat(err).toString()}`));
      resolve(Buffer.concat(out).toString("utf8").split("\0").slice(0, -1));
    });
  });
}
