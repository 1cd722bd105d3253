/** Why sudo refused a command (provider/ssh/sudo.ts tells them apart). */
export type SudoProblem = "no-password" | "wrong-password" | "not-allowed" | "requiretty" | "not-installed" | "failed";

/** Where a command ran, for error messages: never includes credentials. */
export interface Endpoint {
  user: string;
  host: string;
  port: number;
}

export function describeEndpoint(endpoint: Endpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
}

/**
 * Why a connection attempt failed, as data: callers switch on `kind`, the message is derived.
 * `detail` texts come from ssh2 or the server and are scrubbed of the connection's secrets.
 */
export type ConnectFailure =
  /** The server rejected the credentials. */
  | { kind: "auth"; user: string; detail: string }
  /** The server's host key matches none of the pinned ones. */
  | { kind: "host-key"; expected: readonly string[]; presented: string }
  /** The credentials themselves are unusable (a key that does not parse, a wrong passphrase). */
  | { kind: "config"; detail: string }
  /** The hop did not connect within connectTimeoutMs; `jumpHost` when it waited for that one's tunnel. */
  | { kind: "timeout"; timeoutMs: number; jumpHost?: string }
  | { kind: "closed-in-handshake" }
  /** The jump host could not open the tunnel, or did not in time (`unanswered`), or was not asked (`abandoned`). */
  | { kind: "tunnel"; jumpHost: string; detail?: string; unanswered?: boolean; abandoned?: boolean }
  /** Anything else on the way (refused, reset, unreachable): worth another attempt. */
  | { kind: "network"; detail: string };

function connectReason(cause: ConnectFailure): string {
  switch (cause.kind) {
    case "auth":
      return `authentication failed for ${cause.user} (${cause.detail}); check the key, password or agent`;
    case "host-key":
      return (
        `host key mismatch: the server presented ${cause.presented}, expected ${cause.expected.join(" or ")}. ` +
        "Refusing to connect: the host may have been reinstalled, or someone is intercepting the connection."
      );
    case "config":
    case "network":
      return cause.detail;
    case "timeout":
      return `timed out after ${cause.timeoutMs} ms${cause.jumpHost ? ` waiting for jump host ${cause.jumpHost} to open a tunnel` : ""}`;
    case "closed-in-handshake":
      return "the server closed the connection during the handshake";
    case "tunnel":
      if (cause.abandoned) return `gave up before jump host ${cause.jumpHost} was asked for a tunnel`;
      if (cause.unanswered) return `jump host ${cause.jumpHost} did not answer the tunnel request in time`;
      return `jump host ${cause.jumpHost} could not open a tunnel: ${cause.detail}`;
  }
}

/** Could not connect or authenticate; `retryable` is false for auth failures, unusable keys and host key mismatches. */
export class SshConnectError extends Error {
  override name = "SshConnectError";
  readonly reason: string;
  readonly retryable: boolean;
  constructor(
    readonly endpoint: string,
    override readonly cause: ConnectFailure,
  ) {
    const reason = connectReason(cause);
    super(`cannot connect to ${endpoint}: ${reason}`);
    this.reason = reason;
    this.retryable = cause.kind !== "auth" && cause.kind !== "host-key" && cause.kind !== "config";
  }
}

export class HostKeyMismatchError extends SshConnectError {
  override name = "HostKeyMismatchError";
  constructor(endpoint: string, expected: readonly string[], presented: string) {
    super(endpoint, { kind: "host-key", expected, presented });
  }
}

/**
 * Why a command has no result, or a failing one, as data: callers switch on `kind`, the message
 * is derived. `mayHaveRun`: the command changes the host and may have done so, or not.
 * `detail` and `batchEnded` texts come from ssh2 or the host and are scrubbed of the connection's secrets.
 */
export type CommandFailure =
  /** It ran and exited non-zero. */
  | { kind: "exit"; exitCode: number }
  /** Every session slot stayed busy until the deadline: it did not start. */
  | { kind: "no-session"; timeoutMs: number; maxChannels: number }
  /** The server kept refusing it until the deadline (a read retried after refusals). */
  | { kind: "not-accepted"; timeoutMs: number }
  /** The deadline passed before the server answered the request to run it; the connection was closed. */
  | { kind: "unanswered"; timeoutMs: number; mayHaveRun: boolean }
  /** The deadline passed while it ran; the connection was closed. */
  | { kind: "timeout"; timeoutMs: number; mayHaveRun: boolean }
  /** It printed more than the output cap; its channel was closed and the output discarded. */
  | { kind: "overflow"; maxOutputBytes: number; mayHaveRun: boolean }
  /** The connection went away while it ran. */
  | { kind: "lost" }
  /** The server's answer leaves open whether it started, and it is not a read that may run again. */
  | { kind: "unconfirmed"; detail: string }
  /** The server refused to run it: nothing ran. */
  | { kind: "refused"; detail: string }
  /** It travelled in a batch that ended before reporting its result (`batchEnded`: how the batch ended). */
  | { kind: "unreported"; batchEnded: string }
  /** sudo did not run it (see sudo.ts): `advice` names the host, the user and the fix. */
  | { kind: "sudo"; problem: SudoProblem; exitCode: number; advice: string };

function commandReason(cause: CommandFailure, endpoint: string, batchedWith: number | undefined): string {
  const mayHaveRun = (may: boolean) => (may ? ": it may or may not have run" : "");
  const batch = batchedWith === undefined ? "" : `it ran in one command with ${batchedWith} others for this host`;
  const text = (() => {
    switch (cause.kind) {
      case "exit":
        return `exited with ${cause.exitCode}`;
      case "no-session":
        return `timed out after ${cause.timeoutMs} ms waiting for a free session on ${endpoint} (maxChannels ${cause.maxChannels}, all busy): it did not start`;
      case "not-accepted":
        return `timed out after ${cause.timeoutMs} ms before the server accepted it (retried after refusals)`;
      case "unanswered":
        return `timed out after ${cause.timeoutMs} ms: the server did not answer the request to run it (the connection to ${endpoint} was closed)${mayHaveRun(cause.mayHaveRun)}`;
      case "timeout":
        return `timed out after ${cause.timeoutMs} ms before it finished (the connection to ${endpoint} was closed)${mayHaveRun(cause.mayHaveRun)}`;
      case "overflow":
        return `printed more than ${cause.maxOutputBytes} bytes (stdout and stderr together); the channel was closed and its output discarded${cause.mayHaveRun ? ", so whether it completed is unknown" : ""}`;
      case "lost":
        return "lost its connection before finishing (the SSH server closed or the host went away)";
      case "unconfirmed":
        return `could not confirm it started (${cause.detail}): it may or may not have run`;
      case "refused":
        return `could not start: ${cause.detail}`;
      case "unreported":
        return `did not report back (${batch || "it ran in a batch"}, which ended early: ${cause.batchEnded}): it may or may not have run`;
      case "sudo":
        return cause.advice;
    }
  })();
  return batch && cause.kind !== "unreported" ? `${text} (${batch})` : text;
}

/** A remote command exited non-zero, or has no result (timed out, lost, refused, …: see `cause`). */
export class RemoteCommandError extends Error {
  override name = "RemoteCommandError";
  override readonly cause: CommandFailure;
  /** The exit code when it (or sudo, refusing it) exited non-zero; null when it has no result. */
  readonly exitCode: number | null;
  /** Why it failed when it did not simply exit non-zero, in words (the message's core). */
  readonly reason?: string;
  constructor(
    readonly endpoint: string,
    readonly command: string,
    failure: number | CommandFailure,
    readonly stderr: string,
    /** How many other commands shared its exec (see batch.ts), when it travelled in a batch. */
    readonly batchedWith?: number,
  ) {
    const cause: CommandFailure = typeof failure === "number" ? { kind: "exit", exitCode: failure } : failure;
    const reason = commandReason(cause, endpoint, batchedWith);
    super(`on ${endpoint}: \`${command}\` ${reason}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
    this.cause = cause;
    this.exitCode = cause.kind === "exit" || cause.kind === "sudo" ? cause.exitCode : null;
    if (cause.kind !== "exit") this.reason = reason;
  }
}
