import { type Artifact, driftOf, FINGERPRINT_ARGV, parseFingerprints } from "../persist/files";
import type { Host } from "./host-interface";

/**
 * What refresh reports as `persist` for a persisted resource: its `mode` when its files on the
 * host are those `artifacts` (one listing per host, shared by a refresh), else "drifted", with
 * a warning naming the missing or edited files (`what`: the resource and its host). The next
 * `up` sees the change and writes them again.
 */
export async function persistedState(host: Host, what: string, artifacts: Artifact[], mode: string): Promise<string> {
  const drift = driftOf(artifacts, parseFingerprints(await host.readShared(FINGERPRINT_ARGV)));
  if (drift.length === 0) return mode;
  console.warn(`netdev: ${what}: its boot-time files differ from what \`pulumi up\` wrote: ${drift.join(", ")}; the next \`pulumi up\` rewrites them`);
  return "drifted";
}
