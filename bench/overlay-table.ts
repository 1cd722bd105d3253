/**
 * What `npm run bench:overlay` records, and its markdown: one table per overlay size, a row per
 * step and checkpoint setting, each cell the median of the runs with the runs' values in
 * brackets (as docs/benchmarks.md writes them).
 */

export const OVERLAY_STEPS = ["up", "join", "leave", "refresh", "destroy"] as const;
export type OverlayStep = (typeof OVERLAY_STEPS)[number];
export type Checkpoints = "saved" | "skipped";

/** After a step: how many container pairs were pinged, answered their first ping (within 1 s), and answered within the retry window. */
export interface PingCounts {
  pairs: number;
  firstWithin1s: number;
  eventually: number;
  /** Seconds from the first ping to the last answer of a pair that needed retries; absent when none did. */
  slowestSeconds?: number;
}

/** One step of one run. */
export interface StepMeasure {
  seconds: number;
  /** Everything in the state after the step, as `pulumi stack export` lists it (the stack and provider resources included). */
  resources: number;
  /** The length of `pulumi stack export`'s output after the step. */
  stateBytes: number;
  pings?: PingCounts;
  /** CPU seconds spent during the step (bench/cpu.ts): by the lab hosts' sshd and all it started, and by the Pulumi side. */
  cpu?: { hostsS: number; pulumiS: number };
}

/** One step at one overlay size and checkpoint setting, over every run that reached it. */
export interface OverlayRow {
  hosts: number;
  form: string;
  checkpoints: Checkpoints;
  step: OverlayStep;
  runs: StepMeasure[];
}

/** What `npm run bench:overlay` writes to bench-results/overlay-*.json. */
export interface OverlayResults {
  hostCounts: number[];
  runs: number;
  pingRetrySeconds: number;
  rows: OverlayRow[];
  /** Runs that stopped at a failing step: which, and the CLI's message. */
  failures: string[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** "9.5 (9.4, 9.5, 10.1)": the median, then every run's value in run order; one value alone when the runs agree. */
export function medianCell(values: number[], format: (value: number) => string): string {
  if (values.length === 0) return "–";
  const shown = values.map(format);
  if (shown.every((text) => text === shown[0])) return shown[0]!;
  return `${format(median(values))} (${shown.join(", ")})`;
}

const seconds = (value: number) => value.toFixed(1);
const whole = (value: number) => String(Math.round(value));
const kilobytes = (value: number) => (value / 1000).toFixed(value < 10_000 ? 1 : 0);

function stepLabel(step: OverlayStep, hosts: number): string {
  if (step === "up") return `\`up\` of ${hosts - 1} hosts`;
  if (step === "join") return `h${hosts} joins`;
  if (step === "leave") return `h${hosts} leaves`;
  return `\`${step}\``;
}

/** The table for one overlay size: steps in order, each with its checkpoint settings side by side. */
export function overlayTable(rows: OverlayRow[], hosts: number, pingRetrySeconds: number): string {
  const mine = rows.filter((row) => row.hosts === hosts);
  const ordered = OVERLAY_STEPS.flatMap((step) => mine.filter((row) => row.step === step));
  const pings = (row: OverlayRow, pick: (counts: PingCounts) => number) => {
    const counts = row.runs.flatMap((run) => (run.pings ? [pick(run.pings)] : []));
    return counts.length ? medianCell(counts, whole) : "–";
  };
  // Only the runs where some pair needed a retry have a slowest answer; the others answered at once.
  const slowest = (row: OverlayRow) => {
    const times = row.runs.flatMap((run) => (run.pings?.slowestSeconds === undefined ? [] : [run.pings.slowestSeconds]));
    return times.length ? `${medianCell(times, seconds)} s in ${times.length} of ${row.runs.length}` : "–";
  };
  const cpu = (row: OverlayRow, pick: (reading: { hostsS: number; pulumiS: number }) => number) => {
    const values = row.runs.flatMap((run) => (run.cpu ? [pick(run.cpu)] : []));
    return values.length ? medianCell(values, seconds) : "–";
  };
  return [
    `| ${hosts} hosts | form | checkpoints | seconds | CPU s, lab hosts | CPU s, Pulumi side | resources | state (kB) | pairs pinged | first ping answered within 1 s | answered within ${pingRetrySeconds} s | last late answer |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...ordered
      .map((row) =>
        [
          stepLabel(row.step, hosts),
          row.form,
          row.checkpoints === "skipped" ? "skipped (`PULUMI_SKIP_CHECKPOINTS=true`)" : "saved",
          medianCell(
            row.runs.map((run) => run.seconds),
            seconds,
          ),
          cpu(row, (reading) => reading.hostsS),
          cpu(row, (reading) => reading.pulumiS),
          medianCell(
            row.runs.map((run) => run.resources),
            whole,
          ),
          medianCell(
            row.runs.map((run) => run.stateBytes),
            kilobytes,
          ),
          pings(row, (counts) => counts.pairs),
          pings(row, (counts) => counts.firstWithin1s),
          pings(row, (counts) => counts.eventually),
          slowest(row),
        ].join(" | "),
      )
      .map((line) => `| ${line} |`),
  ].join("\n");
}
