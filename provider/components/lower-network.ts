import type { ConnectionArgs } from "../resources";
import * as pulumi from "@pulumi/pulumi";
import { materialize } from "./materialize";
import { type PersistOption, type PlanItem, withPersist } from "./plan";

/** One namespace on the parent. */
export interface LowerMember {
  namespace: string;
  /** Create the namespace (default true). */
  createNamespace?: boolean;
  /** Interface name inside the namespace (default eth0). */
  name?: string;
  /** Address, CIDR form. */
  address?: string;
  /** Default gateway (a Route in the namespace). */
  gateway?: string;
  mtu?: number;
}

interface LowerNetworkPlanArgs<C> extends PersistOption {
  connection: C;
  /** Parent interface in the host's namespace. */
  parent: string;
  members: LowerMember[];
}

export interface MacvlanNetworkPlanArgs<C = unknown> extends LowerNetworkPlanArgs<C> {
  mode?: "bridge" | "vepa" | "private" | "passthru" | "source";
}

export interface IpvlanNetworkPlanArgs<C = unknown> extends LowerNetworkPlanArgs<C> {
  mode?: "l2" | "l3" | "l3s";
  flag?: "bridge" | "private" | "vepa";
}

function planLower<C>(args: LowerNetworkPlanArgs<C>, type: "Macvlan" | "Ipvlan", kindFields: Record<string, unknown>): PlanItem<C>[] {
  const namespaces = new Set<string>();
  const items: PlanItem<C>[] = [];
  for (const m of args.members) {
    if (namespaces.has(m.namespace)) throw new Error(`namespace ${m.namespace} is listed twice`);
    namespaces.add(m.namespace);
    if (m.gateway && !m.address) throw new Error(`member ${m.namespace}: a gateway needs an address to reach it`);
    const deps: string[] = [];
    if (m.createNamespace ?? true) {
      items.push({ key: `${m.namespace}-netns`, type: "NetworkNamespace", dependsOn: [], inputs: { connection: args.connection, name: m.namespace } });
      deps.push(`${m.namespace}-netns`);
    }
    const dev = m.name ?? "eth0";
    items.push({
      key: `${m.namespace}-link`,
      type,
      dependsOn: deps,
      inputs: {
        connection: args.connection,
        name: dev,
        netns: m.namespace,
        parent: args.parent,
        ...kindFields,
        ...(m.address ? { addresses: [m.address] } : {}),
        ...(m.mtu !== undefined ? { mtu: m.mtu } : {}),
      },
    });
    if (m.gateway) {
      items.push({ key: `${m.namespace}-route`, type: "Route", dependsOn: [`${m.namespace}-link`], inputs: { connection: args.connection, netns: m.namespace, destination: "default", via: m.gateway, dev } });
    }
  }
  return withPersist(items, args.persist);
}

/** Per member: a namespace, a macvlan on `parent` moved into it (mode shared by all), an optional default route. */
export function planMacvlanNetwork<C>(args: MacvlanNetworkPlanArgs<C>): PlanItem<C>[] {
  if (args.mode === "passthru" && args.members.length > 1) throw new Error("passthru mode allows one macvlan per parent");
  return planLower(args, "Macvlan", { mode: args.mode ?? "bridge" });
}

/** Per member: a namespace, an ipvlan on `parent` moved into it, an optional default route. */
export function planIpvlanNetwork<C>(args: IpvlanNetworkPlanArgs<C>): PlanItem<C>[] {
  return planLower(args, "Ipvlan", { mode: args.mode ?? "l2", flag: args.flag ?? "bridge" });
}

/** Namespaces on a parent interface through macvlan, in one call. */
export class MacvlanNetwork extends pulumi.ComponentResource {
  readonly resources: Record<string, pulumi.CustomResource>;
  constructor(name: string, args: MacvlanNetworkPlanArgs<ConnectionArgs>, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:MacvlanNetwork", name, {}, opts);
    this.resources = materialize(name, planMacvlanNetwork(args), this);
    this.registerOutputs({});
  }
}

/** Namespaces on a parent interface through ipvlan, in one call. */
export class IpvlanNetwork extends pulumi.ComponentResource {
  readonly resources: Record<string, pulumi.CustomResource>;
  constructor(name: string, args: IpvlanNetworkPlanArgs<ConnectionArgs>, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:IpvlanNetwork", name, {}, opts);
    this.resources = materialize(name, planIpvlanNetwork(args), this);
    this.registerOutputs({});
  }
}
