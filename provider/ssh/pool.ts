import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { type Connection, fingerprint, hostKeyMatches, hostKeyPins, poolKey, secretsOf } from "./connection";
import { describeEndpoint, HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./errors";
import { quoteArgv } from "./quote";

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Overrides the connection's commandTimeoutMs. */
  timeoutMs?: number;
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

interface PooledConnection {
  key: string;
  endpoint: string;
  client: Client;
  ready: Promise<void>;
  closed: boolean;
  activeChannels: number;
  maxChannels: number;
  /** Session (exec) channels open now, and how many the server can take at once. */
  activeSessions: number;
  sessionLimit: number;
  slotWaiters: Array<() => void>;
  idleTimer?: NodeJS.Timeout;
}

/** Removes every secret value from a message: ssh2 and remote stderr must never leak a key or password. */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let scrubbed = message;
  for (const secret of secrets) {
    scrubbed = scrubbed.split(secret).join("[secret]");
    for (const line of secret.split("\n").filter((l) => l.trim().length >= 16)) scrubbed = scrubbed.split(line).join("[secret]");
  }
  return scrubbed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  /** Completed SSH handshakes per endpoint (user@host:port) since the process started. */
  handshakes(endpoint?: string): number {
    if (endpoint !== undefined) return this.handshakeCounts.get(endpoint) ?? 0;
    let total = 0;
    for (const count of this.handshakeCounts.values()) total += count;
    return total;
  }

  /** Runs argv on the host and returns its output whatever the exit code. */
  async exec(connection: Connection, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = quoteArgv(argv);
    const wire = `${command}${EXIT_TRAILER}`;
    this.commandsStarted++;
    const secrets = secretsOf(connection);
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.connect(connection);
      if (!(await this.acquireSlot(pooled, "session"))) continue;
      let channel: ClientChannel;
      try {
        channel = await openExecChannel(pooled.client, wire);
      } catch (error) {
        this.releaseSlot(pooled, "session");
        // "Unable to exec" is the server refusing the command, or the channel closing before the
        // server answered; dropbear does the latter after it ran the command. Only a read may
        // therefore run again; anything else is reported, never silently run twice.
        const ambiguous = isAmbiguousRefusal(error);
        if (ambiguous && !options.idempotent) {
          throw new RemoteCommandError(pooled.endpoint, command, null, "", `could not confirm it started (${scrubSecrets(errorMessage(error), secrets)}): it may or may not have run`);
        }
        if (attempt < 5 && (pooled.closed || isConnectionLoss(error))) {
          this.drop(pooled);
          continue;
        }
        // A refused channel open ran nothing: sshd frees a session slot only once it has reaped
        // the previous command, so right after one closes it may refuse a new one. Wait and retry.
        if (attempt < 8 && (isChannelOpenRefusal(error) || ambiguous)) {
          await sleep(20 * 2 ** attempt);
          continue;
        }
        throw new RemoteCommandError(pooled.endpoint, command, null, "", `could not start: ${scrubSecrets(errorMessage(error), secrets)}`);
      }
      try {
        const result = await collect(channel, options.stdin, options.timeoutMs ?? connection.commandTimeoutMs);
        if (result.kind === "timeout") {
          throw new RemoteCommandError(pooled.endpoint, command, null, scrubSecrets(result.stderr, secrets), `timed out after ${options.timeoutMs ?? connection.commandTimeoutMs} ms`);
        }
        if (result.kind !== "exit") {
          throw new RemoteCommandError(pooled.endpoint, command, null, scrubSecrets(result.stderr, secrets), "lost its connection before finishing (the SSH server closed or the host went away)");
        }
        return { stdout: result.stdout, stderr: scrubSecrets(result.stderr, secrets), exitCode: result.exitCode };
      } finally {
        this.releaseSlot(pooled, "session");
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
      key, endpoint, client, closed: false, activeChannels: 0, maxChannels: connection.maxChannels, activeSessions: 0, sessionLimit: connection.maxChannels, slotWaiters: [],
      ready: Promise.resolve(),
    };
    const pins = hostKeyPins(connection);
    const secrets = secretsOf(connection);
    pooled.ready = (async () => {
      const sock = connection.jumpHost ? await this.forwardThrough(connection.jumpHost, connection.host, connection.port) : undefined;
      await new Promise<void>((resolve, reject) => {
        let presentedKey: string | undefined;
        let settled = false;
        const fail = (error: SshConnectError) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error);
        };
        // ssh2's readyTimeout starts after the TCP connect; this bounds the whole attempt.
        const timer = setTimeout(() => {
          fail(new SshConnectError(endpoint, `timed out after ${connection.connectTimeoutMs} ms`, true));
          client.destroy();
        }, connection.connectTimeoutMs);
        client.once("ready", () => {
          settled = true;
          clearTimeout(timer);
          if (isDropbear(client)) pooled.sessionLimit = 1;
          this.handshakeCounts.set(endpoint, (this.handshakeCounts.get(endpoint) ?? 0) + 1);
          resolve();
        });
        client.on("error", (error: Error & { level?: string; code?: string }) => {
          if (presentedKey !== undefined) return fail(new HostKeyMismatchError(endpoint, pins, presentedKey));
          const message = scrubSecrets(errorMessage(error), secrets);
          if (error.level === "client-authentication") {
            return fail(new SshConnectError(endpoint, `authentication failed for ${connection.user} (${message}); check the key, password or agent`, false));
          }
          const badConfig = /privateKey|passphrase|Unsupported key format/i.test(message);
          fail(new SshConnectError(endpoint, message, !badConfig));
        });
        client.on("close", () => {
          pooled.closed = true;
          this.wakeAll(pooled);
          if (this.connections.get(key) === pooled) this.connections.delete(key);
          fail(new SshConnectError(endpoint, "the server closed the connection during the handshake", true));
        });
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
          fail(new SshConnectError(endpoint, scrubSecrets(errorMessage(error), secrets), false));
        }
      });
    })();
    this.connections.set(key, pooled);
    pooled.ready.catch(() => undefined);
    return pooled;
  }

  /** A TCP stream to host:port opened from the jump host; it holds a channel slot there while open. */
  private async forwardThrough(jump: Connection, host: string, port: number): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.connect(jump);
      if (!(await this.acquireSlot(pooled, "tunnel"))) continue;
      try {
        const stream = await new Promise<ClientChannel>((resolve, reject) =>
          pooled.client.forwardOut("127.0.0.1", 0, host, port, (error, channel) => (error ? reject(error) : resolve(channel))),
        );
        stream.once("close", () => this.releaseSlot(pooled, "tunnel"));
        return stream;
      } catch (error) {
        this.releaseSlot(pooled, "tunnel");
        if (attempt < 2 && pooled.closed) continue;
        throw new SshConnectError(`${host}:${port}`, `jump host ${pooled.endpoint} could not open a tunnel: ${errorMessage(error)}`, true);
      }
    }
  }

  /**
   * Waits for a free channel slot (and, for an exec, a free session slot); false when the
   * connection closed meanwhile (the caller reconnects).
   */
  private async acquireSlot(pooled: PooledConnection, kind: "session" | "tunnel"): Promise<boolean> {
    clearTimeout(pooled.idleTimer);
    const full = () => pooled.activeChannels >= pooled.maxChannels || (kind === "session" && pooled.activeSessions >= pooled.sessionLimit);
    while (full() && !pooled.closed) {
      await new Promise<void>((resolve) => pooled.slotWaiters.push(resolve));
    }
    if (pooled.closed) return false;
    pooled.activeChannels++;
    if (kind === "session") pooled.activeSessions++;
    return true;
  }

  private releaseSlot(pooled: PooledConnection, kind: "session" | "tunnel"): void {
    pooled.activeChannels--;
    if (kind === "session") pooled.activeSessions--;
    // Waiters wait for different limits, so each one checks again for itself.
    this.wakeAll(pooled);
    if (pooled.activeChannels === 0 && !pooled.closed) {
      clearTimeout(pooled.idleTimer);
      pooled.idleTimer = setTimeout(() => this.drop(pooled), this.idleCloseMs);
      pooled.idleTimer.unref();
    }
  }

  private wakeAll(pooled: PooledConnection): void {
    for (const wake of pooled.slotWaiters.splice(0)) wake();
  }

  private drop(pooled: PooledConnection): void {
    pooled.closed = true;
    clearTimeout(pooled.idleTimer);
    if (this.connections.get(pooled.key) === pooled) this.connections.delete(pooled.key);
    this.wakeAll(pooled);
    pooled.client.end();
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The server refused to open the channel: nothing ran. */
function isChannelOpenRefusal(error: unknown): boolean {
  return /Channel open failure/i.test(errorMessage(error));
}

/** ssh2 says "Unable to exec" for a refused exec request and for a channel closed before the reply alike. */
function isAmbiguousRefusal(error: unknown): boolean {
  return /Unable to exec/i.test(errorMessage(error));
}

/**
 * Dropbear (2022.83 measured) mishandles session channels that run side by side: with two or
 * more at once it now and then closes a new channel without answering its exec request, after
 * it ran the command (300 concurrent commands: 36 to 94 ran twice once retried). One at a time:
 * none in 300. ssh2 keeps the server's software version in a private field.
 */
function isDropbear(client: Client): boolean {
  const software = (client as unknown as { _remoteVer?: string })._remoteVer;
  return typeof software === "string" && /^dropbear/i.test(software);
}

function isConnectionLoss(error: unknown): boolean {
  return /No response from server|Not connected|socket|ECONNRESET|EPIPE|closed/i.test(errorMessage(error));
}

function openExecChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Under channel churn OpenSSH's sshd sometimes closes a session channel without sending its
 * exit-status, although all output arrived (seen here: a few in 200 concurrent commands). The
 * remote shell therefore also reports the status on stderr after the command, and collect()
 * strips it; the quoted argv before it stays one command, so this adds no shell parsing of input.
 * It requires a POSIX login shell (sh, bash, dash, zsh, busybox), as SSH exec does in practice.
 */
const EXIT_TRAILER = "; echo __netdev_exit_status=$? >&2";
const TRAILER_PATTERN = /__netdev_exit_status=(\d+)\n$/;

type Collected =
  | { kind: "exit"; stdout: string; stderr: string; exitCode: number }
  | { kind: "timeout" | "lost"; stdout: string; stderr: string };

function collect(channel: ClientChannel, stdin: string | undefined, timeoutMs: number): Promise<Collected> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitCode: number | undefined;
    let exitSignal: string | undefined;
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString("utf8");
    const timer = setTimeout(() => {
      resolve({ kind: "timeout", stdout: text(stdout), stderr: text(stderr).replace(TRAILER_PATTERN, "") });
      channel.close();
    }, timeoutMs);
    channel.on("data", (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    channel.on("exit", (code: number | null, signal?: string) => {
      if (code !== null && code !== undefined) exitCode = code;
      else exitSignal = signal ?? "unknown signal";
    });
    channel.on("close", () => {
      clearTimeout(timer);
      const errText = text(stderr);
      const trailer = TRAILER_PATTERN.exec(errText);
      const cleanErr = trailer ? errText.slice(0, trailer.index) : errText;
      if (trailer) resolve({ kind: "exit", stdout: text(stdout), stderr: cleanErr, exitCode: Number(trailer[1]) });
      else if (exitSignal !== undefined) resolve({ kind: "exit", stdout: text(stdout), stderr: `${cleanErr}\nkilled by signal ${exitSignal}`, exitCode: 128 });
      else if (exitCode !== undefined) resolve({ kind: "exit", stdout: text(stdout), stderr: cleanErr, exitCode });
      else resolve({ kind: "lost", stdout: text(stdout), stderr: cleanErr });
    });
    if (stdin !== undefined) channel.end(stdin);
    else channel.end();
  });
}

const POOL_KEY = Symbol.for("pulumi-netdev/ssh-pool/v1");

/**
 * The process-wide pool. Pulumi deserializes each dynamic provider separately, so module
 * state is not shared between resource kinds; globalThis is.
 */
export function sshPool(): SshPool {
  const holder = globalThis as unknown as Record<symbol, SshPool | undefined>;
  holder[POOL_KEY] ??= new SshPool();
  return holder[POOL_KEY];
}
