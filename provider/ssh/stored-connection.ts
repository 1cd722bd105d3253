/**
 * The transport's tuning knobs at their defaults (connectionSchema applies them). A connection
 * is state twice per resource (inputs and outputs, each a secret whose ciphertext grows with
 * it), and the CLI rewrites the whole state after every step, so a stored connection leaves out
 * the knobs left at their defaults: parsing it again (connectionOf) puts them back.
 */
export const TUNING_DEFAULTS = {
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 120_000,
  retries: 3,
  retryBackoffMs: 500,
  maxChannels: 6,
} as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The connection as state keeps it: without the tuning knobs at their defaults (a jump host's too). Anything but an object passes as it is. */
export function storedConnection(connection: unknown): unknown {
  if (!isPlainObject(connection)) return connection;
  const kept = Object.entries(connection).filter(([key, value]) => !(key in TUNING_DEFAULTS && TUNING_DEFAULTS[key as keyof typeof TUNING_DEFAULTS] === value));
  return Object.fromEntries(kept.map(([key, value]) => [key, key === "jumpHost" ? storedConnection(value) : value]));
}

/**
 * The connection with every tuning knob it leaves out at its default, without parsing it (it may
 * hold values unknown during preview): a connection stored by a release that kept the defaults
 * and the same one stored without them compare equal.
 */
export function withTuningDefaults(connection: unknown): unknown {
  if (!isPlainObject(connection)) return connection;
  const filled: Record<string, unknown> = { ...TUNING_DEFAULTS, ...connection };
  if (connection.jumpHost !== undefined) filled.jumpHost = withTuningDefaults(connection.jumpHost);
  return filled;
}
