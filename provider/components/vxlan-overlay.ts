import type { ConnectionArgs } from "../generated/args";
import * as pulumi from "@pulumi/pulumi";
import { stableMac } from "./mac";
import { assertMatchesSlots, dependingOn, materializePlanned, type Slot } from "./materialize";
import type { PersistMode } from "../persist/mode";
import { requireCidr, requireIp } from "./check-inputs";
import { type ComponentLabel, componentError, planOrRaise, PlanInputError } from "./errors";
import { type PersistOption, type PlanItem, withPersist } from "./plan";
import { planAttachment } from "./attachment";
import { namespaceName } from "../engine/fields";

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
  /** Namespaces ("containers") on this host plugged into its bridge, each by a veth pair. */
  containers?: OverlayContainer[];
}

/** A namespace plugged into the overlay's bridge on its host, as an Attachment plugs one: a veth pair at the overlay MTU. */
export interface OverlayContainer {
  /** The namespace, made with the container (and removed with it). */
  namespace: string;
  /** Address of the namespace end, CIDR form. */
  address?: string;
  /** Default gateway for the namespace (a Route "default via <gateway> dev <peerName>"). */
  gateway?: string;
  /** Name of the veth's host end; default "ve" + 8 hex of a hash of namespace and bridge. */
  hostEnd?: string;
  /** Name of the end inside the namespace (default eth0). */
  peerName?: string;
  /** MAC of the end inside the namespace; default derived from overlay, host, namespace and bridge. */
  macAddress?: string;
}

/**
 * How the overlay's resources are cut: "per-device" (default) makes a resource per bridge, VTEP,
 * namespace and veth; "per-host" makes ONE HostDevices resource per host holding its bridge,
 * VTEP and containers' veths (their namespaces made with them), so an `up`, refresh or destroy
 * is one Pulumi step and one script per host. Both persist alike (`persist`).
 */
export type OverlayForm = "per-device" | "per-host";

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
  form?: OverlayForm;
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
  /** Each host's items' keys, in the hosts' order (the flood lists are no host's). */
  keysByHost: string[][];
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

/** Names the hosts of each family when both are present: a VTEP talks to one family. */
export function assertOneFamily(hosts: Array<{ name: string; address: string }>, field: string): void {
  const v6 = hosts.filter((h) => h.address.includes(":")).map((h) => h.name);
  const v4 = hosts.filter((h) => !h.address.includes(":")).map((h) => h.name);
  if (v6.length && v4.length)
    throw new PlanInputError(
      field,
      `the hosts mix IPv4 (${v4.join(", ")}) and IPv6 (${v6.join(", ")}); a VTEP talks to one family, so give every host an address of the same family`,
    );
}

/**
 * Per host: a Bridge, and a VxlanTunnel enslaved to it (`master`), both at the overlay MTU.
 * Unicast: one VxlanFloodLists after every VTEP holds each VTEP's flood list (every other
 * host's underlay address, as all-zero FDB entries), so adding or removing a host is that one
 * resource's update (plus the joiner's creates or the leaver's deletes); the VTEPs have no
 * `peers`. Multicast: each VTEP joins `group` on its underlayDev; no flood lists.
 */
export function planVxlanOverlay<C>(args: VxlanOverlayPlanArgs<C>): VxlanOverlayPlan<C> {
  if (args.hosts.length === 0) throw new PlanInputError("hosts", "a VXLAN overlay needs at least one host");
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  for (const h of args.hosts) {
    if (names.has(h.name)) throw new PlanInputError("name", "this host name appears twice in hosts", h.name);
    names.add(h.name);
  }
  // Checked before anything is derived from them (the family, the MTU, the peer lists).
  const hosts = args.hosts.map((h) => ({
    ...h,
    underlayAddress: requireIp(h.underlayAddress, "underlayAddress", h.name),
    ...(h.overlayAddress !== undefined ? { overlayAddress: requireCidr(h.overlayAddress, "overlayAddress", h.name) } : {}),
  }));
  for (const h of hosts) {
    const other = addresses.get(h.underlayAddress);
    if (other !== undefined)
      throw new PlanInputError(
        "underlayAddress",
        `${h.underlayAddress} is also host ${JSON.stringify(other)}'s; every host needs its own underlay address`,
        h.name,
      );
    addresses.set(h.underlayAddress, h.name);
  }
  assertOneFamily(
    hosts.map((h) => ({ name: h.name, address: h.underlayAddress })),
    "underlayAddress",
  );
  const mode = args.mode ?? { type: "unicast" };
  if (mode.type === "multicast") {
    const missing = hosts.filter((h) => !h.underlayDev).map((h) => h.name);
    if (missing.length)
      throw new PlanInputError(
        "underlayDev",
        `multicast mode needs underlayDev on every host (the interface the group is joined on); missing on ${missing.join(", ")}`,
        missing[0],
      );
  }
  const mtu = args.mtu ?? overlayMtu(hosts);
  const bridgeName = args.bridgeName ?? `vxbr${args.vni}`;
  const vtepName = args.vtepName ?? `vxlan${args.vni}`;
  const items: PlanItem<C>[] = [];
  const hostPlans: OverlayHostPlan[] = [];
  const keysByHost: string[][] = [];
  const form = args.form ?? "per-device";
  for (const h of hosts) {
    const hostItems: PlanItem<C>[] = [];
    const mac = vtepMac(args.overlayId, args.vni, h.name);
    const peers =
      mode.type === "unicast"
        ? hosts
            .filter((o) => o !== h)
            .map((o) => o.underlayAddress)
            .sort()
        : [];
    const bridgeKey = `${h.name}-bridge`;
    // A pinned MAC (like the VTEP's): the bridge made again (after a reboot, by networkd with
    // persist) answers with the MAC its peers' ARP caches already hold.
    const bridge = {
      name: bridgeName,
      mtu,
      macAddress: bridgeMac(args.overlayId, args.vni, h.name),
      ...(h.overlayAddress ? { addresses: [h.overlayAddress] } : {}),
    };
    const vtep = {
      name: vtepName,
      vni: args.vni,
      dstPort: args.dstPort ?? 4789,
      mtu,
      macAddress: mac,
      master: bridgeName,
      local: h.underlayAddress,
      ...(h.underlayDev ? { dev: h.underlayDev } : {}),
      ...(mode.type === "unicast" ? {} : { group: mode.group }),
    };
    const containers = (h.containers ?? []).map((container) =>
      planAttachment<C>({
        ...container,
        connection: h.connection,
        bridge: bridgeName,
        mtu,
        createNamespace: true,
        macSeed: `${args.overlayId}\0${h.name}`,
        hostLabel: h.name,
      }),
    );
    const namespaces = new Set<string>();
    for (const container of h.containers ?? []) {
      if (namespaces.has(container.namespace)) throw new PlanInputError("containers", `namespace ${JSON.stringify(container.namespace)} appears twice`, h.name);
      namespaces.add(container.namespace);
    }
    const containerKey = (namespace: string, key: string) => `${h.name}-${namespace}-${key}`;
    if (form === "per-host") {
      const devicesKey = `${h.name}-devices`;
      const veths = containers.map((plan) => {
        const veth = plan.items.find((item) => item.type === "VethPair")!.inputs;
        const { connection: _connection, ...fields } = veth;
        return [`veth-${plan.hostEnd}`, { kind: "veth" as const, ...fields }] as const;
      });
      hostItems.push({
        key: devicesKey,
        type: "HostDevices",
        dependsOn: [],
        inputs: {
          connection: h.connection,
          devices: { bridge: { kind: "bridge", ...bridge }, vtep: { kind: "vxlan", ...vtep }, ...Object.fromEntries(veths) },
        },
      });
      for (const [i, plan] of containers.entries()) {
        const route = plan.items.find((item) => item.type === "Route");
        if (route) hostItems.push({ ...route, key: containerKey(h.containers![i]!.namespace, "route"), dependsOn: [devicesKey] });
      }
    } else {
      hostItems.push({ key: bridgeKey, type: "Bridge", dependsOn: [], inputs: { connection: h.connection, ...bridge } });
      hostItems.push({ key: `${h.name}-vtep`, type: "VxlanTunnel", dependsOn: [bridgeKey], inputs: { connection: h.connection, ...vtep } });
      for (const [i, plan] of containers.entries()) {
        const namespace = h.containers![i]!.namespace;
        for (const item of plan.items)
          hostItems.push({
            ...item,
            key: containerKey(namespace, item.key),
            // The veth is enslaved to the bridge: made after it, deleted before it.
            dependsOn: [...item.dependsOn.map((key) => containerKey(namespace, key)), ...(item.type === "VethPair" ? [bridgeKey] : [])],
          } as PlanItem<C>);
      }
    }
    // Either form: every resource of the host (its HostDevices, routes) gets the host's persist.
    const persisted = withPersist(hostItems, h.persist ?? args.persist);
    items.push(...persisted);
    keysByHost.push(persisted.map((item) => item.key));
    hostPlans.push({ name: h.name, bridgeName, vtepName, vtepMac: mac, peers });
  }
  if (mode.type === "unicast") items.push(floodListsItem(hosts, hostPlans, args.persist, form));
  return { mtu, hosts: hostPlans, items, keysByHost };
}

/** The key of the resource holding `host`'s VTEP: its VxlanTunnel, or (per-host form) its HostDevices. */
export function vtepKey(host: string, form: OverlayForm = "per-device"): string {
  return form === "per-host" ? `${host}-devices` : `${host}-vtep`;
}

/** The key of a unicast overlay's one VxlanFloodLists item. */
export const FLOOD_KEY = "flood";

/**
 * Unicast: every VTEP's flood list as one resource, after every VTEP. Membership is what
 * changes often: a host joining or leaving changes only this resource (one step), and the
 * VTEPs themselves stay as they are.
 */
function floodListsItem<C>(hosts: Array<OverlayHost<C>>, plans: OverlayHostPlan[], persist: PersistMode | undefined, form: OverlayForm): PlanItem<C> {
  const persistOf = (h: OverlayHost<C>) => h.persist ?? persist;
  return {
    key: FLOOD_KEY,
    type: "VxlanFloodLists",
    dependsOn: hosts.map((h) => vtepKey(h.name, form)),
    inputs: {
      connections: Object.fromEntries(hosts.map((h) => [h.name, h.connection])),
      vteps: Object.fromEntries(
        // A mesh: each VTEP's own address, where the others flood to it (N entries, not N × (N − 1)).
        hosts.map((h, i) => [
          h.name,
          { name: plans[i]!.vtepName, address: h.underlayAddress, ...(persistOf(h) !== undefined ? { persist: persistOf(h) } : {}) },
        ]),
      ),
    },
  };
}

/** One member host of a VxlanOverlay: every value but `name` may be an Output (a VM's address, a secret). */
export interface VxlanOverlayHostArgs {
  /** Stable logical name of the host within the overlay, e.g. "a": keys its resources (`<overlay>-<name>-bridge`) and seeds its VTEP MAC, so it is a plain string. */
  name: string;
  /** How to reach the host over SSH (see the device resources' `connection`). */
  connection: ConnectionArgs;
  /** The host's address on the underlay, e.g. "203.0.113.10": its VTEP's local address and the other hosts' peer for it. IPv4 or IPv6, the same family on every host. */
  underlayAddress: pulumi.Input<string>;
  /** The underlay interface, e.g. "eth0": required in multicast mode (where the group is joined). */
  underlayDev?: pulumi.Input<string>;
  /** MTU of the underlay on this host in bytes (default 1500). */
  underlayMtu?: pulumi.Input<number>;
  /** An address for this host's bridge in the overlay, CIDR form, e.g. "192.168.100.254/24" (optional). */
  overlayAddress?: pulumi.Input<string>;
  /** This host's resources only: overrides the overlay's `persist` (a host without systemd in an otherwise persisted overlay). */
  persist?: pulumi.Input<PersistMode>;
  /**
   * Namespaces ("containers") on this host plugged into its bridge, each by a veth pair at the
   * overlay MTU, as an Attachment plugs one; in the per-host form their veths are part of the
   * host's one resource. The list and each `namespace` are plain (they key the resources); the
   * other values may be Outputs. A `gateway` given (even as an Output) adds a Route.
   */
  containers?: OverlayContainerArgs[];
}

/** A container of a VxlanOverlay host: see OverlayContainer. */
export interface OverlayContainerArgs {
  /** The namespace, e.g. "web": made with the container and removed with it. Plain: it keys the container's resources. */
  namespace: string;
  /** Address of the namespace end, CIDR form, e.g. "192.168.100.1/24". */
  address?: pulumi.Input<string>;
  /** Default gateway for the namespace, e.g. "192.168.100.254": a Route "default via <gateway> dev <peerName>". */
  gateway?: pulumi.Input<string>;
  /** Name of the veth's host end (default "ve" + 8 hex of a hash of namespace and bridge). */
  hostEnd?: pulumi.Input<string>;
  /** Name of the veth's end inside the namespace (default "eth0"). */
  peerName?: pulumi.Input<string>;
  /** MAC of the end inside the namespace; default derived from overlay, host, namespace and bridge, so a re-created container keeps its MAC. */
  macAddress?: pulumi.Input<string>;
}

/** A VxlanOverlay's arguments. */
export interface VxlanOverlayArgs {
  /** The member hosts, at least one. The list itself is plain (one bridge and one VTEP each); each host's values may be Outputs. */
  hosts: VxlanOverlayHostArgs[];
  /** The VXLAN network identifier, 1-16777215: the same on every host. */
  vni: pulumi.Input<number>;
  /** VXLAN's UDP destination port (default 4789). */
  dstPort?: pulumi.Input<number>;
  /** `{ type: "unicast" }` (default: every VTEP floods to all other hosts' underlay addresses) or `{ type: "multicast", group: "239.1.1.1" }` (needs `underlayDev` on every host). */
  mode?: pulumi.Input<OverlayMode>;
  /** Name of the bridge on every host (default `vxbr<vni>`). */
  bridgeName?: pulumi.Input<string>;
  /** Name of the VTEP on every host (default `vxlan<vni>`). */
  vtepName?: pulumi.Input<string>;
  /** Overlay MTU in bytes; default: the smallest underlay MTU − 50 (IPv4 underlay) or − 70 (IPv6). */
  mtu?: pulumi.Input<number>;
  /** "networkd", "networkmanager", "systemd" or "auto": every device comes back after a reboot (see provider/persist/README.md); per host overridable. */
  persist?: pulumi.Input<PersistMode>;
  /**
   * "per-device" (default): a Pulumi resource per bridge, VTEP and container device. "per-host":
   * one HostDevices resource per host (bridge, VTEP and its containers' veths), so each `up`,
   * refresh and destroy is one step and one script per host: for overlays of many hosts.
   * Plain: it decides which resources exist. Changing it on a live stack replaces every
   * device (see the README).
   */
  form?: OverlayForm;
}

/** What an Attachment needs of an overlay to plug a namespace into it on one host (VxlanOverlay and EncryptedOverlay both offer it). */
export interface OverlayAttachPoint extends pulumi.Resource {
  /** The overlay's host names, as given. */
  readonly hostNames: readonly string[];
  /** The overlay MTU: what an attached veth must use. It depends on every child of the overlay. */
  readonly mtu: pulumi.Output<number>;
  /**
   * The overlay MTU as `host`'s bridge has it, an Output of that Bridge only: what an Attachment
   * on that host takes, so that its resources depend on the one bridge they plug into rather
   * than on every host's (which would make each one's state, and what a replacement touches,
   * grow with the overlay).
   */
  mtuOf(host: string): pulumi.Output<number>;
  /** The name of the overlay's bridge on `host`, as an Output of that Bridge: whatever uses it is made after the bridge and deleted before it. */
  bridgeOf(host: string): pulumi.Output<string>;
  /** The connection given for `host`. */
  connectionOf(host: string): ConnectionArgs;
}

/** Checks what must be plain at construction (the host list and names): a ResourceError naming the component otherwise. */
export function checkHostNames(component: ComponentLabel, hosts: unknown): string[] {
  return planOrRaise(component, () => {
    if (!Array.isArray(hosts) || hosts.length === 0) throw new PlanInputError("hosts", "must be a list of at least one host");
    return hosts.map((h: unknown, i) => {
      const name = (h as { name?: unknown } | null)?.name;
      if (typeof name !== "string" || name === "")
        throw new PlanInputError(
          `hosts[${i}].name`,
          `${JSON.stringify(name)} is not a host name: a plain, non-empty string (it names the host's resources, so it cannot be an Output)`,
        );
      return name;
    });
  });
}

/**
 * The resources planVxlanOverlay makes for these hosts, in its order; `unicast` adds the flood
 * lists, given every host's connection by host name.
 */
export function vxlanOverlaySlots(
  hostNames: string[],
  given: (host: number) => { connection: unknown },
  unicast = true,
  shape: { form?: OverlayForm; containers?: (host: number) => Array<{ namespace: string; withRoute: boolean }> } = {},
): Slot[] {
  const form = shape.form ?? "per-device";
  const perHost = hostNames.flatMap((name, i): Slot[] => {
    const containers = shape.containers?.(i) ?? [];
    const route = (namespace: string, after: string): Slot => ({ key: `${name}-${namespace}-route`, type: "Route", dependsOn: [after], given: given(i) });
    if (form === "per-host")
      return [
        { key: `${name}-devices`, type: "HostDevices", dependsOn: [], given: given(i) },
        ...containers.filter((c) => c.withRoute).map((c) => route(c.namespace, `${name}-devices`)),
      ];
    return [
      { key: `${name}-bridge`, type: "Bridge" as const, dependsOn: [], given: given(i) },
      { key: `${name}-vtep`, type: "VxlanTunnel" as const, dependsOn: [`${name}-bridge`], given: given(i) },
      ...containers.flatMap((c): Slot[] => [
        { key: `${name}-${c.namespace}-netns`, type: "NetworkNamespace", dependsOn: [], given: given(i) },
        { key: `${name}-${c.namespace}-veth`, type: "VethPair", dependsOn: [`${name}-${c.namespace}-netns`, `${name}-bridge`], given: given(i) },
        ...(c.withRoute ? [route(c.namespace, `${name}-${c.namespace}-veth`)] : []),
      ]),
    ];
  });
  if (!unicast) return perHost;
  const connections = Object.fromEntries(hostNames.map((name, i) => [name, given(i).connection]));
  return [...perHost, { key: FLOOD_KEY, type: "VxlanFloodLists", dependsOn: hostNames.map((name) => vtepKey(name, form)), given: { connections } }];
}

/** Each host's containers as far as they must be plain at construction: a ResourceError naming the overlay otherwise. */
export function checkContainers(
  component: ComponentLabel,
  hosts: Array<{ name: string; containers?: OverlayContainerArgs[] }>,
): Array<Array<{ namespace: string; withRoute: boolean }>> {
  return planOrRaise(component, () =>
    hosts.map((h) => {
      if (h.containers === undefined) return [];
      if (!Array.isArray(h.containers)) throw new PlanInputError("containers", "must be a plain list (it decides which resources exist)", h.name);
      return h.containers.map((c, i) => {
        const namespace = (c as { namespace?: unknown } | null)?.namespace;
        if (typeof namespace !== "string" || !namespaceName.safeParse(namespace).success)
          throw new PlanInputError(
            `containers[${i}].namespace`,
            `${JSON.stringify(namespace)} is not a namespace name: a plain string of 1-64 letters, digits, _ . or - (it keys the container's resources)`,
            h.name,
          );
        return { namespace, withRoute: c.gateway !== undefined };
      });
    }),
  );
}

export function checkForm(component: ComponentLabel, form: unknown): OverlayForm {
  return planOrRaise(component, () => {
    if (form === undefined || form === "per-device" || form === "per-host") return form ?? "per-device";
    throw new PlanInputError("form", `${JSON.stringify(form)} is not a form: "per-device" or "per-host", given plainly (it decides which resources exist)`);
  });
}

/** Whether `mode` is known at construction to be multicast: then no flood lists. A mode given as an Output counts as unicast (in multicast the flood lists are then empty). */
function plainlyMulticast(mode: VxlanOverlayArgs["mode"]): boolean {
  return mode !== undefined && !pulumi.Output.isInstance(mode) && !(mode instanceof Promise) && (mode as OverlayMode).type === "multicast";
}

/** The host of an OverlayAttachPoint, or a ResourceError naming the overlay. */
export function hostIndex(component: ComponentLabel, hostNames: readonly string[], host: string): number {
  const index = hostNames.indexOf(host);
  if (index < 0)
    throw componentError(component, new PlanInputError("host", `${JSON.stringify(host)} is not one of the overlay's hosts (${hostNames.join(", ")})`));
  return index;
}

/**
 * A layer-2 overlay across several hosts: on each a bridge and a VXLAN tunnel endpoint enslaved
 * to it, flooding to the other hosts. Planned by planVxlanOverlay. Every host value may be an Output: the
 * children are made at once (preview lists them all), their inputs follow from the plan once the
 * values are known. Outputs the overlay MTU and, per host, the bridge and VTEP names and the VTEP
 * MAC; `bridgeOf(host)` is what an Attachment plugs into.
 */
export class VxlanOverlay extends pulumi.ComponentResource implements OverlayAttachPoint {
  /** The overlay MTU (from the underlay MTUs and family unless `mtu` is given): pass it to Attachments. */
  readonly mtu: pulumi.Output<number>;
  /** Per host name: bridge and VTEP names, the VTEP MAC and its flood list. */
  readonly hosts: pulumi.Output<Record<string, OverlayHostPlan>>;
  readonly hostNames: readonly string[];
  /** The child resources by plan key (`<host>-bridge`, `<host>-vtep`; per-host form: `<host>-devices`). */
  readonly resources: Record<string, pulumi.CustomResource>;
  /** How the resources are cut: see VxlanOverlayArgs.form. */
  readonly form: OverlayForm;
  private readonly label: ComponentLabel;
  private readonly connections: ConnectionArgs[];

  constructor(name: string, args: VxlanOverlayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:VxlanOverlay", name, {}, opts);
    this.label = { type: "VxlanOverlay", name, resource: this };
    this.hostNames = checkHostNames(this.label, args?.hosts);
    this.connections = args.hosts.map((h) => h.connection);
    // Everything but the connections goes through the plan; a connection is given to its host's resources as it is.
    const values = pulumi.output({ ...args, hosts: args.hosts.map(({ connection: _connection, ...rest }) => rest) });
    const multicast = plainlyMulticast(args.mode);
    this.form = checkForm(this.label, args.form);
    const containers = checkContainers(this.label, args.hosts);
    const slots = vxlanOverlaySlots([...this.hostNames], (i) => ({ connection: this.connections[i] }), !multicast, {
      form: this.form,
      containers: (i) => containers[i]!,
    });
    const plan = values.apply((v) =>
      planOrRaise(this.label, () => {
        const result = planVxlanOverlay<number>({
          ...(v as Omit<VxlanOverlayPlanArgs<number>, "overlayId" | "hosts">),
          overlayId: name,
          hosts: v.hosts.map((h, i) => ({ ...(h as Omit<OverlayHost<number>, "connection">), name: this.hostNames[i]!, connection: i })),
        });
        // A multicast mode given as an Output: its flood lists resource was made, with no lists to hold.
        if (!multicast && !result.items.some((item) => item.type === "VxlanFloodLists"))
          result.items.push({
            key: FLOOD_KEY,
            type: "VxlanFloodLists",
            dependsOn: this.hostNames.map((host) => vtepKey(host, this.form)),
            inputs: { connections: {}, vteps: {} },
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
    // The outputs depend on every child: what takes them is made once the overlay is.
    this.mtu = dependingOn(
      this.resources,
      plan.apply((p) => p.mtu),
    );
    this.hosts = dependingOn(
      this.resources,
      plan.apply((p) => Object.fromEntries(p.hosts.map((h) => [h.name, h]))),
    );
    this.registerOutputs({ mtu: this.mtu, hosts: this.hosts });
  }

  bridgeOf(host: string): pulumi.Output<string> {
    return hostBridge(this.label, this.hostNames, this.resources, host).name;
  }

  mtuOf(host: string): pulumi.Output<number> {
    return bridgeMtu(hostBridge(this.label, this.hostNames, this.resources, host));
  }

  connectionOf(host: string): ConnectionArgs {
    return this.connections[hostIndex(this.label, this.hostNames, host)]!;
  }
}

/** An overlay's Bridge on one host, as its outputs: each an Output of that bridge alone. */
export interface OverlayBridge {
  name: pulumi.Output<string>;
  mtu: pulumi.Output<number | undefined>;
}

/** The overlay's Bridge on `host` (`<host>-bridge` among its children), or a ResourceError naming the overlay. */
export function hostBridge(
  component: ComponentLabel,
  hostNames: readonly string[],
  resources: Record<string, pulumi.CustomResource>,
  host: string,
): OverlayBridge {
  const name = hostNames[hostIndex(component, hostNames, host)];
  const bridge = resources[`${name}-bridge`];
  if (bridge) return bridge as unknown as OverlayBridge;
  // The per-host form: the bridge is one device of the host's HostDevices.
  const devices = (resources[`${name}-devices`] as unknown as { devices: pulumi.Output<Record<string, { name: string; mtu?: number }>> }).devices;
  return { name: devices.apply((d) => d.bridge!.name), mtu: devices.apply((d) => d.bridge!.mtu) };
}

/** An overlay bridge's `mtu` (every overlay plans one), as an Output of that bridge alone. */
export function bridgeMtu(bridge: OverlayBridge): pulumi.Output<number> {
  return bridge.mtu.apply((mtu) => {
    if (mtu === undefined) throw new Error("the overlay's bridge has no mtu: an overlay's bridge always has one");
    return mtu;
  });
}
