import type { ConnectionArgs } from "../resources";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { materialize } from "./materialize";
import type { PlanItem } from "./plan";

export interface AttachmentPlanArgs<C = unknown> {
  connection: C;
  /** Namespace to plug in (the container). */
  namespace: string;
  /** Create the namespace as part of the attachment (default true); false: it exists already (e.g. a NetworkNamespace of your own). */
  createNamespace?: boolean;
  /** Bridge on the host the veth's host end is enslaved to. */
  bridge: string;
  /** Name of the veth's host end; default "ve" + 8 hex of a hash of namespace and bridge. */
  hostEnd?: string;
  /** Name of the end inside the namespace (default eth0). */
  peerName?: string;
  /** Address of the namespace end, CIDR form. */
  address?: string;
  /** Default gateway for the namespace (a Route "default via <gateway> dev <peerName>"). */
  gateway?: string;
  /** MTU of both veth ends; set it to the overlay MTU when the bridge carries VXLAN. */
  mtu?: number;
}

export interface AttachmentPlan<C = unknown> {
  hostEnd: string;
  items: PlanItem<C>[];
}

export function defaultHostEnd(namespace: string, bridge: string): string {
  return `ve${createHash("sha256").update(`${namespace}\0${bridge}`).digest("hex").slice(0, 8)}`;
}

/** NetworkNamespace (optional) → VethPair (host end on the bridge, eth0 in the namespace) → Route (optional). */
export function planAttachment<C>(args: AttachmentPlanArgs<C>): AttachmentPlan<C> {
  const hostEnd = args.hostEnd ?? defaultHostEnd(args.namespace, args.bridge);
  const peerName = args.peerName ?? "eth0";
  if (args.gateway && !args.address) throw new Error("a gateway needs an address on the namespace end to reach it");
  const items: PlanItem<C>[] = [];
  if (args.createNamespace ?? true) items.push({ key: "netns", type: "NetworkNamespace", dependsOn: [], inputs: { connection: args.connection, name: args.namespace } });
  const nsDeps = items.length ? ["netns"] : [];
  items.push({
    key: "veth",
    type: "VethPair",
    dependsOn: nsDeps,
    inputs: {
      connection: args.connection,
      name: hostEnd,
      master: args.bridge,
      peerName,
      peerNetns: args.namespace,
      ...(args.address ? { peerAddresses: [args.address] } : {}),
      ...(args.mtu !== undefined ? { mtu: args.mtu, peerMtu: args.mtu } : {}),
    },
  });
  if (args.gateway) {
    items.push({ key: "route", type: "Route", dependsOn: ["veth"], inputs: { connection: args.connection, netns: args.namespace, destination: "default", via: args.gateway, dev: peerName } });
  }
  return { hostEnd, items };
}

export type AttachmentArgs = AttachmentPlanArgs<ConnectionArgs>;

/** Plugs a namespace into a bridge through a veth pair, with an address and an optional default route. */
export class Attachment extends pulumi.ComponentResource {
  readonly hostEnd: pulumi.Output<string>;
  readonly resources: Record<string, pulumi.CustomResource>;

  constructor(name: string, args: AttachmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:Attachment", name, {}, opts);
    const plan = planAttachment(args);
    this.resources = materialize(name, plan.items, this);
    this.hostEnd = pulumi.output(plan.hostEnd);
    this.registerOutputs({ hostEnd: this.hostEnd });
  }
}
