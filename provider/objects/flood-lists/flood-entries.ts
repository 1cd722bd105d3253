import type { Host, ReadCommand } from "../../engine/host-interface";
import { isIpError } from "../../engine/ip-errors";
import type { Step } from "../../engine/steps";
import { parseRemoteJson } from "../../ssh/scrub";

/**
 * A unicast VTEP's flood list on one host: the all-zero-MAC FDB entries that replicate
 * broadcast, unknown unicast and multicast frames to each listed underlay address.
 */
export const ALL_ZERO_MAC = "00:00:00:00:00:00";

/** Where a flood list lives: the VTEP's name and its namespace on one host. */
export interface VtepRef {
  name: string;
  netns?: string;
}

/**
 * The steps from list `before` to list `after`: deletes of what left, appends of what joined.
 * The kernel keeps a destination appended again as it is; a delete of an entry already gone
 * may fail (the fake host's model does), which the caller settles by reading the host.
 */
export function floodSteps(vtep: VtepRef, before: readonly string[], after: readonly string[]): Step[] {
  const entry = (verb: "del" | "append", dst: string): Step => ({
    field: "peers",
    tool: "bridge",
    netns: vtep.netns,
    args: ["fdb", verb, ALL_ZERO_MAC, "dev", vtep.name, "dst", dst],
  });
  return [
    ...before.filter((dst) => !after.includes(dst)).map((dst) => entry("del", dst)),
    ...after.filter((dst) => !before.includes(dst)).map((dst) => entry("append", dst)),
  ];
}

/** The read of a VTEP's FDB, one JSON line. */
export function fdbReadCommand(vtep: VtepRef): ReadCommand {
  return { tool: "bridge", netns: vtep.netns, args: ["-json", "fdb", "show", "dev", vtep.name] };
}

/** The destinations of the all-zero entries in an FDB as `bridge -json fdb show` lists it, in its order. */
export function floodDestinations(entries: ReadonlyArray<{ mac?: string; dst?: string }>): string[] {
  return entries.filter((entry) => entry.mac === ALL_ZERO_MAC && entry.dst).map((entry) => entry.dst!);
}

/**
 * The destinations of the VTEP's all-zero entries as the host has them, sorted; undefined when
 * the VTEP (or its namespace) is not there.
 */
export async function floodEntriesOn(host: Host, vtep: VtepRef): Promise<string[] | undefined> {
  const result = await host.exec({ ...fdbReadCommand(vtep), idempotent: true });
  if (result.exitCode !== 0) {
    if (isIpError(result.stderr, "device-missing", "namespace-missing")) return undefined;
    throw new Error(`reading the FDB of ${vtep.name} on ${host.endpoint}: ${result.stderr.trim()}`);
  }
  const entries = parseRemoteJson<Array<{ mac?: string; dst?: string }>>(result.stdout.trim() || "[]", "bridge -json fdb show");
  return [...new Set(floodDestinations(entries))].sort();
}
