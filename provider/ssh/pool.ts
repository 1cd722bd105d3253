import { type ChannelOutcome, EXIT_TRAILER, runOnChannel } from "./channel";
import { Coalescer } from "./coalescer";
import { type Connection, poolKey, secretsOf } from "./connection";
import { Connector } from "./connector";
import { type CommandFailure, describeEndpoint, RemoteCommandError } from "./errors";
import { type ExecOptions, type ExecResult, MAX_OUTPUT_BYTES } from "./exec-options";
import { KeeperLink } from "./keeper/link";
import { persistMsFromEnv } from "./keeper/place";
import type { KeeperStats } from "./keeper/protocol";
import { errorMessage, isAmbiguousRefusal, isChannelOpenRefusal, isConnectionLoss } from "./failures";
import { quoteArgv } from "./quote";
import { scrubbedOutput, scrubSecrets } from "./scrub";
import { remoteCommand, sudoRefusal } from "./sudo";

export { type ExecOptions, type ExecResult, MAX_OUTPUT_BYTES } from "./exec-options";
export { scrubSecrets } from "./scrub";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SshPoolOptions {
  /**
   * Commands for the same host that arrive within this many ms of each other, or while the
   * host's batches in flight are at their limit, go as ONE exec (see batch.ts). Undefined: every
   * command is its own exec.
   */
  coalesceWindowMs?: number;
  /** Batches per host (and lane) in flight at once; more commands wait and join the next. */
  batchesInFlight?: number;
  /**
   * Logins are kept this long after their last command by the connection keeper, a process that
   * outlives this one (see keeper/place.ts); each exec is sent there. Undefined: this process
   * logs in itself.
   */
  persistMs?: number;
}

/**
 * One SSH connection per (endpoint, credentials) for the whole process, shared by every
 * resource: Pulumi runs `--parallel` resource operations at once (users raise it), and sshd allows
 * only MaxSessions (10) channels per connection and MaxStartups (10) unauthenticated
 * connections, so channels queue here instead of opening more connections.
 *
 * The composition of three parts: the Coalescer (overlapping commands for a host as one exec),
 * the Connector (connections, jump hosts, retries, host keys) and each connection's session
 * slots; this class runs one exec on them and says why it failed (RemoteCommandError's cause).
 */
export class SshPool {
  private readonly connector = new Connector();
  private readonly coalescer: Coalescer;
  private readonly lastWrites = new Map<string, number>();
  private readonly keeper?: KeeperLink;

  /** Commands started through this pool (tests check that validation sends none). */
  commandsStarted = 0;

  /** Exec requests sent to servers: fewer than commandsStarted when commands travel in batches. */
  execsSent = 0;

  constructor(options: SshPoolOptions = {}) {
    if (options.persistMs !== undefined) this.keeper = new KeeperLink(options.persistMs);
    this.coalescer = new Coalescer(options.coalesceWindowMs, options.batchesInFlight ?? 2, (connection, argv, execOptions, output) =>
      this.execHereOrKept(connection, argv, execOptions, output),
    );
  }

  /** Idle connections close after this long so `pulumi up` and test processes exit promptly. */
  get idleCloseMs(): number {
    return this.connector.idleCloseMs;
  }
  set idleCloseMs(ms: number) {
    this.connector.idleCloseMs = ms;
  }

  get coalesceWindowMs(): number | undefined {
    return this.coalescer.windowMs;
  }
  set coalesceWindowMs(ms: number | undefined) {
    this.coalescer.windowMs = ms;
  }

  get batchesInFlight(): number {
    return this.coalescer.batchesInFlight;
  }
  set batchesInFlight(count: number) {
    this.coalescer.batchesInFlight = count;
  }

  /** Completed SSH handshakes per endpoint (user@host:port) since the process started. */
  handshakes(endpoint?: string): number {
    return this.connector.handshakes(endpoint);
  }

  /** Completed SSH handshakes of this process, per endpoint. */
  handshakeCounts(): ReadonlyMap<string, number> {
    return this.connector.handshakeCounts;
  }

  /** What the connection keeper holds, when this pool sends its commands to one (see persistMs). */
  keeperStats(): Promise<KeeperStats | undefined> {
    return this.keeper ? this.keeper.stats() : Promise.resolve(undefined);
  }

  /**
   * Runs argv on the host and returns its output whatever the exit code.
   *
   * Deadlines, so that no server can keep an operation pending forever:
   * - connecting, per hop: each attempt (the tunnel through the jump host once that one is
   *   connected, TCP and the SSH handshake) ends within that hop's connectTimeoutMs, with at
   *   most `retries` more attempts and their backoff (see Connector); a jump host's own
   *   connection is bounded the same way by its own settings. A connect therefore ends within
   *   the sum over the hops of (retries + 1) × connectTimeoutMs plus backoff;
   * - the command: once the host is connected, everything (waiting for a free session slot, the
   *   channel open, the exec request, output, exit, and any retry of a read) ends within
   *   timeoutMs (commandTimeoutMs). A command whose deadline passes while it waits for a slot
   *   never started, and says so; one whose connection is torn down while it waits (another
   *   command there passed its deadline) never started either, and starts over on a new
   *   connection with a new deadline.
   * When the command deadline passes, the whole connection is destroyed: a server that does not
   * answer one channel is not trusted with the next, and on dropbear (one session at a time)
   * everything queued behind the stuck command would wait for it. The queued commands then
   * reconnect. A command that changes the host is reported as "may or may not have run".
   */
  async exec(connection: Connection, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.commandsStarted++;
    // Refuse what cannot be quoted here, in the caller's own call, not in a batch.
    quoteArgv(argv);
    const running = this.coalescer.send(connection, argv, options);
    if (options.idempotent) return running;
    return running.finally(() => this.lastWrites.set(poolKey(connection), performance.now()));
  }

  /**
   * When the last command that may have changed this host (anything not marked idempotent)
   * ended, in performance.now() time; 0 if none has run. Shared reads taken before it are stale.
   */
  lastWriteEnded(connection: Connection): number {
    return this.lastWrites.get(poolKey(connection)) ?? 0;
  }

  /** Runs argv and throws RemoteCommandError (host, command, stderr) unless it exits 0. */
  async run(connection: Connection, argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(connection, argv, options);
    if (result.exitCode !== 0) {
      throw new RemoteCommandError(describeEndpoint(connection), quoteArgv(argv), result.exitCode, result.stderr);
    }
    return result.stdout;
  }

  /**
   * Opens the connection to this host now, in the background, so that the first command there
   * does not wait for the handshake: see Connector.preconnect. Nothing runs on the host.
   */
  preconnect(connection: Connection): void {
    if (!this.keeper) {
      this.connector.preconnect(connection);
      return;
    }
    void this.keeper.preconnect(connection).then((sent) => {
      if (sent === "unavailable") this.connector.preconnect(connection);
    });
  }

  /** Closes every pooled connection now (and the link to the keeper, whose logins stay). */
  closeAll(): void {
    this.connector.closeAll();
    this.keeper?.close();
  }

  /** One exec, by the keeper when this pool has one, else here. */
  private async execHereOrKept(connection: Connection, argv: readonly string[], options: ExecOptions, output?: "scrubbed" | "unscrubbed"): Promise<ExecResult> {
    if (this.keeper) {
      const kept = await this.keeper.exec(connection, argv, options, output ?? "scrubbed");
      if (kept !== "unavailable") {
        this.execsSent++;
        return kept;
      }
    }
    return this.execAlone(connection, argv, options, output);
  }

  /**
   * One command as one exec, on this process's own connections: see exec() for the deadlines.
   * Its output is scrubbed of the connection's secrets (scrubbedOutput) unless the caller scrubs
   * the parts itself; errors always are. The keeper runs each exec it is sent here.
   */
  async execAlone(
    connection: Connection,
    argv: readonly string[],
    options: ExecOptions = {},
    output: "scrubbed" | "unscrubbed" = "scrubbed",
    /** Asked right before the command is sent, each attempt: false and it is not (the keeper's requester gave up). */
    stillWanted?: () => boolean,
  ): Promise<ExecResult> {
    const command = quoteArgv(argv);
    // The one place where argv (or a batch's script) becomes the remote command line and its stdin.
    const remote = remoteCommand(connection, argv, options.stdin);
    const wire = `${remote.command}${EXIT_TRAILER}`;
    const endpoint = describeEndpoint(connection);
    const secrets = secretsOf(connection);
    const timeoutMs = options.timeoutMs ?? connection.commandTimeoutMs;
    const maxOutputBytes = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const mayHaveRun = !options.idempotent;
    const failure = (cause: CommandFailure, stderr = "") => new RemoteCommandError(endpoint, command, cause, scrubSecrets(stderr, secrets));
    const detail = (error: unknown) => scrubSecrets(errorMessage(error), secrets);
    // Set once the host is connected, before the wait for a slot; retries of a read share it.
    let deadline: number | undefined;
    let sent = false;
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.connector.connect(connection);
      deadline ??= Date.now() + timeoutMs;
      // With sudo, a root shell of this connection runs the command (one sudo per shell, not per
      // exec); without a shell to run it in, the command runs with its own sudo, on its own channel.
      // (A NUL byte in stdin cannot pass through a shell: such a command gets its own sudo.)
      const inShell = connection.sudo === true && rootShellsWanted() && !options.stdin?.includes("\0");
      const shell = inShell ? await pooled.rootShells.take(connection, deadline) : "per-exec";
      if (shell === "unanswered") {
        pooled.destroy();
        throw failure({ kind: "unanswered", timeoutMs, mayHaveRun: false });
      }
      if (typeof shell === "object" && "sudoRefused" in shell) throw sudoRefusal(connection, command, shell.sudoRefused.stderr, shell.sudoRefused.exitCode);
      const slot = shell === "per-exec" ? await pooled.acquireSlot(deadline) : typeof shell === "string" ? shell : "acquired";
      if (slot === "closed") {
        if (!sent) deadline = undefined;
        continue;
      }
      if (slot === "expired") {
        // Only a read is retried after a refusal that leaves open whether it ran.
        throw failure(sent ? { kind: "not-accepted", timeoutMs } : { kind: "no-session", timeoutMs, maxChannels: pooled.slots.limit });
      }
      if (stillWanted && !stillWanted()) {
        if (typeof shell === "object") pooled.rootShells.release(shell);
        else pooled.releaseSlot();
        throw failure({ kind: "refused", detail: "whoever asked for it stopped waiting before it was sent" });
      }
      let outcome: ChannelOutcome;
      sent = true;
      this.execsSent++;
      if (typeof shell === "object") {
        try {
          outcome = await shell.run(argv, options.stdin, deadline, maxOutputBytes);
        } finally {
          pooled.rootShells.release(shell);
        }
      } else {
        try {
          outcome = remote.outcome(await runOnChannel(pooled.client, wire, remote.stdin, deadline, maxOutputBytes));
        } finally {
          pooled.releaseSlot();
        }
      }
      switch (outcome.kind) {
        case "exit":
          return output === "scrubbed" ? scrubbedOutput(outcome, secrets) : { stdout: outcome.stdout, stderr: outcome.stderr, exitCode: outcome.exitCode };
        case "unanswered":
          pooled.destroy();
          throw failure({ kind: "unanswered", timeoutMs, mayHaveRun });
        case "timeout":
          pooled.destroy();
          throw failure({ kind: "timeout", timeoutMs, mayHaveRun }, outcome.stderr);
        case "overflow":
          throw failure({ kind: "overflow", maxOutputBytes, mayHaveRun });
        case "lost":
          throw failure({ kind: "lost" }, outcome.stderr);
        case "refused": {
          const error = outcome.error;
          // "Unable to exec" is the server refusing the command, or the channel closing before the
          // server answered; dropbear does the latter after it ran the command. Only a read may
          // therefore run again; anything else is reported, never silently run twice.
          const ambiguous = isAmbiguousRefusal(error);
          if (ambiguous && !options.idempotent) throw failure({ kind: "unconfirmed", detail: detail(error) });
          if (attempt < 5 && (pooled.closed || isConnectionLoss(error))) {
            pooled.drop();
            continue;
          }
          // A refused channel open ran nothing: sshd frees a session slot only once it has reaped
          // the previous command, so right after one closes it may refuse a new one. Wait and retry,
          // within the command's deadline.
          const backoffMs = 20 * 2 ** attempt;
          if (attempt < 8 && (isChannelOpenRefusal(error) || ambiguous) && Date.now() + backoffMs < deadline) {
            await sleep(backoffMs);
            continue;
          }
          throw failure({ kind: "refused", detail: detail(error) });
        }
      }
    }
  }
}

const POOL_KEY = Symbol.for("pulumi-netdev/ssh-pool/v1");

/**
 * The process-wide pool. Pulumi loads each distinct provider text separately, so module state
 * might not be shared between resource kinds; globalThis is.
 */
export function sshPool(): SshPool {
  const holder = globalThis as unknown as Record<symbol, SshPool | undefined>;
  holder[POOL_KEY] ??= new SshPool({ coalesceWindowMs: coalesceWindowFromEnv(), persistMs: persistMsFromEnv() });
  return holder[POOL_KEY];
}

/**
 * NETDEV_SUDO_SHELL=off: with `sudo: true`, every exec runs its own sudo instead of reusing a
 * root shell per session (what the benchmark compares the shells with).
 */
function rootShellsWanted(): boolean {
  return process.env.NETDEV_SUDO_SHELL !== "off";
}

/**
 * NETDEV_COALESCE_MS: how long the process-wide pool waits for more commands to the same host
 * before sending a batch (default 1 ms; "off" sends every command alone).
 */
function coalesceWindowFromEnv(): number | undefined {
  const setting = process.env.NETDEV_COALESCE_MS;
  if (setting === "off") return undefined;
  const ms = Number(setting ?? 1);
  return Number.isFinite(ms) && ms >= 0 ? ms : 1;
}
