import type { LabHost } from "../lab/hosts";
import { overlayContainer, overlayHostConnection } from "../lab/overlay";
import { sshPool } from "../provider/ssh/pool";
import type { Pair } from "./ping-pairs";
import type { PingCounts } from "./overlay-table";

/** One ping from the first member's container to the second's; true when it was answered within 1 s. */
async function pingOnce(members: LabHost[], [from, to]: Pair): Promise<boolean> {
  const source = overlayContainer(members[from]!, from);
  const target = overlayContainer(members[to]!, to);
  const result = await sshPool().exec(
    overlayHostConnection(members[from]!),
    ["ip", "netns", "exec", source.namespace, "ping", "-c", "1", "-W", "1", target.address],
    {
      timeoutMs: 10_000,
    },
  );
  return result.exitCode === 0;
}

/** Runs `ping` for each pair, each source host's pairs one after another and the sources side by side; the pairs that went unanswered. */
async function pingRound(members: LabHost[], pairs: Pair[]): Promise<Pair[]> {
  const bySource = new Map<number, Pair[]>();
  for (const pair of pairs) bySource.set(pair[0], [...(bySource.get(pair[0]) ?? []), pair]);
  const unanswered: Pair[] = [];
  await Promise.all(
    [...bySource.values()].map(async (mine) => {
      for (const pair of mine) if (!(await pingOnce(members, pair))) unanswered.push(pair);
    }),
  );
  return unanswered;
}

/**
 * Pings each pair's containers across the overlay (the root program's containers on `members`,
 * in the program's host order): once, counting the first pings answered within 1 s, then the
 * unanswered ones again until each answers or `retrySeconds` have passed since the first ping.
 */
export async function pingOverlayPairs(members: LabHost[], pairs: Pair[], retrySeconds: number): Promise<PingCounts> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let unanswered = await pingRound(members, pairs);
  const firstWithin1s = pairs.length - unanswered.length;
  let slowestSeconds: number | undefined;
  while (unanswered.length && elapsed() < retrySeconds) {
    const before = unanswered.length;
    unanswered = await pingRound(members, unanswered);
    if (unanswered.length < before) slowestSeconds = elapsed();
  }
  return { pairs: pairs.length, firstWithin1s, eventually: pairs.length - unanswered.length, ...(slowestSeconds === undefined ? {} : { slowestSeconds }) };
}
