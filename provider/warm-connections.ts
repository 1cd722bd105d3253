import { containsUnknown } from "./engine/validation";
import { type Connection, connectionSchema, poolKey } from "./ssh/connection";
import type { SshPool } from "./ssh/pool";

/**
 * Pulumi checks every resource of a run before it creates or updates any of them, and runs at
 * most `--parallel` operations at once (8 on two cores): without this, each operation on a new
 * host would wait for its SSH handshake inside that limit, one wave of hosts after the other.
 *
 * So the hosts that checked resources name (a `connection`, a peer list's `connections`) are
 * noted, and once the run changes something (its first create, update or delete: never in a
 * preview, which checks and diffs only) every one of them is connected at once, in the
 * background, as is each host a resource checked after that names; the handshakes then overlap
 * each other and Pulumi's own work. Only the login: nothing runs on a host until an operation
 * does. NETDEV_SSH_PRECONNECT=off leaves every connection to its first command.
 */
export class ConnectionWarmer {
  private readonly noted = new Map<string, Connection>();
  private changing = false;

  constructor(private readonly pool: Pick<SshPool, "preconnect">) {}

  /** A resource's inputs passed its check: its hosts are noted, and connected now if the run already changes things. */
  checked(inputs: Record<string, unknown>): void {
    if (process.env.NETDEV_SSH_PRECONNECT === "off") return;
    for (const connection of connectionsIn(inputs)) {
      const key = poolKey(connection);
      if (this.noted.has(key)) continue;
      this.noted.set(key, connection);
      if (this.changing) this.pool.preconnect(connection);
    }
  }

  /** The run changes something: every host noted so far is connected. */
  changes(): void {
    if (this.changing || process.env.NETDEV_SSH_PRECONNECT === "off") return;
    this.changing = true;
    for (const connection of this.noted.values()) this.pool.preconnect(connection);
  }
}

/** The well-formed, known connections among a resource's inputs: `connection`, and each of `connections`. */
function connectionsIn(inputs: Record<string, unknown>): Connection[] {
  const named = [inputs.connection, ...(isRecord(inputs.connections) ? Object.values(inputs.connections) : [])];
  const connections: Connection[] = [];
  for (const candidate of named) {
    if (candidate === undefined || containsUnknown(candidate)) continue;
    const parsed = connectionSchema.safeParse(candidate);
    if (parsed.success) connections.push(parsed.data);
  }
  return connections;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
