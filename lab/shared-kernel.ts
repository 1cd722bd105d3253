import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * All lab hosts share this machine's kernel, and some of its limits are one for every network
 * namespace, where real servers each have their own. Sized for one host, they make a lab of
 * many measure itself instead of the product, so `lab up --hosts N` raises them for N (never
 * lowering one) and `lab down` puts back what was there:
 *
 * - The neighbour (ARP/NDP) table: an overlay of N lab hosts puts about 2·N·(N−1) entries in it
 *   (each host's underlay peers, each container's overlay peers); past gc_thresh3 (1024 by
 *   default) the kernel drops what it cannot resolve ("neighbor table overflow!").
 * - The per-CPU backlog of packets received and not yet processed (netdev_max_backlog, 1000 by
 *   default): every lab host's underlay link is a veth, whose packets all queue there. When an
 *   overlay first floods, each host asks the underlay for its N−1 peers at once, and each such
 *   broadcast is a copy to every other host's veth: the backlog overflows (the second column of
 *   /proc/net/softnet_stat) and an ARP lost waits a second for its retry.
 */

/** A limit under /proc/sys, in the order in which raising it writes from the last (the kernel's gc_thresh1 ≤ 2 ≤ 3). */
interface SharedLimit {
  readonly key: string;
  readonly wanted: (hosts: number) => number;
}

const SAVED_FILE = "shared-kernel-limits.json";

/** The power of two at or above `atLeast`, never under `floor` (the kernel's default). */
function powerOfTwoAtLeast(atLeast: number, floor: number): number {
  let value = floor;
  while (value < atLeast) value *= 2;
  return value;
}

/** What N lab hosts need of the neighbour table: gc_thresh3 the power of two at or above 2·N², the others its half and quarter. */
export function neighbourThresholdsFor(hosts: number): [number, number, number] {
  const third = powerOfTwoAtLeast(2 * hosts * hosts, 1024);
  return [third / 4, third / 2, third];
}

/** What N lab hosts need of the receive backlog: 16·N² packets, the power of two above (131072 for 80 hosts). */
export function backlogFor(hosts: number): number {
  return powerOfTwoAtLeast(16 * hosts * hosts, 1024);
}

export const SHARED_LIMITS: readonly SharedLimit[] = [
  ...(["ipv4", "ipv6"] as const).flatMap((family) =>
    ([1, 2, 3] as const).map((i) => ({
      key: `net/${family}/neigh/default/gc_thresh${i}`,
      wanted: (hosts: number) => neighbourThresholdsFor(hosts)[i - 1]!,
    })),
  ),
  { key: "net/core/netdev_max_backlog", wanted: backlogFor },
];

function read(root: string, key: string): number {
  return Number(readFileSync(path.join(root, key), "utf8").trim());
}

function write(root: string, key: string, value: number): void {
  writeFileSync(path.join(root, key), `${value}\n`);
}

/**
 * Raises each shared limit to what `hosts` lab hosts need, never lowering one, and records the
 * values it found in `stateDir` (once: a second `up` keeps the first record). Returns the
 * values now in force, by key.
 */
export function sizeSharedKernel(hosts: number, stateDir: string, root = "/proc/sys"): Record<string, number> {
  const savedFile = path.join(stateDir, SAVED_FILE);
  const found = Object.fromEntries(SHARED_LIMITS.map(({ key }) => [key, read(root, key)]));
  if (!existsSync(savedFile)) writeFileSync(savedFile, `${JSON.stringify(found)}\n`);
  for (const { key, wanted } of [...SHARED_LIMITS].reverse()) {
    if (found[key]! < wanted(hosts)) write(root, key, wanted(hosts));
  }
  return Object.fromEntries(SHARED_LIMITS.map(({ key }) => [key, read(root, key)]));
}

/** Puts back the limits `sizeSharedKernel` found; nothing when it never ran. */
export function restoreSharedKernel(stateDir: string, root = "/proc/sys"): void {
  const savedFile = path.join(stateDir, SAVED_FILE);
  if (!existsSync(savedFile)) return;
  const saved = JSON.parse(readFileSync(savedFile, "utf8")) as Record<string, number>;
  // Lowering goes from the first (gc_thresh1 before 2 before 3), the reverse of raising.
  for (const { key } of SHARED_LIMITS) if (key in saved) write(root, key, saved[key]!);
  rmSync(savedFile);
}
