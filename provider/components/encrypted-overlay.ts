import * as pulumi from "@pulumi/pulumi";
import { canonicalIp, networkOf } from "../engine/fields";
import { wireguardPublicKey } from "../kinds/wireguard/wireguard";
import type { ConnectionArgs } from "../generated/args";
import { requireIp, requireWireguardKey } from "./check-inputs";
import { type ComponentLabel, planOrRaise, PlanInputError } from "./errors";
import { assertMatchesSlots, dependingOn, materializePlanned, type Slot } from "./materialize";
import type { PersistMode } from "../persist/mode";
import { type PersistOption, type PlanItem, withPersist } from "./plan";
import {
  assertOneFamily,
  checkHostNames,
  hostIndex,
  type OverlayAttachPoint,
  planVxlanOverlay,
  bridgeMtu,
  hostBridge,
  type OverlayHostPlan,
  VXLAN_OVERHEAD_IPV4,
  vxlanOverlaySlots,
  type OverlayContainer,
  type OverlayContainerArgs,
  type OverlayForm,
  checkContainers,
  checkForm,
  vtepKey,
} from "./vxlan-overlay";

/**
 * A VXLAN overlay whose VTEPs talk over a WireGuard mesh: the underlay carries only WireGuard's
 * UDP, so neither the containers' traffic nor the VXLAN headers cross it in plain text.
 */

/** WireGuard's overhead over an IPv6 underlay (40 IP + 8 UDP + 32 WireGuard); used for IPv4 too, as wg-quick does, so one MTU fits both. */
export const WIREGUARD_OVERHEAD = 80;

export interface EncryptedOverlayHost<C = unknown, K = string> {
  /** Stable logical name within the overlay: keys the host's resources, seeds its VTEP MAC. */
  name: string;
  connection: C;
  /** The host's address on the underlay: the other hosts' WireGuard endpoint for it. */
  underlayAddress: string;
  /** MTU of the underlay on this host (default 1500). */
  underlayMtu?: number;
  /** This host's WireGuard private key (`wg genkey`): keep it a secret. */
  privateKey: K;
  /** This host's resources only: overrides the overlay's `persist`. */
  persist?: PersistMode;
  /**
   * The host's address in the WireGuard subnet (no prefix). Default: the subnet's (i+1)-th
   * address for the i-th host, so pin it to add or remove hosts later without renumbering.
   */
  wgAddress?: string;
  /** Address on this host's bridge in the overlay, CIDR form (optional). */
  overlayAddress?: string;
  /** Namespaces ("containers") on this host plugged into its bridge, each by a veth pair. */
  containers?: OverlayContainer[];
}

export interface EncryptedOverlayPlanArgs<C = unknown, K = string> extends PersistOption {
  /** Identity of the overlay (the component's name): seeds the VTEP MACs. */
  overlayId: string;
  hosts: EncryptedOverlayHost<C, K>[];
  /** The WireGuard mesh's IPv4 subnet, e.g. "10.250.0.0/24": one address per host. */
  wgSubnet: string;
  /** WireGuard's UDP port on every host (default 51820). */
  wgPort?: number;
  /** Name of the WireGuard interface on every host (default wgov<vni>). */
  wgName?: string;
  /** Keepalive to every peer, seconds (default none: the hosts talk to each other directly). */
  persistentKeepalive?: number;
  vni: number;
  /** VXLAN's UDP port inside the tunnel (default 4789). */
  dstPort?: number;
  bridgeName?: string;
  vtepName?: string;
  /** Overlay MTU; default: the smallest underlay MTU − 80 (WireGuard) − 50 (VXLAN over the IPv4 WireGuard addresses). */
  mtu?: number;
  /** How the overlay's devices are cut (see OverlayForm); per host, the WireGuard interface is one device of the host's HostDevices. */
  form?: OverlayForm;
}

export interface EncryptedOverlayHostPlan extends OverlayHostPlan {
  wgName: string;
  wgAddress: string;
  /** The host's WireGuard public key, derived from its private key. */
  publicKey: string;
}

export interface EncryptedOverlayPlan<C = unknown, _K = string> {
  /** MTU of the WireGuard interfaces: the smallest underlay MTU − 80. */
  wgMtu: number;
  /** MTU of the overlay (bridges, VTEPs, attachments): wgMtu − 50. */
  mtu: number;
  hosts: EncryptedOverlayHostPlan[];
  items: PlanItem<C>[];
}

/** The public key of a private key given as a string, checked first. */
function defaultDerive(privateKey: string, host: string): string {
  return wireguardPublicKey(requireWireguardKey(privateKey, "privateKey", host));
}

/** The n-th address of an IPv4 subnet (n ≥ 1), refusing the network and broadcast addresses and anything outside. */
function nthAddress(subnet: string, n: number): string {
  const [network, prefixText] = subnet.split("/") as [string, string];
  const prefix = Number(prefixText);
  const base = network.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  if (n < 1 || n >= size - 1) throw new PlanInputError("wgSubnet", `${subnet} has no room for host ${n} (it holds ${Math.max(0, size - 2)})`);
  const value = base + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function parseSubnet(subnet: string): { network: string; prefix: number } {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(subnet);
  const address = match ? canonicalIp(match[1]!) : undefined;
  const prefix = Number(match?.[2]);
  if (!address || address.includes(":") || !(prefix >= 8 && prefix <= 30))
    throw new PlanInputError("wgSubnet", `must be an IPv4 subnet like 10.250.0.0/24 (prefix 8-30), not ${JSON.stringify(subnet)}`);
  if (networkOf(address, prefix) !== address)
    throw new PlanInputError("wgSubnet", `${subnet} has host bits set; the network is ${networkOf(address, prefix)}/${prefix}`);
  return { network: address, prefix };
}

/** The key of an EncryptedOverlay's one WireguardPeerLists item. */
export const WG_PEERS_KEY = "wg-peers";

/** The key of the WireGuard interface among a host's devices in the per-host form (its HostDevices' `devices` and `privateKeys`). */
export const WG_DEVICE_KEY = "wg";

/** The key of the resource holding `host`'s WireGuard interface: its WireguardInterface, or (per-host form) its HostDevices. */
export function wgKey(host: string, form: OverlayForm = "per-device"): string {
  return form === "per-host" ? `${host}-devices` : `${host}-wg`;
}

/**
 * Per host: a WireguardInterface (an address in wgSubnet, no peers of its own), then the
 * VxlanOverlay's Bridge and VxlanTunnel with the wg addresses as the VTEPs' local address and
 * flood list, so VXLAN runs inside WireGuard. In the per-host form the interface is the first
 * device of the host's one HostDevices (its key in `privateKeys`), before the VTEP on it. After every interface, one WireguardPeerLists
 * holds every interface's peers (every other host, reached at `<its underlayAddress>:<wgPort>`
 * and allowed only its wg address /32), and after every VTEP one VxlanFloodLists every flood
 * list: a host joining or leaving changes only those two resources. MTU: underlay − 80 for the WireGuard interfaces, − 50 more for the
 * overlay (1500 → 1420 → 1370).
 *
 * `derivePublicKey` turns a private key into its public key: by default node:crypto's X25519,
 * after the key is checked (a malformed key is refused naming the host and field, never quoted).
 * The component plans with placeholders for the keys (their index) and derives the public keys
 * itself, from the private keys' Outputs.
 */
export function planEncryptedOverlay<C, K = string>(
  args: EncryptedOverlayPlanArgs<C, K>,
  derivePublicKey: (privateKey: K, host: string) => string = defaultDerive as unknown as (privateKey: K, host: string) => string,
): EncryptedOverlayPlan<C, K> {
  if (args.hosts.length === 0) throw new PlanInputError("hosts", "an encrypted overlay needs at least one host");
  const names = new Set<string>();
  for (const h of args.hosts) {
    if (names.has(h.name)) throw new PlanInputError("name", "this host name appears twice in hosts", h.name);
    names.add(h.name);
  }
  // Checked before anything is derived from them (endpoints, the address family).
  const underlay = args.hosts.map((h) => requireIp(h.underlayAddress, "underlayAddress", h.name));
  assertOneFamily(
    args.hosts.map((h, i) => ({ name: h.name, address: underlay[i]! })),
    "underlayAddress",
  );
  const { network, prefix } = parseSubnet(args.wgSubnet);
  const wgPort = args.wgPort ?? 51820;
  const wgName = args.wgName ?? `wgov${args.vni}`;
  const wgMtu = Math.min(...args.hosts.map((h) => h.underlayMtu ?? 1500)) - WIREGUARD_OVERHEAD;
  const wgAddresses = args.hosts.map((h, i) => {
    const address = h.wgAddress === undefined ? nthAddress(`${network}/${prefix}`, i + 1) : canonicalIp(String(h.wgAddress));
    if (!address || address.includes(":") || networkOf(address, prefix) !== network)
      throw new PlanInputError("wgAddress", `${JSON.stringify(h.wgAddress)} is not an IPv4 address in ${args.wgSubnet}`, h.name);
    return address;
  });
  for (const [i, address] of wgAddresses.entries()) {
    const other = wgAddresses.indexOf(address);
    if (other !== i)
      throw new PlanInputError(
        "wgAddress",
        `${address} is also host ${JSON.stringify(args.hosts[other]!.name)}'s: two hosts have the same WireGuard address`,
        args.hosts[i]!.name,
      );
  }
  const publicKeys = args.hosts.map((h) => derivePublicKey(h.privateKey, h.name));
  const endpointOf = (address: string) => (address.includes(":") ? `[${canonicalIp(address) ?? address}]:${wgPort}` : `${address}:${wgPort}`);

  // The VXLAN overlay sees the WireGuard addresses as its underlay, at the WireGuard MTU.
  const vxlan = planVxlanOverlay({
    overlayId: args.overlayId,
    vni: args.vni,
    dstPort: args.dstPort,
    bridgeName: args.bridgeName,
    vtepName: args.vtepName,
    mtu: args.mtu ?? wgMtu - VXLAN_OVERHEAD_IPV4,
    ...(args.form ? { form: args.form } : {}),
    hosts: args.hosts.map((h, i) => ({
      name: h.name,
      connection: h.connection,
      underlayAddress: wgAddresses[i]!,
      underlayMtu: wgMtu,
      persist: h.persist ?? args.persist,
      ...(h.overlayAddress ? { overlayAddress: h.overlayAddress } : {}),
      ...(h.containers ? { containers: h.containers } : {}),
    })),
  });

  const items: PlanItem<C>[] = [];
  for (const [i, h] of args.hosts.entries()) {
    const wg = {
      name: wgName,
      listenPort: wgPort,
      mtu: wgMtu,
      addresses: [`${wgAddresses[i]}/${prefix}`],
    };
    // See K above: a string in a plain plan, a placeholder the component replaces with the key's Input.
    const privateKey = h.privateKey as unknown as string;
    const hostItems = vxlan.keysByHost[i]!.map((key) => vxlan.items.find((it) => it.key === key)!);
    if (args.form === "per-host") {
      // The interface first among the host's devices: the VTEP's local address lives on it.
      for (const item of hostItems) {
        if (item.type !== "HostDevices") {
          items.push(item);
          continue;
        }
        const inputs = item.inputs as { devices: Record<string, unknown> };
        items.push({
          ...item,
          inputs: {
            ...item.inputs,
            devices: { [WG_DEVICE_KEY]: { kind: "wireguard", ...wg }, ...inputs.devices },
            privateKeys: { [WG_DEVICE_KEY]: privateKey },
          },
        } as PlanItem<C>);
      }
      continue;
    }
    const ownKey = wgKey(h.name);
    items.push(
      ...withPersist<C>(
        [{ key: ownKey, type: "WireguardInterface", dependsOn: [], inputs: { connection: h.connection, ...wg, privateKey } }],
        h.persist ?? args.persist,
      ),
    );
    const holdsVtep = vtepKey(h.name, args.form);
    for (const item of hostItems) {
      // The VTEP's local address lives on the WireGuard interface, and its packets go through it.
      items.push(item.key === holdsVtep ? { ...item, dependsOn: [...item.dependsOn, ownKey] } : item);
    }
  }
  // Every interface's peers (every other host): one resource after every interface, as a mesh
  // (each host once, as the others list it: N entries in state, not N × (N − 1)).
  const persistOf = (h: EncryptedOverlayHost<C, K>) => h.persist ?? args.persist;
  items.push({
    key: WG_PEERS_KEY,
    type: "WireguardPeerLists",
    dependsOn: args.hosts.map((h) => wgKey(h.name, args.form)),
    inputs: {
      connections: Object.fromEntries(args.hosts.map((h) => [h.name, h.connection])),
      interfaces: Object.fromEntries(
        args.hosts.map((h, i) => [
          h.name,
          {
            name: wgName,
            asPeer: {
              publicKey: publicKeys[i]!,
              endpoint: endpointOf(underlay[i]!),
              allowedIps: [`${wgAddresses[i]}/32`],
              ...(args.persistentKeepalive ? { persistentKeepalive: args.persistentKeepalive } : {}),
            },
            ...(persistOf(h) !== undefined ? { persist: persistOf(h) } : {}),
          },
        ]),
      ),
    },
  });
  // Every VTEP's flood list (over the WireGuard addresses): one resource after every VTEP.
  items.push(vxlan.items.find((item) => item.type === "VxlanFloodLists")!);
  const hosts = vxlan.hosts.map((plan, i) => ({ ...plan, wgName, wgAddress: wgAddresses[i]!, publicKey: publicKeys[i]! }));
  return { wgMtu, mtu: vxlan.mtu, hosts, items };
}

/** One member host of an EncryptedOverlay: every value but `name` may be an Output (a VM's address, a secret key). */
export interface EncryptedOverlayHostArgs {
  /** Stable logical name of the host within the overlay, e.g. "a": keys its resources (`<overlay>-<name>-wg`) and seeds its VTEP MAC, so it is a plain string. */
  name: string;
  /** How to reach the host over SSH (see the device resources' `connection`). */
  connection: ConnectionArgs;
  /** The host's address on the underlay, e.g. "203.0.113.10": the other hosts' WireGuard endpoint for it. The same family on every host. */
  underlayAddress: pulumi.Input<string>;
  /** MTU of the underlay on this host in bytes (default 1500). */
  underlayMtu?: pulumi.Input<number>;
  /** This host's WireGuard private key (`wg genkey`), e.g. `config.requireSecret("wgKeyA")`: always stored as a secret. */
  privateKey: pulumi.Input<string>;
  /** The host's address in the WireGuard subnet, no prefix, e.g. "10.250.0.5". Default: the subnet's (i+1)-th address for the i-th host; pin it to add or remove hosts later without renumbering. */
  wgAddress?: pulumi.Input<string>;
  /** An address for this host's bridge in the overlay, CIDR form (optional). */
  overlayAddress?: pulumi.Input<string>;
  /** This host's resources only: overrides the overlay's `persist`. */
  persist?: pulumi.Input<PersistMode>;
  /**
   * Namespaces ("containers") on this host plugged into its bridge, each by a veth pair at the
   * overlay MTU, as an Attachment plugs one (see VxlanOverlay's `containers`); in the per-host
   * form their veths are part of the host's HostDevices. The list and each `namespace` are plain.
   */
  containers?: OverlayContainerArgs[];
}

/** An EncryptedOverlay's arguments. */
export interface EncryptedOverlayArgs {
  /** The member hosts, at least one. The list itself is plain (a WireGuard interface, a bridge and a VTEP each); each host's values may be Outputs. */
  hosts: EncryptedOverlayHostArgs[];
  /** The WireGuard mesh's IPv4 subnet, e.g. "10.250.0.0/24" (prefix 8-30): one address per host. */
  wgSubnet: pulumi.Input<string>;
  /** WireGuard's UDP port on every host (default 51820). */
  wgPort?: pulumi.Input<number>;
  /** Name of the WireGuard interface on every host (default `wgov<vni>`). */
  wgName?: pulumi.Input<string>;
  /** Keepalive to every peer in seconds (default none: the hosts talk to each other directly). */
  persistentKeepalive?: pulumi.Input<number>;
  /** The VXLAN network identifier, 1-16777215. */
  vni: pulumi.Input<number>;
  /** VXLAN's UDP port inside the tunnel (default 4789). */
  dstPort?: pulumi.Input<number>;
  /** Name of the bridge on every host (default `vxbr<vni>`). */
  bridgeName?: pulumi.Input<string>;
  /** Name of the VTEP on every host (default `vxlan<vni>`). */
  vtepName?: pulumi.Input<string>;
  /** Overlay MTU in bytes; default: the smallest underlay MTU − 80 (WireGuard) − 50 (VXLAN). */
  mtu?: pulumi.Input<number>;
  /** "networkd", "networkmanager", "systemd" or "auto": every device comes back after a reboot (see provider/persist/README.md); per host overridable. */
  persist?: pulumi.Input<PersistMode>;
  /**
   * "per-device" (default): a Pulumi resource per WireGuard interface, bridge, VTEP and container
   * device. "per-host": per host ONE HostDevices (WireGuard interface, bridge, VTEP and its
   * containers' veths): for overlays of many hosts. Plain: it decides which resources exist.
   */
  form?: OverlayForm;
}

/**
 * A VXLAN overlay inside a WireGuard mesh, for underlays you do not trust: the underlay carries
 * only WireGuard's UDP. Planned by planEncryptedOverlay. Every host value may be an
 * Output, the private keys secrets (config.requireSecret): the children are made at once, their
 * inputs follow from the plan once the values are known. The public keys are derived from the
 * private keys and are not secret. Outputs the MTUs and, per host, names, addresses and the public
 * key; `bridgeOf(host)` is what an Attachment plugs into.
 */
export class EncryptedOverlay extends pulumi.ComponentResource implements OverlayAttachPoint {
  /** The overlay MTU (wg MTU − 50): pass it to Attachments. */
  readonly mtu: pulumi.Output<number>;
  /** The WireGuard interfaces' MTU (underlay − 80). */
  readonly wgMtu: pulumi.Output<number>;
  /** Per host name: device names, the wg address, the public key, the VTEP MAC. */
  readonly hosts: pulumi.Output<Record<string, EncryptedOverlayHostPlan>>;
  readonly hostNames: readonly string[];
  /** The child resources by plan key (`<host>-wg`, `<host>-bridge`, `<host>-vtep`, `wg-peers`, `flood`; per-host form: `<host>-devices` for the WireGuard interface, bridge and VTEP). */
  readonly resources: Record<string, pulumi.CustomResource>;
  /** How the resources are cut: see EncryptedOverlayArgs.form. */
  readonly form: OverlayForm;
  private readonly label: ComponentLabel;
  private readonly connections: ConnectionArgs[];

  constructor(name: string, args: EncryptedOverlayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:EncryptedOverlay", name, {}, opts);
    const label: ComponentLabel = (this.label = { type: "EncryptedOverlay", name, resource: this });
    const hostNames = (this.hostNames = checkHostNames(label, args?.hosts));
    const form = (this.form = checkForm(label, args.form));
    const containers = checkContainers(label, args.hosts);
    this.connections = args.hosts.map((h) => h.connection);
    // The public key of a secret key is no secret: unsecret it, so peers' keys stay readable. The key is checked first.
    const publicKeys = args.hosts.map((h, i) =>
      pulumi.unsecret(pulumi.output(h.privateKey).apply((key) => planOrRaise(label, () => defaultDerive(key, hostNames[i]!)))),
    );
    // Connections and private keys are given to their host's resources as they are; the rest goes through the plan.
    const values = pulumi.output({ ...args, hosts: args.hosts.map(({ connection: _connection, privateKey: _privateKey, ...rest }) => rest) });
    const slots = hostNames.flatMap((host, i): Slot[] => {
      const given = { connection: this.connections[i] };
      const privateKey = args.hosts[i]!.privateKey;
      if (form === "per-host")
        return vxlanOverlaySlots([host], () => given, false, { form, containers: () => containers[i]! }).map((slot) =>
          slot.type === "HostDevices" ? { ...slot, given: { ...given, privateKeys: { [WG_DEVICE_KEY]: privateKey } } } : slot,
        );
      return [
        { key: wgKey(host), type: "WireguardInterface", dependsOn: [], given: { ...given, privateKey } },
        ...vxlanOverlaySlots([host], () => given, false, { form, containers: () => containers[i]! }).map((slot) =>
          slot.key === vtepKey(host, form) ? { ...slot, dependsOn: [...slot.dependsOn, wgKey(host)] } : slot,
        ),
      ];
    });
    const connections = Object.fromEntries(hostNames.map((host, i) => [host, this.connections[i]]));
    slots.push({ key: WG_PEERS_KEY, type: "WireguardPeerLists", dependsOn: hostNames.map((host) => wgKey(host, form)), given: { connections } });
    slots.push(vxlanOverlaySlots(hostNames, (i) => ({ connection: this.connections[i] }), true, { form }).at(-1)!);
    const plan = pulumi.all([values, pulumi.all(publicKeys)]).apply(([v, keys]) =>
      planOrRaise(label, () => {
        const hosts = v.hosts.map((h, i) => ({
          ...(h as Omit<EncryptedOverlayHost<number, number>, "connection" | "privateKey">),
          name: hostNames[i]!,
          connection: i,
          privateKey: i,
        }));
        const result = planEncryptedOverlay<number, number>(
          { ...(v as Omit<EncryptedOverlayPlanArgs<number, number>, "overlayId" | "hosts">), overlayId: name, hosts },
          (i) => keys[i]!,
        );
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
    this.wgMtu = dependingOn(
      this.resources,
      plan.apply((p) => p.wgMtu),
    );
    this.hosts = dependingOn(
      this.resources,
      plan.apply((p) => Object.fromEntries(p.hosts.map((h) => [h.name, h]))),
    );
    this.registerOutputs({ mtu: this.mtu, wgMtu: this.wgMtu, hosts: this.hosts });
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
