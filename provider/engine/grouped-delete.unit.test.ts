import { describe, expect, it } from "vitest";
import { groupableName, groupDeleteOutcomes, groupDeleteScript, ownedDeleteScript, randomGroup } from "./grouped-delete";

describe("grouped deletes", () => {
  it("reads each device's outcome from the script's marker lines, failures with their error text", () => {
    const stdout = [
      "__netdev_del 2 not-ours",
      "__netdev_del 0 absent",
      "__netdev_del 3 failed",
      "RTNETLINK answers: Operation not supported",
      "second line",
      "__netdev_del_end",
      "__netdev_del 1 deleted",
      "",
    ].join("\n");
    expect(groupDeleteOutcomes(stdout, 5)).toEqual([
      { outcome: "absent" },
      { outcome: "deleted" },
      { outcome: "not-ours" },
      { outcome: "failed", stderr: "RTNETLINK answers: Operation not supported\nsecond line" },
      undefined, // never reported: the caller treats it as unknown
    ]);
  });

  it("takes a failure whose error was cut off, and lines that are not its markers, as unreported", () => {
    expect(groupDeleteOutcomes("__netdev_del 0 failed\nRTNETLINK answers: Dev", 1)).toEqual([undefined]);
    expect(groupDeleteOutcomes("__netdev_del 7 deleted\n__netdev_del x deleted\nnoise __netdev_del 0 deleted\n__netdev_del 0 gone", 1)).toEqual([undefined]);
  });

  it("takes only whole marker lines, and each device's first", () => {
    expect(groupDeleteOutcomes("__netdev_del 0 deleted extra\n__netdev_del 0 absent \n__netdev_del 00 deleted\n", 1)).toEqual([undefined]);
    expect(groupDeleteOutcomes("__netdev_del 0 not-ours\n__netdev_del 0 deleted\n", 1)).toEqual([{ outcome: "not-ours" }]);
  });

  it("the script for one device takes any name the kernel can have, an expected ifindex, and no tag at all", () => {
    expect(ownedDeleteScript({ name: "if5x", tag: "netdev#0123456789ab" })).toContain("chk 0 if5x 'netdev#0123456789ab' ''");
    expect(ownedDeleteScript({ name: "br0", ifindex: 42 })).toContain("chk 0 br0 '' 42");
    for (const name of ["a b", "a:b", "a/b", "", "sixteen-chars-xx"])
      expect(() => ownedDeleteScript({ name, tag: "netdev#0123456789ab" }), name).toThrow(/interface name/);
    expect(() => ownedDeleteScript({ name: "br0", ifindex: 0 })).toThrow(/ifindex/);
  });

  it("quotes tags as shell words, and refuses names the script could not carry plainly", () => {
    const script = groupDeleteScript(
      [
        { name: "br0", tag: "netdev#0123456789ab" },
        { name: "a.b@c+d-e_f", tag: "netdev#ba9876543210" },
      ],
      123456789,
    );
    expect(script).toContain("chk 0 br0 'netdev#0123456789ab'");
    expect(script).toContain("chk 1 a.b@c+d-e_f 'netdev#ba9876543210'");
    expect(script).toContain("g=123456789");
    for (const name of ["a b", "x;y", "$(id)", "..", "sixteen-chars-xx", "a:b", "a*"]) {
      expect(groupableName(name), name).toBe(false);
      expect(() => groupDeleteScript([{ name, tag: "netdev#0123456789ab" }], 5)).toThrow(/plain interface name/);
    }
    expect(() => groupDeleteScript([{ name: "br0", tag: "netdev#0123456789ab" }], 0)).toThrow(/group/);
  });

  it("picks groups above the small numbers people name", () => {
    for (let i = 0; i < 100; i++) {
      const group = randomGroup();
      expect(group).toBeGreaterThanOrEqual(0x1000000);
      expect(group).toBeLessThan(0x7fffffff);
    }
  });
});
