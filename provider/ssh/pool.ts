import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { type Connection, fingerprint, hostKeyMatches, hostKeyPins, poolKey, secretsOf } from "./connection";
import { batchScript, parseBatchOutput } from "./batch";
import { type CommandFailure, type ConnectFailure, describeEndpoint, HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./errors";
import { quoteArgv } from "./quote";
import { scrubbedOutput, scrubSecrets } from "./scrub";
import { type ChannelOutcome, EXIT_TRAILER, runOnChannel } from "./channel";
import { remoteCommand } from "./sudo";
import { connectFailure, errorMessage, isAmbiguousRefusal, isChannelOpenRefusal, isConnectionLoss, isDropbear } from "./failures";

export { scrubSecrets } from "./scrub";

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Overrides the connection's commandTimeoutMs (see SshPool.exec for what it bounds). */
  timeoutMs?: number;
  /** Most bytes of stdout and stderr together the command may print; default MAX_OUTPUT_BYTES. */
  maxOutputBytes?: number;
  /**
   * The command only reads, so running it twice is harmless: an exec whose outcome is
   * unknown (see isAmbiguousRefusal) is then retried instead of reported.
   */
  idempotent?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Most output (stdout and stderr together) one command may return. `ip -json` of a host with
 * thousands of links stays far below it; without a bound a runaway command grows this process
 * without limit (300 MiB of stdout cost 1 GiB of memory).
 */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

interface PooledConnection {
  key: string;
  endpoint: string;
  client: Client;
  ready: Promise<void>;
  closed: boolean;
  /** Session (exec) channels open now, and how many may be open at once (maxChannels, 1 on dropbear). */
  activeSessions: number;
  sessionLimit: number;
  /**
   * Tunnels to other hosts open through this one (this is their jump host). They take no
   * session slot (sshd's MaxSessions counts sessions only) but keep the connection from idling.
   */
  openTunnels: number;
  slotWaiters: Array<() => void>;
  idleTimer?: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A command waiting to be sent in the next batch for its host. */
interface QueuedCommand {
  connection: Connection;
  argv: readonly string[];
  options: ExecOptions;
  resolve: (result: ExecResult) => void;
  reject: (error: unknown) => void;
}

/** The commands for one host (reads and writes apart: only a batch of reads may be retried). */
interface Lane {
  key: string;
  waiting: QueuedCommand[];
  inFlight: number;
  timer?: NodeJS.Timeout;
}

/** Most commands one batch carries; more wait for the next. */
const MAX_BATCH = 64;

export interface SshPoolOptions {
  /**
   * Commands for the same host that arrive within this many ms of each other, or while the
   * host's batches in flight are at their limit, go as ONE exec (see batch.ts). Undefined: every
   * command is its own exec.
   */
  coalesceWindowMs?: number;
  /** Batches per host (and lane) in flight at once; more commands wait and join the next. */
  batchesInFlight?: number;
}

/**
 * One SSH connection per (endpoint, credentials) for the whole process, shared by every
 * resource: Pulumi runs resource operations with unbounded parallelism, and sshd allows
 * only MaxSessions (10) channels per connection and MaxStartups (10) unauthenticated
 * connections, so channels queue here instead of opening more connections.
 */
export class SshPool {
  private readonly connections = new Map<string, PooledConnection>();
  private readonly handshakeCounts = new Map<string, number>();
  /** Idle connections close after this long so `pulumi up` and test processes exit promptly. */
  idleCloseMs = Number(process.env.NETDEV_SSH_IDLE_MS ?? 2000);

  /** Commands started through this pool (tests check that validation sends none). */
  commandsStarted = 0;

  /** Exec requests sent to servers: fewer than commandsStarted when commands travel in batches. */
  execsSent = 0;

  coalesceWindowMs: number | undefined;
  batchesInFlight: number;
  private readonly lanes = new Map<string, Lane>();
  private readonly lastWrites = new Map<string, number>();

  constructor(options: SshPoolOptions = {}) {
    this.coalesceWindowMs = options.coalesceWindowMs;
    this.batchesInFlight = options.batchesInFlight ?? 2;
  }

  /** Completed SSH handshakes per endpoint (user@host:port) since the process started. */
  handshakes(endpoint?: string): number {
    if (endpoint !== undefined) return this.handshakeCounts.get(endpoint) ?? 0;
    let total = 0;
    for (const count of this.handshakeCounts.values()) total += count;
    return total;
  }

  /**
   * Runs argv on the host and returns its output whatever the exit code.
   *
   * Deadlines, so that no server can keep an operation pending forever:
   * - connecting, per hop: each attempt (the tunnel through the jump host once that one is
   *   connected, TCP and the SSH handshake) ends within that hop's connectTimeoutMs, with at
   *   most `retries` more attempts and their backoff (see connect()); a jump host's own
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
    const running = this.send(connection, argv, options);
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

  private send(connection: Connection, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (this.coalesceWindowMs === undefined || options.stdin !== undefined) return this.execAlone(connection, argv, options);
    return new Promise<ExecResult>((resolve, reject) => {
      const key = `${poolKey(connection)}\0${options.idempotent ? "read" : "write"}`;
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { key, waiting: [], inFlight: 0 }));
      lane.waiting.push({ connection, argv, options, resolve, reject });
      this.schedule(lane);
    });
  }

  /**
   * Sends the lane's waiting commands as one batch once the window has passed, unless the lane
   * already has batchesInFlight batches out: then they wait, and more join them, until one comes
   * back. So batches stay small (commands go nearly alone) while the host answers fast, and grow
   * by themselves when round trips are slow.
   */
  private schedule(lane: Lane): void {
    if (lane.timer || lane.waiting.length === 0 || lane.inFlight >= this.batchesInFlight) return;
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      const batch = lane.waiting.splice(0, MAX_BATCH);
      lane.inFlight++;
      void this.sendBatch(batch).finally(() => {
        lane.inFlight--;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(lane.key);
        else this.schedule(lane);
      });
      this.schedule(lane);
    }, this.coalesceWindowMs);
  }

  /**
   * Runs queued commands for one host as one exec. Each command gets what it would have got
   * alone: its own stdout, stderr and exit code; a failure of the whole exec (deadline, lost
   * connection) is reported to each, naming its own command. A read whose result did not arrive
   * runs again alone; a command that changes the host never runs twice.
   */
  private async sendBatch(batch: QueuedCommand[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      return this.execAlone(only!.connection, only!.argv, only!.options).then(only!.resolve, only!.reject);
    }
    const first = batch[0]!;
    const idempotent = first.options.idempotent === true;
    const script = batchScript(batch.map((queued) => queued.argv));
    const others = batch.length - 1;
    let result: ExecResult;
    try {
      // Unscrubbed: each command's stderr travels inside the batch's stdout, which is scrubbed only
      // of long secrets; each part is scrubbed below as a lone command's output is. (A secret
      // scrubbed from the whole could also cut a boundary line, losing every result.)
      result = await this.execAlone(
        first.connection,
        script.argv,
        {
          stdin: script.stdin,
          idempotent,
          timeoutMs: Math.max(...batch.map((queued) => queued.options.timeoutMs ?? queued.connection.commandTimeoutMs)),
          maxOutputBytes: Math.max(...batch.map((queued) => queued.options.maxOutputBytes ?? MAX_OUTPUT_BYTES)),
        },
        "unscrubbed",
      );
    } catch (error) {
      for (const queued of batch) {
        queued.reject(
          error instanceof RemoteCommandError ? new RemoteCommandError(error.endpoint, quoteArgv(queued.argv), error.cause, error.stderr, others) : error,
        );
      }
      return;
    }
    const { results } = parseBatchOutput(result.stdout, script.boundary, batch.length);
    const endpoint = describeEndpoint(first.connection);
    // One lane is one pool key, whose digest covers the credentials: the batch's secrets are each command's.
    const secrets = secretsOf(first.connection);
    await Promise.all(
      batch.map(async (queued, i) => {
        const own = results[i];
        if (own) return queued.resolve(scrubbedOutput(own, secrets));
        if (idempotent) return this.execAlone(queued.connection, queued.argv, queued.options).then(queued.resolve, queued.reject);
        const batchEnded = scrubSecrets(result.stderr.trim(), secrets) || `exit ${result.exitCode}`;
        queued.reject(new RemoteCommandError(endpoint, quoteArgv(queued.argv), { kind: "unreported", batchEnded }, "", others));
      }),
    );
  }

  /**
   * One command as one exec: see exec() for the deadlines. Its output is scrubbed of the
   * connection's secrets (scrubbedOutput) unless the caller scrubs the parts itself; errors always are.
   */
  private async execAlone(
    connection: Connection,
    argv: readonly string[],
    options: ExecOptions = {},
    output: "scrubbed" | "unscrubbed" = "scrubbed",
  ): Promise<ExecResult> {
    const command = quoteArgv(argv);
    const remote = remoteCommand(connection, argv, options.stdin);
    const wire = `${remote.command}${EXIT_TRAILER}`;
    const secrets = secretsOf(connection);
    const timeoutMs = options.timeoutMs ?? connection.commandTimeoutMs;
    const maxOutputBytes = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const endpoint = describeEndpoint(connection);
    const mayHaveRun = !options.idempotent;
    const failure = (cause: CommandFailure, stderr = "") => new RemoteCommandError(endpoint, command, cause, scrubSecrets(stderr, secrets));
    const detail = (error: unknown) => scrubSecrets(errorMessage(error), secrets);
    // Set once the host is connected, before the wait for a slot; retries of a read share it.
    let deadline: number | undefined;
    let sent = false;
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.connect(connection);
      deadline ??= Date.now() + timeoutMs;
      const slot = await this.acquireSlot(pooled, deadline);
      if (slot === "closed") {
        if (!sent) deadline = undefined;
        continue;
      }
      if (slot === "expired") {
        // Only a read is retried after a refusal that leaves open whether it ran.
        throw failure(sent ? { kind: "not-accepted", timeoutMs } : { kind: "no-session", timeoutMs, maxChannels: pooled.sessionLimit });
      }
      let outcome: ChannelOutcome;
      sent = true;
      try {
        this.execsSent++;
        outcome = remote.outcome(await runOnChannel(pooled.client, wire, remote.stdin, deadline, maxOutputBytes));
      } finally {
        this.releaseSlot(pooled);
      }
      switch (outcome.kind) {
        case "exit":
          return output === "scrubbed" ? scrubbedOutput(outcome, secrets) : { stdout: outcome.stdout, stderr: outcome.stderr, exitCode: outcome.exitCode };
        case "unanswered":
          this.destroy(pooled);
          throw failure({ kind: "unanswered", timeoutMs, mayHaveRun });
        case "timeout":
          this.destroy(pooled);
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
            this.drop(pooled);
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

  /** Runs argv and throws RemoteCommandError (host, command, stderr) unless it exits 0. */
  async run(connection: Connection, argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(connection, argv, options);
    if (result.exitCode !== 0) {
      throw new RemoteCommandError(describeEndpoint(connection), quoteArgv(argv), result.exitCode, result.stderr);
    }
    return result.stdout;
  }

  /** Closes every pooled connection now. */
  closeAll(): void {
    for (const pooled of [...this.connections.values()]) this.drop(pooled);
  }

  /** The pooled connection for these args, connecting (with retries and backoff) when there is none. */
  private async connect(connection: Connection): Promise<PooledConnection> {
    const key = poolKey(connection);
    for (let attempt = 0; ; attempt++) {
      const existing = this.connections.get(key);
      const pooled = existing && !existing.closed ? existing : this.open(connection, key);
      try {
        await pooled.ready;
        return pooled;
      } catch (error) {
        this.drop(pooled);
        const retryable = error instanceof SshConnectError && error.retryable;
        if (!retryable || attempt >= connection.retries) throw error;
        await sleep(connection.retryBackoffMs * 2 ** attempt);
      }
    }
  }

  private open(connection: Connection, key: string): PooledConnection {
    const { Client } = require("ssh2") as typeof import("ssh2");
    const endpoint = describeEndpoint(connection);
    const client = new Client();
    const pooled: PooledConnection = {
      key,
      endpoint,
      client,
      closed: false,
      activeSessions: 0,
      sessionLimit: connection.maxChannels,
      openTunnels: 0,
      slotWaiters: [],
      ready: Promise.resolve(),
    };
    const pins = hostKeyPins(connection);
    const scrub = (text: string) => scrubSecrets(text, secretsOf(connection));
    const jumpEndpoint = connection.jumpHost ? describeEndpoint(connection.jumpHost) : undefined;
    pooled.ready = new Promise<void>((resolve, reject) => {
      let presentedKey: string | undefined;
      let settled = false;
      // What the attempt is waiting for, so that a timeout says which hop hung.
      let stage: "tunnel" | "handshake" = jumpEndpoint ? "tunnel" : "handshake";
      const abandon = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const fail = (error: SshConnectError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abandon.abort();
        reject(error);
      };
      const failWith = (cause: ConnectFailure) => fail(new SshConnectError(endpoint, cause));
      // One timer for this hop: the tunnel through the jump host (once that one is connected,
      // within its own connectTimeoutMs), TCP connect and the handshake. ssh2's readyTimeout
      // starts only after the TCP connect, and covers no tunnel.
      const startTimer = () => {
        timer ??= setTimeout(() => {
          failWith({ kind: "timeout", timeoutMs: connection.connectTimeoutMs, jumpHost: stage === "tunnel" ? jumpEndpoint : undefined });
          client.destroy();
        }, connection.connectTimeoutMs);
      };
      client.once("ready", () => {
        settled = true;
        clearTimeout(timer);
        if (isDropbear(client)) pooled.sessionLimit = 1;
        this.handshakeCounts.set(endpoint, (this.handshakeCounts.get(endpoint) ?? 0) + 1);
        resolve();
      });
      client.on("error", (error: Error & { level?: string }) => {
        if (presentedKey !== undefined) return fail(new HostKeyMismatchError(endpoint, pins, presentedKey));
        failWith(connectFailure(error, connection.user, scrub));
      });
      client.on("close", () => {
        pooled.closed = true;
        this.wakeAll(pooled);
        if (this.connections.get(key) === pooled) this.connections.delete(key);
        failWith({ kind: "closed-in-handshake" });
      });
      const handshake = (sock: ClientChannel | undefined) => {
        stage = "handshake";
        const config: ConnectConfig = {
          host: connection.host,
          port: connection.port,
          username: connection.user,
          privateKey: connection.privateKey,
          passphrase: connection.passphrase,
          password: connection.password,
          agent: connection.agentSocket,
          sock,
          readyTimeout: connection.connectTimeoutMs,
          keepaliveInterval: 5000,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer) => {
            if (hostKeyMatches(pins, key)) return true;
            presentedKey = fingerprint(key);
            return false;
          },
        };
        try {
          client.connect(config);
        } catch (error) {
          // ssh2 checks the key and passphrase here, before any network traffic.
          failWith({ kind: "config", detail: scrub(errorMessage(error)) });
        }
      };
      if (!connection.jumpHost) {
        startTimer();
        return handshake(undefined);
      }
      this.forwardThrough(connection.jumpHost, connection.host, connection.port, abandon.signal, startTimer).then(
        (sock) => {
          // The attempt ended meanwhile (timed out): nobody will use this tunnel.
          if (settled) return void sock.close();
          handshake(sock);
        },
        (error: unknown) =>
          fail(error instanceof SshConnectError ? error : new SshConnectError(endpoint, { kind: "network", detail: scrub(errorMessage(error)) })),
      );
    });
    this.connections.set(key, pooled);
    pooled.ready.catch(() => undefined);
    return pooled;
  }

  /**
   * A TCP stream to host:port opened from the jump host. It takes none of the jump host's
   * session slots: a tunnel stays open as long as the connection through it (until that one
   * idles), and holding slots that long would starve the commands on the jump host and the
   * tunnels to its other targets. `jumpConnected` runs once the jump host is connected (within
   * its own deadlines). `abandon` aborts when the connection attempt it serves is over (timed
   * out): a tunnel the jump host opens later is then closed.
   */
  private async forwardThrough(jump: Connection, host: string, port: number, abandon: AbortSignal, jumpConnected: () => void): Promise<ClientChannel> {
    const target = `${host}:${port}`;
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.connect(jump);
      jumpConnected();
      if (abandon.aborted) throw new SshConnectError(target, { kind: "tunnel", jumpHost: pooled.endpoint, abandoned: true });
      if (pooled.closed) continue;
      // Counted from the request on, so that the jump connection does not idle out meanwhile.
      pooled.openTunnels++;
      clearTimeout(pooled.idleTimer);
      try {
        const stream = await new Promise<ClientChannel>((resolve, reject) => {
          const onAbandon = () => reject(new SshConnectError(target, { kind: "tunnel", jumpHost: pooled.endpoint, unanswered: true }));
          abandon.addEventListener("abort", onAbandon, { once: true });
          try {
            pooled.client.forwardOut("127.0.0.1", 0, host, port, (error, channel) => {
              abandon.removeEventListener("abort", onAbandon);
              if (abandon.aborted) return void channel?.close();
              if (error) reject(error);
              else resolve(channel);
            });
          } catch (error) {
            abandon.removeEventListener("abort", onAbandon);
            reject(error);
          }
        });
        stream.once("close", () => this.closeTunnel(pooled));
        return stream;
      } catch (error) {
        this.closeTunnel(pooled);
        if (error instanceof SshConnectError) throw error;
        if (attempt < 2 && pooled.closed) continue;
        throw new SshConnectError(target, { kind: "tunnel", jumpHost: pooled.endpoint, detail: errorMessage(error) });
      }
    }
  }

  /**
   * Waits for a free session slot: "closed" when the connection closed meanwhile (the caller
   * reconnects), "expired" when `deadline` passed first.
   */
  private async acquireSlot(pooled: PooledConnection, deadline: number): Promise<"acquired" | "closed" | "expired"> {
    clearTimeout(pooled.idleTimer);
    const expired = () => Date.now() >= deadline;
    while (pooled.activeSessions >= pooled.sessionLimit && !pooled.closed && !expired()) {
      await new Promise<void>((resolve) => {
        // After the other timers due now: a holder whose deadline is this same instant tears the
        // connection down first, and this command, which never started, then starts over (exec).
        const timer = setTimeout(() => setImmediate(wake), deadline - Date.now());
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        pooled.slotWaiters.push(wake);
      });
    }
    if (pooled.closed) return "closed";
    if (expired()) return "expired";
    // Also after a wait: the slot's last holder started the idle countdown when it let go.
    clearTimeout(pooled.idleTimer);
    pooled.activeSessions++;
    return "acquired";
  }

  private releaseSlot(pooled: PooledConnection): void {
    pooled.activeSessions--;
    // Every waiter checks again for itself (one wakes, the others wait on).
    this.wakeAll(pooled);
    this.idleWhenUnused(pooled);
  }

  private closeTunnel(pooled: PooledConnection): void {
    pooled.openTunnels--;
    this.idleWhenUnused(pooled);
  }

  /** Starts the idle countdown of a connection that runs no command and carries no tunnel. */
  private idleWhenUnused(pooled: PooledConnection): void {
    const unused = () => pooled.activeSessions === 0 && pooled.openTunnels === 0 && !pooled.closed;
    if (!unused()) return;
    clearTimeout(pooled.idleTimer);
    pooled.idleTimer = setTimeout(() => unused() && this.drop(pooled), this.idleCloseMs);
    pooled.idleTimer.unref();
  }

  private wakeAll(pooled: PooledConnection): void {
    for (const wake of pooled.slotWaiters.splice(0)) wake();
  }

  /** Closes a connection politely (the server is answering). */
  private drop(pooled: PooledConnection): void {
    this.forget(pooled);
    pooled.client.end();
  }

  /** Tears a connection down without waiting for the server, which stopped answering. */
  private destroy(pooled: PooledConnection): void {
    this.forget(pooled);
    pooled.client.destroy();
  }

  /** Takes a connection out of the pool and releases everything waiting for one of its slots. */
  private forget(pooled: PooledConnection): void {
    pooled.closed = true;
    clearTimeout(pooled.idleTimer);
    if (this.connections.get(pooled.key) === pooled) this.connections.delete(pooled.key);
    this.wakeAll(pooled);
  }
}

const POOL_KEY = Symbol.for("pulumi-netdev/ssh-pool/v1");

/**
 * The process-wide pool. Pulumi loads each distinct provider text separately (and older state
 * holds closure-serialized ones), so module state might not be shared between resource kinds;
 * globalThis is.
 */
export function sshPool(): SshPool {
  const holder = globalThis as unknown as Record<symbol, SshPool | undefined>;
  holder[POOL_KEY] ??= new SshPool({ coalesceWindowMs: coalesceWindowFromEnv() });
  return holder[POOL_KEY];
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
