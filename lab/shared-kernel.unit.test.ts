import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { backlogFor, neighbourThresholdsFor, restoreSharedKernel, sizeSharedKernel } from "./shared-kernel";

/** A stand-in for /proc/sys with the kernel's defaults, or the given neighbour thresholds. */
function fakeProcSys(thresholds = [128, 512, 1024], backlog = 1000): string {
  const root = mkdtempSync(path.join(tmpdir(), "shared-kernel-"));
  for (const family of ["ipv4", "ipv6"]) {
    const dir = path.join(root, "net", family, "neigh", "default");
    mkdirSync(dir, { recursive: true });
    thresholds.forEach((value, i) => writeFileSync(path.join(dir, `gc_thresh${i + 1}`), `${value}\n`));
  }
  mkdirSync(path.join(root, "net", "core"), { recursive: true });
  writeFileSync(path.join(root, "net", "core", "netdev_max_backlog"), `${backlog}\n`);
  return root;
}

const thresholds = (root: string, family = "ipv4") =>
  [1, 2, 3].map((i) => Number(readFileSync(path.join(root, "net", family, "neigh", "default", `gc_thresh${i}`), "utf8")));
const backlog = (root: string) => Number(readFileSync(path.join(root, "net", "core", "netdev_max_backlog"), "utf8"));

describe("lab sizing of the kernel its hosts share (pure, on a fake /proc/sys)", () => {
  it("keeps the kernel's defaults for a small lab and grows with the square of the hosts", () => {
    expect(neighbourThresholdsFor(3)).toEqual([256, 512, 1024]);
    expect(neighbourThresholdsFor(22)).toEqual([256, 512, 1024]);
    expect(neighbourThresholdsFor(30)).toEqual([512, 1024, 2048]);
    expect(neighbourThresholdsFor(80)).toEqual([4096, 8192, 16384]);
    expect(backlogFor(3)).toBe(1024);
    expect(backlogFor(30)).toBe(16384);
    expect(backlogFor(80)).toBe(131072);
  });

  it("raises both neighbour tables and the backlog for 80 hosts at up and restores what it found at down", () => {
    const root = fakeProcSys();
    const state = mkdtempSync(path.join(tmpdir(), "shared-kernel-state-"));
    const inForce = sizeSharedKernel(80, state, root);
    expect(inForce["net/ipv4/neigh/default/gc_thresh3"]).toBe(16384);
    expect(inForce["net/core/netdev_max_backlog"]).toBe(131072);
    expect(thresholds(root)).toEqual([4096, 8192, 16384]);
    expect(thresholds(root, "ipv6")).toEqual([4096, 8192, 16384]);
    expect(backlog(root)).toBe(131072);
    // A second up (same lab, re-sized) keeps the first record of what the machine had.
    sizeSharedKernel(80, state, root);
    restoreSharedKernel(state, root);
    expect(thresholds(root)).toEqual([128, 512, 1024]);
    expect(thresholds(root, "ipv6")).toEqual([128, 512, 1024]);
    expect(backlog(root)).toBe(1000);
  });

  it("never lowers a limit someone already raised", () => {
    const root = fakeProcSys([8192, 16384, 32768], 200000);
    const state = mkdtempSync(path.join(tmpdir(), "shared-kernel-state-"));
    sizeSharedKernel(80, state, root);
    expect(thresholds(root)).toEqual([8192, 16384, 32768]);
    expect(backlog(root)).toBe(200000);
    restoreSharedKernel(state, root);
    expect(thresholds(root)).toEqual([8192, 16384, 32768]);
    expect(backlog(root)).toBe(200000);
  });
});
