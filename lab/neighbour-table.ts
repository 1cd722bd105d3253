import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * The kernel's neighbour (ARP/NDP) table is one table for the whole machine, shared by every
 * network namespace: on real hosts each server has its own, but all lab hosts share this
 * machine's. An overlay of N lab hosts fills it with about 2·N·(N−1) entries (each host's
 * underlay peers, each container's overlay peers); past gc_thresh3 (1024 by default) the
 * kernel drops what it cannot resolve ("neighbor table overflow!"), and the lab would measure
 * its own limit instead of the product. So `lab up --hosts N` raises the thresholds for N,
 * and `lab down` puts back what was there.
 */

export type Thresholds = [gcThresh1: number, gcThresh2: number, gcThresh3: number];

const FAMILIES = ["ipv4", "ipv6"] as const;
const SAVED_FILE = "neighbour-thresholds.json";

function sysctlPath(family: (typeof FAMILIES)[number], index: 1 | 2 | 3, root: string): string {
  return path.join(root, "net", family, "neigh", "default", `gc_thresh${index}`);
}

/** What N lab hosts need: gc_thresh3 the power of two at or above 2·N², the others its half and quarter. */
export function thresholdsFor(hosts: number): Thresholds {
  let third = 1024;
  while (third < 2 * hosts * hosts) third *= 2;
  return [third / 4, third / 2, third];
}

function read(family: (typeof FAMILIES)[number], root: string): Thresholds {
  return ([1, 2, 3] as const).map((i) => Number(readFileSync(sysctlPath(family, i, root), "utf8").trim())) as Thresholds;
}

function write(family: (typeof FAMILIES)[number], values: Thresholds, root: string): void {
  // The kernel keeps thresh1 <= thresh2 <= thresh3 meaningful only in that order: raise from the top, lower from the bottom.
  const order: Array<1 | 2 | 3> = values[2] >= read(family, root)[2] ? [3, 2, 1] : [1, 2, 3];
  for (const i of order) writeFileSync(sysctlPath(family, i, root), `${values[i - 1]}\n`);
}

/**
 * Raises the machine's thresholds to what `hosts` lab hosts need, never lowering them, and
 * records the values it found in `stateDir` (once: a second `up` keeps the first record).
 * Returns the thresholds now in force for IPv4.
 */
export function sizeNeighbourTable(hosts: number, stateDir: string, root = "/proc/sys"): Thresholds {
  const savedFile = path.join(stateDir, SAVED_FILE);
  const found = Object.fromEntries(FAMILIES.map((family) => [family, read(family, root)]));
  if (!existsSync(savedFile)) writeFileSync(savedFile, `${JSON.stringify(found)}\n`);
  const wanted = thresholdsFor(hosts);
  for (const family of FAMILIES) {
    const now = found[family]!;
    if (now[2] < wanted[2]) write(family, wanted.map((value, i) => Math.max(value, now[i]!)) as Thresholds, root);
  }
  return read("ipv4", root);
}

/** Puts back the thresholds `sizeNeighbourTable` found; nothing when it never ran. */
export function restoreNeighbourTable(stateDir: string, root = "/proc/sys"): void {
  const savedFile = path.join(stateDir, SAVED_FILE);
  if (!existsSync(savedFile)) return;
  const saved = JSON.parse(readFileSync(savedFile, "utf8")) as Record<(typeof FAMILIES)[number], Thresholds>;
  for (const family of FAMILIES) write(family, saved[family], root);
  rmSync(savedFile);
}
