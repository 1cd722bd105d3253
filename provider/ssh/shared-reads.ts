import type { Connection } from "./connection";
import { poolKey } from "./connection";
import { quoteArgv } from "./quote";
import type { ExecResult, SshPool } from "./pool";

/**
 * How old a shared read may be. A refresh of N devices reads them within a second or two; one
 * dump of the host serves them all. Only refresh uses shared reads: what an update or delete
 * decides on is read for that device alone, right before.
 */
export const SHARED_READ_MAX_AGE_MS = 1000;

interface SharedRead {
  startedAt: number;
  result: Promise<ExecResult>;
}

const reads = new WeakMap<SshPool, Map<string, SharedRead>>();

/**
 * The result of `argv` (a command that only reads) on this host, shared with every caller that
 * asks for the same command while it is fresh: started after the last command that may have
 * changed the host ended (so nobody misses their own write), and at most maxAgeMs ago.
 * Refresh of N devices thus costs one dump per host and namespace instead of N reads.
 */
export function sharedRead(pool: SshPool, connection: Connection, argv: readonly string[], maxAgeMs = SHARED_READ_MAX_AGE_MS): Promise<ExecResult> {
  let byCommand = reads.get(pool);
  if (!byCommand) reads.set(pool, (byCommand = new Map()));
  const key = `${poolKey(connection)}\0${quoteArgv(argv)}`;
  const now = performance.now();
  const cached = byCommand.get(key);
  if (cached && cached.startedAt >= pool.lastWriteEnded(connection) && now - cached.startedAt <= maxAgeMs) return cached.result;
  const fresh: SharedRead = { startedAt: now, result: pool.exec(connection, argv, { idempotent: true }) };
  byCommand.set(key, fresh);
  // A failed read is not kept: the next caller tries again.
  fresh.result.catch(() => {
    if (byCommand.get(key) === fresh) byCommand.delete(key);
  });
  // Forget it once stale, so a long-lived process does not keep every dump it ever took.
  setTimeout(() => {
    if (byCommand.get(key) === fresh) byCommand.delete(key);
  }, maxAgeMs + 100).unref();
  return fresh.result;
}
