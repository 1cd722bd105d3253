import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { restoreNeighbourTable, sizeNeighbourTable, thresholdsFor } from "./neighbour-table";

/** A stand-in for /proc/sys with the kernel's defaults. */
function fakeProcSys(values = [128, 512, 1024]): string {
  const root = mkdtempSync(path.join(tmpdir(), "neigh-"));
  for (const family of ["ipv4", "ipv6"]) {
    const dir = path.join(root, "net", family, "neigh", "default");
    mkdirSync(dir, { recursive: true });
    values.forEach((value, i) => writeFileSync(path.join(dir, `gc_thresh${i + 1}`), `${value}\n`));
  }
  return root;
}

const thresholds = (root: string, family = "ipv4") =>
  [1, 2, 3].map((i) => Number(readFileSync(path.join(root, "net", family, "neigh", "default", `gc_thresh${i}`), "utf8")));

describe("lab neighbour table sizing (pure, on a fake /proc/sys)", () => {
  it("keeps the kernel's defaults for a small lab and grows with the square of the hosts", () => {
    expect(thresholdsFor(3)).toEqual([256, 512, 1024]);
    expect(thresholdsFor(22)).toEqual([256, 512, 1024]);
    expect(thresholdsFor(30)).toEqual([512, 1024, 2048]);
    expect(thresholdsFor(80)).toEqual([4096, 8192, 16384]);
  });

  it("raises both families for 80 hosts at up and restores what it found at down", () => {
    const root = fakeProcSys();
    const state = mkdtempSync(path.join(tmpdir(), "neigh-state-"));
    expect(sizeNeighbourTable(80, state, root)).toEqual([4096, 8192, 16384]);
    expect(thresholds(root, "ipv6")).toEqual([4096, 8192, 16384]);
    // A second up (same lab, re-sized) keeps the first record of what the machine had.
    sizeNeighbourTable(80, state, root);
    restoreNeighbourTable(state, root);
    expect(thresholds(root)).toEqual([128, 512, 1024]);
    expect(thresholds(root, "ipv6")).toEqual([128, 512, 1024]);
  });

  it("never lowers thresholds someone already raised", () => {
    const root = fakeProcSys([8192, 16384, 32768]);
    const state = mkdtempSync(path.join(tmpdir(), "neigh-state-"));
    expect(sizeNeighbourTable(80, state, root)).toEqual([8192, 16384, 32768]);
    restoreNeighbourTable(state, root);
    expect(thresholds(root)).toEqual([8192, 16384, 32768]);
  });
});
