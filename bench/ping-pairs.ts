/**
 * Which container pairs `npm run bench:overlay` pings after a step: every pair of the overlay's
 * members while there are few, otherwise a sample drawn with a seeded generator, so that runs
 * (and the two checkpoint settings) ping the same pairs and differ only in what they measure.
 */

/** An unordered pair of member indexes (index i: the host at position i of the overlay's host list), first < second. */
export type Pair = [from: number, to: number];

/** A deterministic generator of numbers in [0, 1) (mulberry32): the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function allPairs(members: number): Pair[] {
  const pairs: Pair[] = [];
  for (let from = 0; from < members; from++) for (let to = from + 1; to < members; to++) pairs.push([from, to]);
  return pairs;
}

/**
 * All pairs of `members` when there are at most `allUpTo` members, else `sampleSize` distinct
 * pairs chosen uniformly (a partial Fisher–Yates shuffle), in index order.
 */
export function pairsToPing(members: number, options: { allUpTo: number; sampleSize: number; seed: number }): Pair[] {
  const pairs = allPairs(members);
  if (members <= options.allUpTo || pairs.length <= options.sampleSize) return pairs;
  const random = seededRandom(options.seed);
  for (let i = 0; i < options.sampleSize; i++) {
    const j = i + Math.floor(random() * (pairs.length - i));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  return pairs.slice(0, options.sampleSize).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}
