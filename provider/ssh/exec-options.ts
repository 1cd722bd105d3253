/** What a caller may ask of one remote command, and what it gets back. */
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
