/** The phases `npm run bench` times, and one row of its table (one model at one N). */
export const PHASES = ["up", "refresh", "preview", "destroy"] as const;
export type Phase = (typeof PHASES)[number];
export interface Row {
  model: string;
  devices: number;
  seconds: Partial<Record<Phase, number>>;
  connections: number;
  error?: string /** Added one-way delay to every host (bench/latency-proxy.ts); absent: none. */;
  latencyMs?: number;
}

/** The panel a row belongs to: its N, and its added latency if any. */
export function panelOf(row: Pick<Row, "devices" | "latencyMs">): string {
  return `${row.devices} bridges${row.latencyMs ? `, +${row.latencyMs} ms each way` : ""}`;
}
/** What `npm run bench` writes to bench-results/pulumi-up-*.json. */
export interface BenchResults {
  parallel: number;
  results: Row[];
}

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}
