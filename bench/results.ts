/** The phases `npm run bench` times, and one row of its table (one model at one N). */
export const PHASES = ["up", "refresh", "preview", "destroy"] as const;
export type Phase = (typeof PHASES)[number];
export interface Row { model: string; devices: number; seconds: Partial<Record<Phase, number>>; connections: number; error?: string }
/** What `npm run bench` writes to bench-results/pulumi-up-*.json. */
export interface BenchResults { parallel: number; results: Row[] }

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}
