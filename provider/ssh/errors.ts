/** Where a command ran, for error messages: never includes credentials. */
export interface Endpoint {
  user: string;
  host: string;
  port: number;
}

export function describeEndpoint(endpoint: Endpoint): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
}

/** Could not connect or authenticate; `retryable` is false for auth failures and host key mismatches. */
export class SshConnectError extends Error {
  override name = "SshConnectError";
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(`cannot connect to ${endpoint}: ${reason}`);
  }
}

export class HostKeyMismatchError extends SshConnectError {
  override name = "HostKeyMismatchError";
  constructor(endpoint: string, expected: readonly string[], actualFingerprint: string) {
    super(
      endpoint,
      `host key mismatch: the server presented ${actualFingerprint}, expected ${expected.join(" or ")}. ` +
        "Refusing to connect: the host may have been reinstalled, or someone is intercepting the connection.",
      false,
    );
  }
}

/** A remote command exited non-zero (or was killed, or timed out). */
export class RemoteCommandError extends Error {
  override name = "RemoteCommandError";
  constructor(
    readonly endpoint: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    /** Why it failed when it did not simply exit non-zero (timed out, lost, refused, …). */
    readonly reason?: string,
  ) {
    super(`on ${endpoint}: \`${command}\` ${reason ?? `exited with ${exitCode}`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
  }
}
