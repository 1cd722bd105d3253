/**
 * Words some shell reads as syntax when they stand bare where a command name is expected
 * (`time`, `if`, zsh's `repeat`, `noglob`, …). quoteArg does not know a word's position, so it
 * quotes these everywhere; a quoted keyword is an ordinary word in every shell.
 */
const RESERVED_WORDS = new Set([
  "case",
  "coproc",
  "do",
  "done",
  "elif",
  "else",
  "end",
  "esac",
  "fi",
  "for",
  "foreach",
  "function",
  "if",
  "in",
  "nocorrect",
  "noglob",
  "repeat",
  "select",
  "then",
  "time",
  "until",
  "while",
]);

/**
 * The one place where argv becomes the command string an SSH server hands to the remote
 * user's shell (dash, bash, zsh, busybox sh: see quote.test.ts). Every argument is
 * single-quoted, so no character in it has meaning to the shell: `'` is written as `'\''`.
 * A word is left bare only when it is made of characters no shell treats specially, and:
 * - contains no `=`: zsh expands a leading `=cmd` to the command's path, and a bare `a=b` as
 *   the first word is an assignment, not a command;
 * - does not start with `%`: a bare leading `%1` as the first word resumes a job in bash and zsh;
 * - is not a reserved word.
 * (`~`, `!`, `#`, `^`, globs and the like are outside the bare set and always quoted.)
 * NUL cannot travel in a C string, so it is refused.
 */
export function quoteArg(arg: string): string {
  if (arg.includes("\0")) throw new Error("an argument contains a NUL byte, which no remote command can receive");
  if (/^[A-Za-z0-9_@+:,./-][A-Za-z0-9_@%+:,./-]*$/.test(arg) && !RESERVED_WORDS.has(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("cannot run an empty command");
  return argv.map(quoteArg).join(" ");
}
