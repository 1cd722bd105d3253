import type * as pulumi from "@pulumi/pulumi";
import { resourceClasses } from "../resources";
import type { PlanItem } from "./plan";

type AnyClass = new (name: string, args: unknown, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/**
 * Turns a plan into resources, children of `parent`, named `<prefix>-<key>`, each depending on
 * the items it lists. The only thing a component does besides planning.
 */
export function materialize(prefix: string, items: PlanItem[], parent: pulumi.Resource): Record<string, pulumi.CustomResource> {
  const made: Record<string, pulumi.CustomResource> = {};
  for (const item of items) {
    // PlanItem's inputs are typed by item.type (see plan.ts): the class for that type takes them.
    const Class = resourceClasses[item.type] as unknown as AnyClass;
    made[item.key] = new Class(`${prefix}-${item.key}`, item.inputs, { parent, dependsOn: item.dependsOn.map((key) => made[key]!) });
  }
  return made;
}
