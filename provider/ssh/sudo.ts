import { randomBytes } from "node:crypto";
import type { ChannelOutcome } from "./channel-outcome";
import type { Connection } from "./connection";
import { describeEndpoint, RemoteCommandError, type SudoProblem } from "./errors";
import { quoteArgv } from "./quote";
import { scrubSecrets, secretsIn } from "./scrub";

/**
 * Running a host's commands as root through sudo, for a connection that logs in as another user
 * (`sudo: true`). The transport asks remoteCommand for what to send in place of an argv: one
 * sudo per exec, so a batch of commands (one `sh` reading a script) costs one sudo, not one
 * per command.
 *
 * sudo runs `sh -c PRELUDE sh ARGV…`: the prelude writes a start line on stderr, then execs the
 * command. A run whose stderr has no start line never reached the command: sudo refused it, and
 * its own words on stderr say why (see sudoProblem). That is reported as an error, never as the
 * command's exit code: a refused `ip link show` must not read as "no such device".
 *
 * The password, when there is one, travels on stdin only (`sudo -S`), never on a command line:
 * stdin is the password line, FILLER_LINES empty lines, an end line, then the command's own
 * stdin. sudo reads the password line only if it asks for one (a NOPASSWD rule or cached
 * credentials do not); the prelude reads and drops lines up to the end line, so the command
 * gets exactly its own stdin either way. A wrong password makes sudo try again with the next
 * lines, which are the empty ones: it gives up (passwd_tries, 3 by default) before it reaches
 * the command's stdin, so a script or a WireGuard key is never offered as a password.
 */

export interface RemoteCommand {
  /** The command line for the SSH exec request. */
  command: string;
  stdin: string | undefined;
  /** The outcome as the command produced it; throws SudoError when sudo did not run the command. */
  outcome(outcome: ChannelOutcome): ChannelOutcome;
}

const STARTED = "__netdev_sudo_started";

/** Whether sudo has run the command: the prelude's start line is on its stderr (see above). */
export function sudoStarted(stderr: string): boolean {
  return stderr.includes(`${STARTED}\n`);
}
const FILLER_LINES = 9;

export type { SudoProblem };

/** sudo refused to run a command (or is missing); `problem` says which, the message says the fix. */
export class SudoError extends RemoteCommandError {
  override name = "SudoError";
  constructor(
    endpoint: string,
    command: string,
    exitCode: number,
    advice: string,
    readonly problem: SudoProblem,
  ) {
    super(endpoint, command, { kind: "sudo", problem, exitCode, advice }, "");
  }
}

export function remoteCommand(connection: Connection, argv: readonly string[], stdin: string | undefined): RemoteCommand {
  const command = quoteArgv(argv);
  if (connection.sudo !== true) return { command, stdin, outcome: (outcome) => outcome };
  const started = `printf '%s\\n' ${STARTED} >&2; exec "$@"`;
  let sudoArgv: string[];
  let sudoStdin = stdin;
  if (connection.sudoPassword === undefined) {
    // -n: never wait for a password nobody will type; sudo says "a password is required" instead.
    sudoArgv = ["sudo", "-n", "--", "sh", "-c", started, "sh", ...argv];
  } else {
    const end = `__netdev_sudo_stdin_${randomBytes(8).toString("hex")}`;
    const skip = `while IFS= read -r line && [ "$line" != ${end} ]; do :; done; ${started}`;
    // -p '': no prompt text mixed into stderr.
    sudoArgv = ["sudo", "-S", "-p", "", "--", "sh", "-c", skip, "sh", ...argv];
    sudoStdin = `${connection.sudoPassword}\n${"\n".repeat(FILLER_LINES)}${end}\n${stdin ?? ""}`;
  }
  return {
    command: quoteArgv(sudoArgv),
    stdin: sudoStdin,
    outcome(outcome) {
      if (outcome.kind !== "exit" && outcome.kind !== "timeout" && outcome.kind !== "lost") return outcome;
      const at = outcome.stderr.indexOf(`${STARTED}\n`);
      // Anything before the start line is sudo's (a first-use lecture), not the command's.
      if (at >= 0) return { ...outcome, stderr: outcome.stderr.slice(at + STARTED.length + 1) };
      if (outcome.kind !== "exit") return outcome;
      throw sudoRefusal(connection, command, outcome.stderr, outcome.exitCode);
    },
  };
}

/** The error for `command` when sudo exited with `exitCode` and `stderr` before it ran anything. */
export function sudoRefusal(connection: Connection, command: string, stderr: string, exitCode: number): SudoError {
  const said = scrubSecrets(stderr, secretsIn(connection));
  const problem = sudoProblem(said, exitCode);
  return new SudoError(describeEndpoint(connection), command, exitCode, sudoAdvice(problem, connection, said), problem);
}

/** Which refusal sudo's stderr (and exit code) describes: the messages of sudo 1.8/1.9 and of a shell not finding it. */
export function sudoProblem(stderr: string, exitCode: number): SudoProblem {
  if (/must have a tty|requires a tty|no tty present/i.test(stderr)) return "requiretty";
  if (/incorrect password attempt|Sorry, try again/i.test(stderr)) return "wrong-password";
  if (/is not in the sudoers file|is not allowed to (execute|run)|may not run sudo|is not allowed to run sudo/i.test(stderr)) return "not-allowed";
  if (/a password is required|a terminal is required to read the password|no password was provided/i.test(stderr)) return "no-password";
  if (exitCode === 127 || /sudo: (command )?not found|sudo: No such file/i.test(stderr)) return "not-installed";
  return "failed";
}

/** What went wrong, on which host, and what fixes it. */
export function sudoAdvice(problem: SudoProblem, connection: Pick<Connection, "user" | "host" | "sudoPassword">, said: string): string {
  const { user, host } = connection;
  // sshd's own notes (a user without a home directory) come first on stderr: they are not sudo's.
  const lines = said
    .trim()
    .split("\n")
    .filter((line) => line.trim() && !/^Could not chdir to home directory/.test(line));
  const words = lines.length ? ` (sudo said: ${lines.slice(-2).join(" ")})` : "";
  const rule = `e.g. \`${user} ALL=(root) NOPASSWD: ALL\` in a file under /etc/sudoers.d/ on ${host}`;
  switch (problem) {
    case "no-password":
      return `did not run: sudo on ${host} asks ${user} for a password and the connection has no sudoPassword${words}. Set connection.sudoPassword (as a secret), or give ${user} a sudoers rule without a password (${rule}); if ${user} may not use sudo at all, log in as a user who may`;
    case "wrong-password":
      return `did not run: sudo on ${host} refused connection.sudoPassword for ${user}${words}. Set it to ${user}'s login password on ${host}`;
    case "not-allowed":
      return `did not run: ${user} may not run commands as root through sudo on ${host}${words}. Give ${user} a sudoers rule for all commands as root (${rule}), or log in as a user who has one`;
    case "requiretty":
      return `did not run: sudoers on ${host} requires a terminal (requiretty) for ${user}, and netdev runs commands without one${words}. Add \`Defaults:${user} !requiretty\` in a file under /etc/sudoers.d/ on ${host}`;
    case "not-installed":
      return `did not run: sudo is not installed on ${host} (or not in ${user}'s PATH)${words}. Install it (Debian/Ubuntu: apt-get install sudo; RHEL/Fedora: dnf install sudo), or log in as root and drop sudo: true`;
    case "failed":
      return `did not run: sudo on ${host} failed before it ran the command${words}`;
  }
}
