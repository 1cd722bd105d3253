import { type Artifact, driftOf, FINGERPRINT_ARGV, parseFingerprints } from "../persist/files";
import { persistViaOn } from "../persist/host-support";
import type { PersistVia } from "../persist/mode";
import type { Host } from "./host-interface";

/**
 * What refresh reports as `persist` for a persisted resource: its `mode` when its files on the
 * host are those `artifacts` (one listing per host, shared by a refresh), else "drifted", with
 * a warning naming the missing or edited files (`what`: the resource and its host). The next
 * `up` sees the change and writes them again.
 */
export async function persistedState(host: Host, what: string, artifacts: Artifact[], mode: string): Promise<string> {
  return driftVerdict(what, driftOf(artifacts, parseFingerprints(await host.readShared(FINGERPRINT_ARGV))), mode);
}

/** `mode` when nothing drifted, else "drifted", with a warning naming each file of `drift` ("path (missing|edited)"). */
export function driftVerdict(what: string, drift: readonly string[], mode: string): string {
  if (drift.length === 0) return mode;
  console.warn(`netdev: ${what}: its boot-time files differ from what \`pulumi up\` wrote: ${drift.join(", ")}; the next \`pulumi up\` rewrites them`);
  return "drifted";
}

/**
 * With `persist: "auto"`, on a host that now runs another network manager than the files were
 * written for (`via`): "drifted", with a warning; otherwise `verdict` as it is.
 */
export async function autoVerdict(host: Host, what: string, persist: unknown, via: PersistVia, verdict: string): Promise<string> {
  if (persist !== "auto" || verdict === "drifted") return verdict;
  const now = await persistViaOn(host, "auto");
  if (now === via) return verdict;
  console.warn(`netdev: ${what}: persist "auto" wrote ${via} files, but the host now calls for ${now}; the next \`pulumi up\` writes ${now}'s`);
  return "drifted";
}
