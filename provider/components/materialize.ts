import * as pulumi from "@pulumi/pulumi";
import * as devices from "../resources";
import type { PlanItem } from "./plan";
import * as extra from "./resources";

type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const classes: Record<string, Ctor> = {
  TunDevice: devices.TunDevice,
  VethPair: devices.VethPair,
  Bridge: devices.Bridge,
  Macvlan: devices.Macvlan,
  Ipvlan: devices.Ipvlan,
  Vlan: devices.Vlan,
  VxlanTunnel: devices.VxlanTunnel,
  Dummy: devices.Dummy,
  Geneve: devices.Geneve,
  Gre: devices.Gre,
  Bond: devices.Bond,
  Vrf: devices.Vrf,
  NetworkNamespace: extra.NetworkNamespace,
  Route: extra.Route,
};

/**
 * Turns a plan into resources, children of `parent`, named `<prefix>-<key>`, each depending on
 * the items it lists. The only thing a component does besides planning.
 */
export function materialize(prefix: string, items: PlanItem[], parent: pulumi.Resource): Record<string, pulumi.CustomResource> {
  const made: Record<string, pulumi.CustomResource> = {};
  for (const item of items) {
    const Class = classes[item.type];
    if (!Class) throw new Error(`no resource class for plan item type ${item.type}`);
    made[item.key] = new Class(`${prefix}-${item.key}`, item.inputs, { parent, dependsOn: item.dependsOn.map((key) => made[key]!) });
  }
  return made;
}
