import type { PersistMode } from "../persist/mode";
import type { ResourceInputs, ResourceType } from "../generated/inputs";

/**
 * A plan: what a component wires up, as plain data. Each item is one resource: its type (a
 * device kind from provider/kinds, or NetworkNamespace or Route), a key unique within the plan (the Pulumi
 * resource name suffix), its inputs exactly as that type's engine `check` takes them, and the
 * keys of the items it must come after. Items are listed in creation order; delete in reverse.
 *
 * Planning functions are pure: no host is touched, so tests can check them directly and can
 * apply a plan through the engines (`engineFor(item.type).create(item.inputs)`, provider/registry.ts).
 */
export type PlanItem<C = unknown> = {
  [T in ResourceType]: {
    key: string;
    type: T;
    /** Typed by `type` from the registry's schemas (provider/generated): a misspelt or unknown input fails the type check. */
    inputs: ResourceInputs[T] extends { connections: unknown }
      ? Omit<ResourceInputs[T], "connections"> & { connections: Record<string, C> }
      : Omit<ResourceInputs[T], "connection"> & { connection: C };
    dependsOn: string[];
  };
}[ResourceType];

/** The item keyed `key`, which must be of `type`: its inputs typed accordingly. */
export function itemOfType<T extends ResourceType, C>(items: Array<PlanItem<C>>, key: string, type: T): Extract<PlanItem<C>, { type: T }> {
  const item = items.find((candidate) => candidate.key === key);
  if (!item || item.type !== type) throw new Error(`plan has no ${type} keyed ${key}`);
  return item as Extract<PlanItem<C>, { type: T }>;
}

/** Checks a plan's internal consistency: unique keys, dependencies listed earlier. */
export function assertPlanOrder(items: PlanItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.key)) throw new Error(`plan has two items keyed ${item.key}`);
    for (const dep of item.dependsOn) if (!seen.has(dep)) throw new Error(`plan item ${item.key} depends on ${dep}, which is not listed before it`);
    seen.add(item.key);
  }
}

/** A component's `persist` option: passed down to every resource it makes. */
export interface PersistOption {
  /** "networkd", "networkmanager", "systemd" or "auto": every device, namespace and route of the component comes back after a reboot (see provider/persist/README.md). */
  persist?: PersistMode;
}

/** The plan with `persist` set on every item (unchanged when undefined). */
export function withPersist<C>(items: Array<PlanItem<C>>, persist: PersistMode | undefined): Array<PlanItem<C>> {
  return persist === undefined ? items : items.map((item) => ({ ...item, inputs: { ...item.inputs, persist } }) as PlanItem<C>);
}
