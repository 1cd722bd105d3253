import type { Client } from "ssh2";
import type { ConnectFailure } from "./errors";

/**
 * How the pool tells ssh2's failures apart: whether a command may have run (the exactly-once
 * rule for host-changing commands depends on it), and which servers need one session at a time.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The server refused to open the channel: nothing ran. */
export function isChannelOpenRefusal(error: unknown): boolean {
  return /Channel open failure/i.test(errorMessage(error));
}

/** ssh2 says "Unable to exec" for a refused exec request and for a channel closed before the reply alike. */
export function isAmbiguousRefusal(error: unknown): boolean {
  return /Unable to exec/i.test(errorMessage(error));
}

/**
 * Dropbear (2022.83 measured) mishandles session channels that run side by side: with two or
 * more at once it now and then closes a new channel without answering its exec request, after
 * it ran the command (300 concurrent commands: 36 to 94 ran twice once retried). One at a time:
 * none in 300. ssh2 keeps the server's software version in a private field.
 */
export function isDropbear(client: Client): boolean {
  const software = (client as unknown as { _remoteVer?: string })._remoteVer;
  return typeof software === "string" && /^dropbear/i.test(software);
}

export function isConnectionLoss(error: unknown): boolean {
  return /No response from server|Not connected|socket|ECONNRESET|EPIPE|closed/i.test(errorMessage(error));
}

/**
 * What an error ssh2 reports while connecting means, as data. `detail` is its message, scrubbed
 * by `scrub` of the connection's secrets (an ssh2 message may quote a bad key or passphrase).
 */
export function connectFailure(error: Error & { level?: string }, user: string, scrub: (text: string) => string): ConnectFailure {
  const detail = scrub(errorMessage(error));
  if (error.level === "client-authentication") return { kind: "auth", user, detail };
  // ssh2 tells an unusable key or passphrase apart only in its message.
  if (/privateKey|passphrase|Unsupported key format/i.test(detail)) return { kind: "config", detail };
  return { kind: "network", detail };
}
