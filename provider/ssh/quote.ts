/**
 * The one place where argv becomes the command string an SSH server hands to the remote
 * user's shell. Every argument is single-quoted, so no character in it has meaning to the
 * shell: `'` is written as `'\''`. NUL cannot travel in a C string, so it is refused.
 */
export function quoteArg(arg: string): string {
  if (arg.includes("\0")) throw new Error("an argument contains a NUL byte, which no remote command can receive");
  if (arg !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("cannot run an empty command");
  return argv.map(quoteArg).join(" ");
}
