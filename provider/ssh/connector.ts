import type { ClientChannel, ConnectConfig } from "ssh2";
import { type Connection, fingerprint, hostKeyMatches, hostKeyPins, poolKey, secretsOf } from "./connection";
import { type ConnectFailure, describeEndpoint, HostKeyMismatchError, SshConnectError } from "./errors";
import { connectFailure, errorMessage, isDropbear } from "./failures";
import { PooledConnection } from "./pooled-connection";
import { scrubSecrets } from "./scrub";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One connection per pool key (endpoint and credentials), made when first needed: through the
 * jump host's tunnel if there is one, retried with backoff, the server's host key checked
 * against the pins. Deadlines per hop: see SshPool.exec.
 */
export class Connector {
  private readonly connections = new Map<string, PooledConnection>();
  /** Completed SSH handshakes per endpoint (user@host:port) since the process started. */
  readonly handshakeCounts = new Map<string, number>();
  /** Idle connections close after this long so `pulumi up` and test processes exit promptly. */
  idleCloseMs = Number(process.env.NETDEV_SSH_IDLE_MS ?? 2000);

  /** Completed SSH handshakes per endpoint (user@host:port) since the process started. */
  handshakes(endpoint?: string): number {
    if (endpoint !== undefined) return this.handshakeCounts.get(endpoint) ?? 0;
    let total = 0;
    for (const count of this.handshakeCounts.values()) total += count;
    return total;
  }

  /** The pooled connection for these args, connecting (with retries and backoff) when there is none. */
  async connect(connection: Connection): Promise<PooledConnection> {
    const key = poolKey(connection);
    for (let attempt = 0; ; attempt++) {
      const existing = this.connections.get(key);
      const pooled = existing && !existing.closed ? existing : this.open(connection, key);
      try {
        await pooled.ready;
        return pooled;
      } catch (error) {
        pooled.drop();
        const retryable = error instanceof SshConnectError && error.retryable;
        if (!retryable || attempt >= connection.retries) throw error;
        await sleep(connection.retryBackoffMs * 2 ** attempt);
      }
    }
  }

  /**
   * Connects in the background unless a connection for these args is open or being opened; once
   * connected, it idles out as an unused one does. A failure is dropped: the first command there
   * connects again, and reports its own failure.
   */
  preconnect(connection: Connection): void {
    const existing = this.connections.get(poolKey(connection));
    if (existing && !existing.closed) return;
    this.connect(connection).then(
      (pooled) => pooled.idleWhenUnused(),
      () => undefined,
    );
  }

  /** Closes every connection now. */
  closeAll(): void {
    for (const pooled of [...this.connections.values()]) pooled.drop();
  }

  private open(connection: Connection, key: string): PooledConnection {
    const { Client } = require("ssh2") as typeof import("ssh2");
    const endpoint = describeEndpoint(connection);
    const client = new Client();
    const pooled = new PooledConnection(
      key,
      endpoint,
      client,
      connection.maxChannels,
      () => this.idleCloseMs,
      (gone) => {
        if (this.connections.get(key) === gone) this.connections.delete(key);
      },
    );
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
        if (isDropbear(client)) pooled.slots.limit = 1;
        this.handshakeCounts.set(endpoint, (this.handshakeCounts.get(endpoint) ?? 0) + 1);
        resolve();
      });
      client.on("error", (error: Error & { level?: string }) => {
        if (presentedKey !== undefined) return fail(new HostKeyMismatchError(endpoint, pins, presentedKey));
        failWith(connectFailure(error, connection.user, scrub));
      });
      client.on("close", () => {
        pooled.forget();
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
      pooled.openTunnel();
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
        stream.once("close", () => pooled.closeTunnel());
        return stream;
      } catch (error) {
        pooled.closeTunnel();
        if (error instanceof SshConnectError) throw error;
        if (attempt < 2 && pooled.closed) continue;
        throw new SshConnectError(target, { kind: "tunnel", jumpHost: pooled.endpoint, detail: errorMessage(error) });
      }
    }
  }
}
