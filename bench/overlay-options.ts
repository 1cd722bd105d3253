import type { Checkpoints } from "./overlay-table";

/** The command line of `npm run bench:overlay`, checked before the lab is touched. */
export interface OverlayBenchOptions {
  /** Overlay sizes N: `up` makes N−1 hosts, then host N joins and leaves. */
  hostCounts: number[];
  runs: number;
  /** The overlay's forms to run (index.ts's `form`), side by side within each run. */
  forms: OverlayForm[];
  /** Which checkpoint settings to run, alternating within each run. */
  checkpoints: Checkpoints[];
  /** `pulumi up/refresh/destroy --parallel`; undefined: the CLI's default. */
  parallel?: number;
}

export const CHECKPOINT_SETTINGS: readonly Checkpoints[] = ["saved", "skipped"];

/**
 * The overlay's two forms, Pulumi's floor for the per-host one (bench/programs.ts
 * OVERLAY_FLOOR_PROGRAM: the same resources, a provider that does nothing), and, not run by
 * default, `floor-one` (that floor with every host's devices as one resource) and
 * `per-host-kept` (the per-host form with NETDEV_SSH_PERSIST: logins kept between commands).
 */
export const OVERLAY_FORMS = ["per-device", "per-host", "floor", "floor-one", "per-host-kept"] as const;
/** What runs when --forms is not given. */
export const DEFAULT_OVERLAY_FORMS: readonly OverlayForm[] = ["per-device", "per-host", "floor"];
export type OverlayForm = (typeof OVERLAY_FORMS)[number];

/**
 * `--hosts 30,80 --runs 3 --forms per-device,per-host --checkpoints saved,skipped --parallel 80`. N must leave at least two hosts before the join (so that `up` has a
 * pair to ping) and at most `maxHosts`, the lab's limit.
 */
export function parseOverlayBenchOptions(
  values: { hosts?: string; runs?: string; forms?: string; checkpoints?: string; parallel?: string },
  maxHosts: number,
): OverlayBenchOptions {
  const hostCounts = (values.hosts ?? "30,80").split(",").map((text) => {
    const n = Number(text.trim());
    if (!Number.isInteger(n) || n < 3 || n > maxHosts)
      throw new Error(`--hosts: each count must be a whole number from 3 to ${maxHosts}, got ${JSON.stringify(text)}`);
    return n;
  });
  const runs = Number(values.runs ?? "3");
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, got ${JSON.stringify(values.runs)}`);
  const forms = (values.forms ?? DEFAULT_OVERLAY_FORMS.join(",")).split(",").map((text) => {
    const form = text.trim();
    if (!(OVERLAY_FORMS as readonly string[]).includes(form))
      throw new Error(`--forms: each must be one of ${OVERLAY_FORMS.join(", ")}, got ${JSON.stringify(text)}`);
    return form as OverlayForm;
  });
  const checkpoints = (values.checkpoints ?? CHECKPOINT_SETTINGS.join(",")).split(",").map((text) => {
    const setting = text.trim();
    if (!(CHECKPOINT_SETTINGS as readonly string[]).includes(setting))
      throw new Error(`--checkpoints: each must be one of ${CHECKPOINT_SETTINGS.join(", ")}, got ${JSON.stringify(text)}`);
    return setting as Checkpoints;
  });
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1))
    throw new Error(`--parallel must be a whole number of at least 1, got ${JSON.stringify(values.parallel)}`);
  return {
    hostCounts: [...new Set(hostCounts)],
    runs,
    forms: [...new Set(forms)],
    checkpoints: [...new Set(checkpoints)],
    ...(parallel !== undefined ? { parallel } : {}),
  };
}
