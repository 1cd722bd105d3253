import { describe, expect, it } from "vitest";
import { allPairs, pairsToPing, seededRandom } from "./ping-pairs";

describe("pairsToPing", () => {
  it("takes every unordered pair while the overlay is small", () => {
    expect(pairsToPing(4, { allUpTo: 30, sampleSize: 200, seed: 1 })).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect(pairsToPing(30, { allUpTo: 30, sampleSize: 200, seed: 1 })).toHaveLength(435);
  });

  it("samples distinct pairs of distinct members above the limit, the same ones for the same seed", () => {
    const sample = pairsToPing(80, { allUpTo: 30, sampleSize: 200, seed: 80 });
    expect(sample).toHaveLength(200);
    expect(new Set(sample.map((pair) => pair.join("-"))).size).toBe(200);
    for (const [from, to] of sample) {
      expect(from).toBeLessThan(to);
      expect(to).toBeLessThan(80);
    }
    expect(pairsToPing(80, { allUpTo: 30, sampleSize: 200, seed: 80 })).toEqual(sample);
    expect(pairsToPing(80, { allUpTo: 30, sampleSize: 200, seed: 79 })).not.toEqual(sample);
  });

  it("reaches every member in a sample, not only the first ones", () => {
    const members = new Set(pairsToPing(80, { allUpTo: 30, sampleSize: 200, seed: 80 }).flat());
    expect(members.size).toBeGreaterThan(70);
  });

  it("takes all pairs when the sample would be as large as all of them", () => {
    expect(pairsToPing(5, { allUpTo: 2, sampleSize: 10, seed: 1 })).toEqual(allPairs(5));
  });
});

describe("seededRandom", () => {
  it("repeats its sequence for a seed and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const drawn = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(drawn);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...drawn)).toBeLessThan(1);
  });
});
