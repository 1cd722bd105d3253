import { afterAll, beforeAll } from "vitest";
import type { PlanItem } from "../../provider/components/plan";
import { type Applied, applyPlan, destroyApplied, removeLeftovers } from "./components";

/**
 * An overlay's plan and a container per host, applied before a test file's tests (after
 * removing what an earlier run left on those hosts) and removed after them. `devices` holds
 * what the overlay's plan made, for the tests to read outputs from.
 */
export function appliedOverlay(overlay: {
  hosts: string[];
  items: PlanItem[];
  container: (host: string, index: number) => { items: PlanItem[]; hostEnd: string };
  /** Links and namespaces of the overlay itself on each host (the containers' own are known). */
  leftovers: { links: string[]; namespaces: string[] };
  timeoutMs: number;
}): { devices: Applied[] } {
  const state = { devices: [] as Applied[] };
  const containers: Applied[][] = [];
  const cleanup = async () => {
    for (const applied of [...containers].reverse()) await destroyApplied(applied).catch(() => undefined);
    containers.length = 0;
    await destroyApplied(state.devices).catch(() => undefined);
    for (const [i, name] of overlay.hosts.entries())
      await removeLeftovers(name, [overlay.container(name, i).hostEnd, ...overlay.leftovers.links], overlay.leftovers.namespaces);
  };
  beforeAll(async () => {
    await cleanup();
    state.devices = await applyPlan(overlay.items);
    for (const [i, name] of overlay.hosts.entries()) containers.push(await applyPlan(overlay.container(name, i).items));
  }, overlay.timeoutMs);
  afterAll(cleanup, overlay.timeoutMs);
  return state;
}
