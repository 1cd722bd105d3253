import * as pulumi from "@pulumi/pulumi";
import { commonShape } from "../engine/engine";
import type { ResourceType } from "../generated/inputs";
import { deviceKinds, isDeviceType, objectTypes } from "../registry";
import { resourceClass } from "../resources";
import type { PlanItem } from "./plan";

type AnyClass = new (name: string, args: unknown, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/**
 * Turns a plan into resources, children of `parent`, named `<prefix>-<key>`, each depending on
 * the items it lists. For a plan of plain values; the components use materializePlanned.
 */
export function materialize(prefix: string, items: PlanItem[], parent: pulumi.Resource): Record<string, pulumi.CustomResource> {
  const made: Record<string, pulumi.CustomResource> = {};
  for (const item of items) {
    // PlanItem's inputs are typed by item.type (see plan.ts): the class for that type takes them.
    const Class = resourceClass(item.type) as unknown as AnyClass;
    made[item.key] = new Class(`${prefix}-${item.key}`, item.inputs, { parent, dependsOn: item.dependsOn.map((key) => made[key]!) });
  }
  return made;
}

/**
 * A child resource as a component knows it when it is constructed: key, type and dependencies
 * follow from what is plain in its arguments (host names, whether a gateway is given), so
 * `pulumi preview` lists every child even while addresses and keys are still unknown. Its inputs
 * come from the plan, computed once the values are known. `given`: inputs passed to the child as
 * they are, never through the plan (a connection, a private key), so their secrecy and
 * dependencies stay theirs and do not spread to every child.
 */
export interface Slot {
  key: string;
  type: ResourceType;
  dependsOn: string[];
  given: Record<string, unknown>;
}

/** Every input a resource type takes, but the ownerKey its class derives. */
function inputFields(type: ResourceType): string[] {
  const shape = isDeviceType(type) ? { ...commonShape, ...deviceKinds[type].fields } : objectTypes[type].schema.shape;
  return Object.keys(shape).filter((field) => field !== "ownerKey");
}

/** Throws unless the plan has exactly the slots' items (keys, types, dependencies, in order): the component and its planner disagree. */
export function assertMatchesSlots(slots: Slot[], items: PlanItem<unknown>[]): void {
  const describe = (list: Array<Pick<Slot, "key" | "type" | "dependsOn">>) => list.map((s) => `${s.key}:${s.type}<-${s.dependsOn.join("+")}`).join(", ");
  if (describe(slots) !== describe(items)) throw new Error(`the plan (${describe(items)}) does not match the resources made for it (${describe(slots)})`);
}

/**
 * Makes each slot's resource now, child of `parent`, named `<prefix>-<key>`, with each input an
 * Output of `planned` (a field the plan leaves out resolves to undefined, which Pulumi omits).
 * While the plan is unknown (preview, values of resources not made yet) every planned input is
 * unknown; once known, each child holds what its plan item says. A plan that fails rejects every
 * child's inputs with its one error.
 */
export function materializePlanned(
  prefix: string,
  slots: Slot[],
  planned: pulumi.Output<PlanItem<unknown>[]>,
  parent: pulumi.Resource,
): Record<string, pulumi.CustomResource> {
  const made: Record<string, pulumi.CustomResource> = {};
  // A plan made from a secret value (an address given as a secret) is secret as a whole. A field
  // the plan leaves out must still be absent, not a secret holding nothing (which reaches the
  // provider as null); a field it sets stays secret.
  const planIsSecret = pulumi.output(pulumi.isSecret(planned));
  for (const slot of slots) {
    const inputsOf = (items: PlanItem<unknown>[]) => items.find((item) => item.key === slot.key)!.inputs as Record<string, unknown>;
    const planFields = inputFields(slot.type).filter((field) => !(field in slot.given));
    const fieldOf = (field: string) =>
      pulumi
        .all([pulumi.unsecret(planned.apply((items) => inputsOf(items)[field])), planIsSecret])
        .apply(([value, secret]) => (value === undefined || !secret ? value : pulumi.secret(value)));
    const args = { ...Object.fromEntries(planFields.map((field) => [field, fieldOf(field)])), ...slot.given };
    const Class = resourceClass(slot.type) as unknown as AnyClass;
    made[slot.key] = new Class(`${prefix}-${slot.key}`, args, { parent, dependsOn: slot.dependsOn.map((key) => made[key]!) });
  }
  return made;
}

/**
 * `value`, as an Output that also depends on `resources`: whatever takes it (an Attachment given
 * `overlay.mtu`, a bridge name read from `overlay.hosts`) is made after them and deleted before
 * them, as Pulumi orders a resource after the resources of its input Outputs. Their URNs are
 * known in preview, so this adds no unknowns.
 */
export function dependingOn<T>(resources: Record<string, pulumi.CustomResource>, value: pulumi.Output<T>): pulumi.Output<T> {
  const urns: pulumi.Output<string>[] = Object.values(resources).map((resource) => resource.urn);
  return pulumi.all([value, pulumi.all(urns)]).apply(([known]) => known as T);
}
