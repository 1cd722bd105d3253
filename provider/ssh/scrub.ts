/**
 * Keeping keys and passwords out of every message: errors, stderr, and stdout where it could
 * end up in one. A secret may be short (a 1-character password is still a password), so error
 * text is scrubbed of every secret whatever its length; such a message may come out garbled,
 * which is the lesser evil.
 */

const REDACTED = "[secret]";

/**
 * Stdout is data (`ip -json` output), so replacing a short secret in it would corrupt it
 * (a password "1" would eat every digit). Only secrets this long are scrubbed from stdout:
 * a key or real password appearing there is a leak, not a coincidence. Code that puts stdout
 * into a message must not quote it (see parseRemoteJson); the provider boundary scrubs all.
 */
export const STDOUT_SCRUB_MIN_LENGTH = 8;

/**
 * Removes every secret from `text` in one pass (so "[secret]" itself is never scrubbed again),
 * longest first (so a short secret inside a longer one does not split it). Each long line of a
 * multi-line key is a secret too: ssh2 may quote one line of a malformed key.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    needles.add(secret);
    for (const line of secret.split("\n")) if (line.trim().length >= 16) needles.add(line);
  }
  if (needles.size === 0 || text === "") return text;
  const pattern = [...needles]
    .sort((a, b) => b.length - a.length)
    .map((needle) => needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("|");
  return text.replace(new RegExp(pattern, "g"), REDACTED);
}

/** Stdout with every secret of at least STDOUT_SCRUB_MIN_LENGTH characters removed. */
export function scrubStdout(stdout: string, secrets: readonly string[]): string {
  return scrubSecrets(
    stdout,
    secrets.filter((secret) => secret.length >= STDOUT_SCRUB_MIN_LENGTH),
  );
}

/**
 * A command's output as every caller gets it, whether it ran alone or in a batch: stderr
 * scrubbed of every secret (it is error text), stdout of the long ones (it is data).
 */
export function scrubbedOutput(
  output: { stdout: string; stderr: string; exitCode: number },
  secrets: readonly string[],
): { stdout: string; stderr: string; exitCode: number } {
  return { stdout: scrubStdout(output.stdout, secrets), stderr: scrubSecrets(output.stderr, secrets), exitCode: output.exitCode };
}

/** Every secret string in a connection's fields (and its jump hosts'), parsed or not. */
export function secretsIn(connection: unknown): string[] {
  const secrets: string[] = [];
  let current = connection as { privateKey?: unknown; passphrase?: unknown; password?: unknown; sudoPassword?: unknown; jumpHost?: unknown } | undefined;
  for (let depth = 0; current && typeof current === "object" && depth < 16; depth++) {
    for (const value of [current.privateKey, current.passphrase, current.password, current.sudoPassword]) {
      if (typeof value === "string" && value.length > 0) secrets.push(value);
    }
    current = current.jumpHost as typeof current;
  }
  return secrets;
}

/**
 * JSON printed by a remote command. JSON.parse quotes the text it chokes on, and that text
 * came from the host: the error names the command instead and never includes the output.
 */
export function parseRemoteJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text.trim() || "[]") as T;
  } catch {
    throw new Error(`${what} printed ${Buffer.byteLength(text, "utf8")} bytes that are not valid JSON (output not shown: it may hold secrets)`);
  }
}
