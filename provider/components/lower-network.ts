import type { ConnectionArgs } from "../generated/args";
import * as pulumi from "@pulumi/pulumi";
import type { PersistMode } from "../persist/mode";
import { requireCidr, requireIp } from "./check-inputs";
import { type ComponentLabel, planOrRaise, PlanInputError } from "./errors";
import { assertMatchesSlots, materializePlanned, type Slot } from "./materialize";
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
  /** How error messages name the host (the connection's address). */
  hostLabel?: string;
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
    const field = (name: string) => `members[${JSON.stringify(m.namespace)}].${name}`;
    if (namespaces.has(m.namespace)) throw new PlanInputError(field("namespace"), `namespace ${m.namespace} is listed twice`, args.hostLabel);
    namespaces.add(m.namespace);
    if (m.address !== undefined) requireCidr(m.address, field("address"), args.hostLabel);
    if (m.gateway !== undefined) requireIp(m.gateway, field("gateway"), args.hostLabel);
    if (m.gateway && !m.address) throw new PlanInputError(field("gateway"), "a gateway needs an address to reach it: set address too", args.hostLabel);
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
      items.push({
        key: `${m.namespace}-route`,
        type: "Route",
        dependsOn: [`${m.namespace}-link`],
        inputs: { connection: args.connection, netns: m.namespace, destination: "default", via: m.gateway, dev },
      });
    }
  }
  return withPersist(items, args.persist);
}

/** Per member: a namespace, a macvlan on `parent` moved into it (mode shared by all), an optional default route. */
export function planMacvlanNetwork<C>(args: MacvlanNetworkPlanArgs<C>): PlanItem<C>[] {
  if (args.mode === "passthru" && args.members.length > 1) throw new PlanInputError("mode", "passthru mode allows one macvlan per parent", args.hostLabel);
  return planLower(args, "Macvlan", { mode: args.mode ?? "bridge" });
}

/** Per member: a namespace, an ipvlan on `parent` moved into it, an optional default route. */
export function planIpvlanNetwork<C>(args: IpvlanNetworkPlanArgs<C>): PlanItem<C>[] {
  return planLower(args, "Ipvlan", { mode: args.mode ?? "l2", flag: args.flag ?? "bridge" });
}

/** One namespace on the parent, as a component takes it: every value but `namespace` may be an Output. */
export interface LowerMemberArgs {
  /** The namespace, e.g. "p1": keys the member's resources (`<component>-p1-link`), so it is a plain string. */
  namespace: string;
  /** Create the namespace (default true); false: it exists already. Plain: it decides whether a NetworkNamespace child exists. */
  createNamespace?: boolean;
  /** Interface name inside the namespace (default "eth0"). */
  name?: pulumi.Input<string>;
  /** Address, CIDR form, e.g. "192.168.101.1/24". */
  address?: pulumi.Input<string>;
  /** Default gateway, e.g. "192.168.101.254": a Route in the namespace. Given (even as an Output), the Route child exists. */
  gateway?: pulumi.Input<string>;
  /** MTU of the interface in bytes (default: the parent's). */
  mtu?: pulumi.Input<number>;
}

interface LowerNetworkArgs {
  /** How to reach the host over SSH. */
  connection: ConnectionArgs;
  /** Parent interface in the host's namespace, e.g. "eth0". */
  parent: pulumi.Input<string>;
  /** The namespaces, each with its own macvlan or ipvlan device. */
  members: LowerMemberArgs[];
  /** "networkd", "networkmanager", "systemd" or "auto": every namespace, device and route comes back after a reboot (see provider/persist/README.md). */
  persist?: pulumi.Input<PersistMode>;
}

/** A MacvlanNetwork's arguments. */
export interface MacvlanNetworkArgs extends LowerNetworkArgs {
  /** Macvlan mode shared by all members (default "bridge": members reach each other directly). */
  mode?: pulumi.Input<"bridge" | "vepa" | "private" | "passthru" | "source">;
}

/** An IpvlanNetwork's arguments. */
export interface IpvlanNetworkArgs extends LowerNetworkArgs {
  /** Ipvlan mode (default "l2"). */
  mode?: pulumi.Input<"l2" | "l3" | "l3s">;
  /** Ipvlan flag (default "bridge"). */
  flag?: pulumi.Input<"bridge" | "private" | "vepa">;
}

/** The resources planLower makes for these members, in its order. */
export function lowerNetworkSlots(
  members: Array<Pick<LowerMemberArgs, "namespace" | "createNamespace" | "gateway">>,
  type: "Macvlan" | "Ipvlan",
  given: Record<string, unknown>,
): Slot[] {
  return members.flatMap((m): Slot[] => {
    const withNamespace = m.createNamespace ?? true;
    return [
      ...(withNamespace ? [{ key: `${m.namespace}-netns`, type: "NetworkNamespace" as const, dependsOn: [], given }] : []),
      { key: `${m.namespace}-link`, type, dependsOn: withNamespace ? [`${m.namespace}-netns`] : [], given },
      ...(m.gateway !== undefined ? [{ key: `${m.namespace}-route`, type: "Route" as const, dependsOn: [`${m.namespace}-link`], given }] : []),
    ];
  });
}

/** Makes a lower network's children now, their inputs from `plan` once the values are known. */
function materializeLower<A extends LowerNetworkArgs>(
  component: ComponentLabel,
  args: A,
  type: "Macvlan" | "Ipvlan",
  plan: (values: Omit<A, "connection"> & { connection: number; hostLabel?: string }) => PlanItem<number>[],
): Record<string, pulumi.CustomResource> {
  const members = planOrRaise(component, () => {
    if (!Array.isArray(args?.members)) throw new PlanInputError("members", "must be a list of namespaces");
    return args.members.map((m, i) => {
      if (typeof m?.namespace !== "string" || m.namespace === "")
        throw new PlanInputError(
          `members[${i}].namespace`,
          `${JSON.stringify(m?.namespace)} is not a namespace name (a plain string: it names the member's resources)`,
        );
      return m;
    });
  });
  const slots = lowerNetworkSlots(members, type, { connection: args.connection });
  const { connection, ...rest } = args;
  // The connection's address names the host in messages; an address is no secret, even inside a secret connection.
  const hostLabel = pulumi.unsecret(pulumi.output(connection).apply((c) => (c as { host?: string } | undefined)?.host));
  const values = pulumi.output({ ...rest, hostLabel }) as unknown as pulumi.Output<Omit<LowerNetworkPlanArgs<number>, "connection">>;
  const items = values.apply((v) =>
    planOrRaise(component, () => {
      for (const [i, m] of args.members.entries())
        if (m.gateway !== undefined && !v.members[i]!.gateway)
          throw new PlanInputError(
            `members[${JSON.stringify(m.namespace)}].gateway`,
            "was given but resolved to nothing; leave it out for no default route",
            v.hostLabel,
          );
      const result = plan({ ...(v as unknown as Omit<A, "connection">), hostLabel: v.hostLabel, connection: 0 });
      assertMatchesSlots(slots, result);
      return result;
    }),
  );
  return materializePlanned(component.name, slots, items, component.resource);
}

/** Namespaces on a parent interface, each with its own macvlan device: containers directly on the host's network. Every value but the member namespaces' names may be an Output. */
export class MacvlanNetwork extends pulumi.ComponentResource {
  /** The child resources by plan key (`<namespace>-netns`, `<namespace>-link`, `<namespace>-route`). */
  readonly resources: Record<string, pulumi.CustomResource>;
  constructor(name: string, args: MacvlanNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:MacvlanNetwork", name, {}, opts);
    this.resources = materializeLower({ type: "MacvlanNetwork", name, resource: this }, args, "Macvlan", (v) =>
      planMacvlanNetwork(v as unknown as MacvlanNetworkPlanArgs<number>),
    );
    this.registerOutputs({});
  }
}

/** Namespaces on a parent interface, each with its own ipvlan device (sharing the parent's MAC). Every value but the member namespaces' names may be an Output. */
export class IpvlanNetwork extends pulumi.ComponentResource {
  /** The child resources by plan key (`<namespace>-netns`, `<namespace>-link`, `<namespace>-route`). */
  readonly resources: Record<string, pulumi.CustomResource>;
  constructor(name: string, args: IpvlanNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:IpvlanNetwork", name, {}, opts);
    this.resources = materializeLower({ type: "IpvlanNetwork", name, resource: this }, args, "Ipvlan", (v) =>
      planIpvlanNetwork(v as unknown as IpvlanNetworkPlanArgs<number>),
    );
    this.registerOutputs({});
  }
}
