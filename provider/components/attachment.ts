import type { ConnectionArgs } from "../resources";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { stableMac } from "./mac";
import { materialize } from "./materialize";
import { type PersistOption, type PlanItem, withPersist } from "./plan";

export interface AttachmentPlanArgs<C = unknown> extends PersistOption {
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
  /**
   * MAC of the end inside the namespace. Default: derived from `macSeed` (when given), so a container
   * re-created by a later `pulumi up` (a host leaving and rejoining an overlay) keeps its MAC
   * and its peers' ARP entries stay valid.
   */
  macAddress?: string;
  /**
   * Identity the default MAC is derived from, unique among the attachments on one L2 segment;
   * the Attachment component passes project, stack and its own name. Without it (and without
   * macAddress) the kernel picks a random MAC.
   */
  macSeed?: string;
}

export interface AttachmentPlan<C = unknown> {
  hostEnd: string;
  /** The pinned MAC of the namespace end, when there is one (macAddress or macSeed given). */
  macAddress?: string;
  items: PlanItem<C>[];
}

export function defaultHostEnd(namespace: string, bridge: string): string {
  return `ve${createHash("sha256").update(`${namespace}\0${bridge}`).digest("hex").slice(0, 8)}`;
}

/** The namespace end's default MAC: unique per seed (stack and component), namespace and bridge. */
export function attachmentMac(args: Pick<AttachmentPlanArgs, "macSeed" | "namespace" | "bridge">): string {
  return stableMac("attachment", args.macSeed ?? "", args.namespace, args.bridge);
}

/** NetworkNamespace (optional) → VethPair (host end on the bridge, eth0 in the namespace) → Route (optional). */
export function planAttachment<C>(args: AttachmentPlanArgs<C>): AttachmentPlan<C> {
  const hostEnd = args.hostEnd ?? defaultHostEnd(args.namespace, args.bridge);
  const peerName = args.peerName ?? "eth0";
  // Without a seed nothing identifies this attachment among others of the same namespace and
  // bridge names on other hosts: a derived MAC could then repeat on one L2 segment.
  const peerMac = args.macAddress ?? (args.macSeed !== undefined ? attachmentMac(args) : undefined);
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
      ...(peerMac ? { peerMacAddress: peerMac } : {}),
      peerAnnounce: true,
      ...(args.address ? { peerAddresses: [args.address] } : {}),
      ...(args.mtu !== undefined ? { mtu: args.mtu, peerMtu: args.mtu } : {}),
    },
  });
  if (args.gateway) {
    items.push({ key: "route", type: "Route", dependsOn: ["veth"], inputs: { connection: args.connection, netns: args.namespace, destination: "default", via: args.gateway, dev: peerName } });
  }
  return { hostEnd, macAddress: peerMac, items: withPersist(items, args.persist) };
}

export type AttachmentArgs = Omit<AttachmentPlanArgs<ConnectionArgs>, "macSeed">;

/** Plugs a namespace into a bridge through a veth pair, with an address and an optional default route. */
export class Attachment extends pulumi.ComponentResource {
  readonly hostEnd: pulumi.Output<string>;
  /** MAC of the end inside the namespace (pinned: see AttachmentPlanArgs.macAddress). */
  readonly macAddress: pulumi.Output<string | undefined>;
  readonly resources: Record<string, pulumi.CustomResource>;

  constructor(name: string, args: AttachmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:Attachment", name, {}, opts);
    const plan = planAttachment({ ...args, macSeed: `${pulumi.getProject()}\0${pulumi.getStack()}\0${name}` });
    this.resources = materialize(name, plan.items, this);
    this.hostEnd = pulumi.output(plan.hostEnd);
    this.macAddress = pulumi.output(plan.macAddress);
    this.registerOutputs({ hostEnd: this.hostEnd, macAddress: this.macAddress });
  }
}
