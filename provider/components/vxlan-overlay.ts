import type { ConnectionArgs } from "../resources";
import * as pulumi from "@pulumi/pulumi";
import { stableMac } from "./mac";
import { materialize } from "./materialize";
import type { PersistMode } from "../persist/files";
import { type PersistOption, type PlanItem, withPersist } from "./plan";

/** One member host of the overlay. */
export interface OverlayHost<C = unknown> {
  /** Stable logical name of the host within the overlay: keys its resources and seeds its VTEP MAC. */
  name: string;
  connection: C;
  /** The host's address on the underlay: the VTEP's local address, and the other hosts' peer. */
  underlayAddress: string;
  /** Underlay interface (required for multicast: where the group is joined). */
  underlayDev?: string;
  /** MTU of the underlay on this host (default 1500). */
  underlayMtu?: number;
  /** Address on this host's bridge in the overlay, CIDR form (optional). */
  overlayAddress?: string;
  /** This host's resources only: overrides the overlay's `persist` (a host without systemd in an otherwise persisted overlay). */
  persist?: PersistMode;
}

export type OverlayMode = { type: "unicast" } | { type: "multicast"; group: string };

export interface VxlanOverlayPlanArgs<C = unknown> extends PersistOption {
  /** Identity of the overlay (the component's name): seeds the VTEP MACs. */
  overlayId: string;
  hosts: OverlayHost<C>[];
  vni: number;
  dstPort?: number;
  mode?: OverlayMode;
  bridgeName?: string;
  vtepName?: string;
  /** Overlay MTU; default: the smallest underlay MTU − 50 (IPv4 underlay) or − 70 (IPv6). */
  mtu?: number;
}

export interface OverlayHostPlan {
  name: string;
  bridgeName: string;
  vtepName: string;
  vtepMac: string;
  /** Underlay addresses of the other hosts (unicast flood list); empty in multicast mode. */
  peers: string[];
}

export interface VxlanOverlayPlan<C = unknown> {
  mtu: number;
  hosts: OverlayHostPlan[];
  items: PlanItem<C>[];
}

export const VXLAN_OVERHEAD_IPV4 = 50;
export const VXLAN_OVERHEAD_IPV6 = 70;

/** The bridge's MAC, from the overlay and host identity (see stableMac). */
export function bridgeMac(overlayId: string, vni: number, hostName: string): string {
  return stableMac("vxlan-overlay-bridge", overlayId, vni, hostName);
}

/** The VTEP's MAC, from the overlay and host identity (see stableMac). */
export function vtepMac(overlayId: string, vni: number, hostName: string): string {
  return stableMac("vxlan-overlay", overlayId, vni, hostName);
}

export function overlayMtu(hosts: Array<Pick<OverlayHost, "underlayAddress" | "underlayMtu">>): number {
  const overhead = hosts.some((h) => h.underlayAddress.includes(":")) ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4;
  return Math.min(...hosts.map((h) => h.underlayMtu ?? 1500)) - overhead;
}

/**
 * Per host: a Bridge, and a VxlanTunnel enslaved to it (`master`), both at the overlay MTU.
 * Unicast: each VTEP lists every other host's underlay address in `peers` (all-zero FDB
 * entries, changed in place), so adding or removing a host changes only the others' peers.
 * Multicast: each VTEP joins `group` on its underlayDev; no peers.
 */
export function planVxlanOverlay<C>(args: VxlanOverlayPlanArgs<C>): VxlanOverlayPlan<C> {
  if (args.hosts.length === 0) throw new Error("a VXLAN overlay needs at least one host");
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const h of args.hosts) {
    if (names.has(h.name)) throw new Error(`overlay host name ${h.name} appears twice`);
    if (addresses.has(h.underlayAddress)) throw new Error(`underlay address ${h.underlayAddress} appears twice`);
    names.add(h.name);
    addresses.add(h.underlayAddress);
  }
  const families = new Set(args.hosts.map((h) => (h.underlayAddress.includes(":") ? 6 : 4)));
  if (families.size > 1) throw new Error("overlay hosts mix IPv4 and IPv6 underlay addresses; a VTEP talks to one family");
  const mode = args.mode ?? { type: "unicast" };
  if (mode.type === "multicast") {
    const missing = args.hosts.filter((h) => !h.underlayDev).map((h) => h.name);
    if (missing.length) throw new Error(`multicast mode needs underlayDev on every host; missing on ${missing.join(", ")}`);
  }
  const mtu = args.mtu ?? overlayMtu(args.hosts);
  const bridgeName = args.bridgeName ?? `vxbr${args.vni}`;
  const vtepName = args.vtepName ?? `vxlan${args.vni}`;
  const items: PlanItem<C>[] = [];
  const hosts: OverlayHostPlan[] = [];
  for (const h of args.hosts) {
    const hostItems: PlanItem<C>[] = [];
    const mac = vtepMac(args.overlayId, args.vni, h.name);
    const peers = mode.type === "unicast" ? args.hosts.filter((o) => o !== h).map((o) => o.underlayAddress).sort() : [];
    const bridgeKey = `${h.name}-bridge`;
    hostItems.push({
      key: bridgeKey,
      type: "Bridge",
      dependsOn: [],
      // A pinned MAC (like the VTEP's): the bridge made again (after a reboot, by networkd with
      // persist) answers with the MAC its peers' ARP caches already hold.
      inputs: { connection: h.connection, name: bridgeName, mtu, macAddress: bridgeMac(args.overlayId, args.vni, h.name), ...(h.overlayAddress ? { addresses: [h.overlayAddress] } : {}) },
    });
    hostItems.push({
      key: `${h.name}-vtep`,
      type: "VxlanTunnel",
      dependsOn: [bridgeKey],
      inputs: {
        connection: h.connection,
        name: vtepName,
        vni: args.vni,
        dstPort: args.dstPort ?? 4789,
        mtu,
        macAddress: mac,
        master: bridgeName,
        local: h.underlayAddress,
        ...(h.underlayDev ? { dev: h.underlayDev } : {}),
        ...(mode.type === "unicast" ? { peers } : { group: mode.group }),
      },
    });
    items.push(...withPersist(hostItems, h.persist ?? args.persist));
    hosts.push({ name: h.name, bridgeName, vtepName, vtepMac: mac, peers });
  }
  return { mtu, hosts, items };
}

export interface VxlanOverlayArgs extends Omit<VxlanOverlayPlanArgs<ConnectionArgs>, "overlayId"> {}

/**
 * A VXLAN overlay spanning several hosts: one bridge and one VTEP per host (see
 * planVxlanOverlay). Outputs the overlay MTU and, per host, the bridge and VTEP names and the
 * VTEP MAC, for Attachments to plug namespaces into.
 */
export class VxlanOverlay extends pulumi.ComponentResource {
  /** The overlay MTU, known when the program runs (it follows from the inputs): pass it to Attachments. */
  readonly mtu: number;
  readonly hosts: pulumi.Output<Record<string, OverlayHostPlan>>;
  readonly resources: Record<string, pulumi.CustomResource>;

  constructor(name: string, args: VxlanOverlayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:VxlanOverlay", name, {}, opts);
    const plan = planVxlanOverlay({ ...args, overlayId: name });
    this.resources = materialize(name, plan.items, this);
    this.mtu = plan.mtu;
    this.hosts = pulumi.output(Object.fromEntries(plan.hosts.map((h) => [h.name, h])));
    this.registerOutputs({ mtu: this.mtu, hosts: this.hosts });
  }
}
