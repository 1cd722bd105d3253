import type { ConnectionArgs } from "../generated/args";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { stableMac } from "./mac";
import type { PersistMode } from "../persist/mode";
import { requireCidr, requireIp } from "./check-inputs";
import { type ComponentLabel, planOrRaise, PlanInputError } from "./errors";
import { assertMatchesSlots, materializePlanned, type Slot } from "./materialize";
import { type PersistOption, type PlanItem, withPersist } from "./plan";
import type { OverlayAttachPoint } from "./vxlan-overlay";

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
  /** How error messages name the host (the overlay's name for it, or the connection's address). */
  hostLabel?: string;
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
  const host = args.hostLabel;
  if (args.address !== undefined) requireCidr(args.address, "address", host);
  if (args.gateway !== undefined) requireIp(args.gateway, "gateway", host);
  if (args.gateway && !args.address) throw new PlanInputError("gateway", "a gateway needs an address on the namespace end to reach it: set address too", host);
  for (const [field, value] of [
    ["namespace", args.namespace],
    ["bridge", args.bridge],
  ] as const) {
    if (typeof value !== "string" || value === "") throw new PlanInputError(field, `${JSON.stringify(value)} is not a name`, host);
  }
  const items: PlanItem<C>[] = [];
  if (args.createNamespace ?? true)
    items.push({ key: "netns", type: "NetworkNamespace", dependsOn: [], inputs: { connection: args.connection, name: args.namespace } });
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
    items.push({
      key: "route",
      type: "Route",
      dependsOn: ["veth"],
      inputs: { connection: args.connection, netns: args.namespace, destination: "default", via: args.gateway, dev: peerName },
    });
  }
  return { hostEnd, macAddress: peerMac, items: withPersist(items, args.persist) };
}

/** An Attachment's arguments besides where it plugs in: every value may be an Output. */
export interface AttachmentCommonArgs {
  /** The namespace to plug in (the "container"), e.g. "web". */
  namespace: pulumi.Input<string>;
  /** Create the namespace as part of the attachment (default true); false: it exists already (e.g. a NetworkNamespace of your own). Plain: it decides whether a NetworkNamespace child exists. */
  createNamespace?: boolean;
  /** Name of the veth's host end (default "ve" + 8 hex of a hash of namespace and bridge). */
  hostEnd?: pulumi.Input<string>;
  /** Name of the veth's end inside the namespace (default "eth0"). */
  peerName?: pulumi.Input<string>;
  /** Address of the namespace end, CIDR form, e.g. "192.168.100.1/24". */
  address?: pulumi.Input<string>;
  /** Default gateway for the namespace, e.g. "192.168.100.254": a Route "default via <gateway> dev <peerName>". Given (even as an Output), the Route child exists. */
  gateway?: pulumi.Input<string>;
  /** MTU of both veth ends in bytes. With `overlay`, default the overlay's MTU; with `bridge`, set it to the overlay MTU when the bridge carries VXLAN. */
  mtu?: pulumi.Input<number>;
  /** MAC of the end inside the namespace; default: derived from project, stack, this component's name, namespace and bridge, so a re-created container keeps its MAC. */
  macAddress?: pulumi.Input<string>;
  /** "networkd", "networkmanager", "systemd" or "auto": the namespace, veth and route come back after a reboot (see provider/persist/README.md). */
  persist?: pulumi.Input<PersistMode>;
}

/** Plug into an overlay's bridge on one of its hosts: connection, bridge and MTU come from the overlay, and the veth is made after that host's bridge. */
export interface AttachmentToOverlay {
  /** The overlay (a VxlanOverlay or an EncryptedOverlay). */
  overlay: OverlayAttachPoint;
  /** Which of the overlay's hosts, by the name given there, e.g. "a". */
  host: string;
  connection?: never;
  bridge?: never;
}

/** Plug into a bridge by name on a host of your own. */
export interface AttachmentToBridge {
  /** How to reach the host over SSH. */
  connection: ConnectionArgs;
  /** The bridge on the host, e.g. "br0", or `overlay.bridgeOf("a")` (which also orders the veth after that bridge). */
  bridge: pulumi.Input<string>;
  overlay?: never;
  host?: never;
}

export type AttachmentArgs = AttachmentCommonArgs & (AttachmentToOverlay | AttachmentToBridge);

/** The resources planAttachment makes, in its order. */
export function attachmentSlots(createNamespace: boolean, withRoute: boolean, given: Record<string, unknown>): Slot[] {
  return [
    ...(createNamespace ? [{ key: "netns", type: "NetworkNamespace" as const, dependsOn: [], given }] : []),
    { key: "veth", type: "VethPair" as const, dependsOn: createNamespace ? ["netns"] : [], given },
    ...(withRoute ? [{ key: "route", type: "Route" as const, dependsOn: ["veth"], given }] : []),
  ];
}

/**
 * Plugs a namespace into a bridge through a veth pair, with an address and an optional default
 * route: into an overlay's bridge on one of its hosts (`overlay` and `host`), or into a bridge of
 * your own (`connection` and `bridge`). Every value may be an Output.
 */
export class Attachment extends pulumi.ComponentResource {
  /** Name of the veth's host end. */
  readonly hostEnd: pulumi.Output<string>;
  /** MAC of the end inside the namespace (pinned: see AttachmentCommonArgs.macAddress). */
  readonly macAddress: pulumi.Output<string | undefined>;
  /** The child resources by plan key (`netns`, `veth`, `route`). */
  readonly resources: Record<string, pulumi.CustomResource>;

  constructor(name: string, args: AttachmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:Attachment", name, {}, opts);
    const label: ComponentLabel = { type: "Attachment", name, resource: this };
    const where = planOrRaise(label, () => placeOf(args));
    const { overlay: _overlay, host: _host, connection: _connection, bridge: _bridge, mtu, ...rest } = args;
    const values = pulumi.output({ ...rest, bridge: where.bridge, mtu: mtu ?? where.mtu, hostLabel: where.hostLabel });
    const slots = attachmentSlots(args.createNamespace ?? true, args.gateway !== undefined, { connection: where.connection });
    const plan = values.apply((v) =>
      planOrRaise(label, () => {
        if (args.gateway !== undefined && !v.gateway)
          throw new PlanInputError("gateway", "was given but resolved to nothing; leave it out for no default route", v.hostLabel);
        const result = planAttachment<number>({
          ...(v as Omit<AttachmentPlanArgs<number>, "connection">),
          connection: 0,
          macSeed: `${pulumi.getProject()}\0${pulumi.getStack()}\0${name}`,
        });
        assertMatchesSlots(slots, result.items);
        return result;
      }),
    );
    this.resources = materializePlanned(
      name,
      slots,
      plan.apply((p) => p.items),
      this,
    );
    this.hostEnd = plan.apply((p) => p.hostEnd);
    this.macAddress = plan.apply((p) => p.macAddress);
    this.registerOutputs({ hostEnd: this.hostEnd, macAddress: this.macAddress });
  }
}

/** Where an Attachment plugs in, from either form of its arguments. */
function placeOf(args: AttachmentArgs): {
  connection: ConnectionArgs;
  bridge: pulumi.Input<string>;
  mtu?: pulumi.Input<number>;
  hostLabel: pulumi.Input<string | undefined>;
} {
  if (args?.overlay !== undefined) {
    if (typeof args.host !== "string") throw new PlanInputError("host", "with overlay, name one of the overlay's hosts (a plain string)");
    if (!args.overlay.hostNames.includes(args.host))
      throw new PlanInputError("host", `${JSON.stringify(args.host)} is not one of the overlay's hosts (${args.overlay.hostNames.join(", ")})`);
    return {
      connection: args.overlay.connectionOf(args.host),
      bridge: args.overlay.bridgeOf(args.host),
      mtu: args.overlay.mtuOf(args.host),
      hostLabel: args.host,
    };
  }
  if (args?.connection === undefined || args.bridge === undefined)
    throw new PlanInputError("overlay", "give either overlay and host (plug into an overlay), or connection and bridge (a bridge of your own)");
  // The connection's address names the host in messages; an address is no secret, even inside a secret connection.
  const hostLabel = pulumi.unsecret(pulumi.output(args.connection).apply((c) => (c as { host?: string } | undefined)?.host));
  return { connection: args.connection, bridge: args.bridge, hostLabel };
}
