import * as pulumi from "@pulumi/pulumi";
import { canonicalIp, networkOf } from "../engine/fields";
import { wireguardPublicKey } from "../kinds/wireguard/wireguard";
import type { ConnectionArgs } from "../resources";
import { materialize } from "./materialize";
import type { PersistMode } from "../persist/files";
import { type PersistOption, type PlanItem, withPersist } from "./plan";
import { planVxlanOverlay, type OverlayHostPlan, VXLAN_OVERHEAD_IPV4 } from "./vxlan-overlay";

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
}

export interface EncryptedOverlayHostPlan<K = string> extends OverlayHostPlan {
  wgName: string;
  wgAddress: string;
  /** The host's WireGuard public key, derived from its private key. */
  publicKey: K;
}

export interface EncryptedOverlayPlan<C = unknown, K = string> {
  /** MTU of the WireGuard interfaces: the smallest underlay MTU − 80. */
  wgMtu: number;
  /** MTU of the overlay (bridges, VTEPs, attachments): wgMtu − 50. */
  mtu: number;
  hosts: EncryptedOverlayHostPlan<K>[];
  items: PlanItem<C>[];
}

/** The n-th address of an IPv4 subnet (n ≥ 1), refusing the network and broadcast addresses and anything outside. */
function nthAddress(subnet: string, n: number): string {
  const [network, prefixText] = subnet.split("/") as [string, string];
  const prefix = Number(prefixText);
  const base = network.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  if (n < 1 || n >= size - 1) throw new Error(`WireGuard subnet ${subnet} has no room for host ${n} (it holds ${Math.max(0, size - 2)})`);
  const value = base + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function parseSubnet(subnet: string): { network: string; prefix: number } {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(subnet);
  const address = match ? canonicalIp(match[1]!) : undefined;
  const prefix = Number(match?.[2]);
  if (!address || address.includes(":") || !(prefix >= 8 && prefix <= 30)) throw new Error(`wgSubnet must be an IPv4 subnet like 10.250.0.0/24 (prefix 8-30), not ${JSON.stringify(subnet)}`);
  if (networkOf(address, prefix) !== address) throw new Error(`wgSubnet ${subnet} has host bits set; the network is ${networkOf(address, prefix)}/${prefix}`);
  return { network: address, prefix };
}

/**
 * Per host: a WireguardInterface (an address in wgSubnet; every other host a peer, reached at
 * `<its underlayAddress>:<wgPort>` and allowed only its wg address /32), then the VxlanOverlay's
 * Bridge and VxlanTunnel with the wg addresses as the VTEPs' local address and flood list, so
 * VXLAN runs inside WireGuard. MTU: underlay − 80 for the WireGuard interfaces, − 50 more for the
 * overlay (1500 → 1420 → 1370).
 *
 * `derivePublicKey` turns a private key into its public key: for plain strings (the default)
 * node:crypto's X25519; the component passes one for Pulumi Outputs. K is string in a plain
 * plan; other K values land in the items as they are, which the resource classes take at any
 * depth (their Args are Pulumi Inputs throughout).
 */
export function planEncryptedOverlay<C, K = string>(args: EncryptedOverlayPlanArgs<C, K>, derivePublicKey: (privateKey: K) => K = wireguardPublicKey as unknown as (privateKey: K) => K): EncryptedOverlayPlan<C, K> {
  if (args.hosts.length === 0) throw new Error("an encrypted overlay needs at least one host");
  const { network, prefix } = parseSubnet(args.wgSubnet);
  const wgPort = args.wgPort ?? 51820;
  const wgName = args.wgName ?? `wgov${args.vni}`;
  const wgMtu = Math.min(...args.hosts.map((h) => h.underlayMtu ?? 1500)) - WIREGUARD_OVERHEAD;
  const wgAddresses = args.hosts.map((h, i) => {
    const address = h.wgAddress === undefined ? nthAddress(`${network}/${prefix}`, i + 1) : canonicalIp(h.wgAddress);
    if (!address || address.includes(":") || networkOf(address, prefix) !== network) throw new Error(`host ${h.name}: wgAddress ${h.wgAddress} is not an IPv4 address in ${args.wgSubnet}`);
    return address;
  });
  if (new Set(wgAddresses).size !== wgAddresses.length) throw new Error(`two hosts have the same WireGuard address (${wgAddresses.join(", ")})`);
  const publicKeys = args.hosts.map((h) => derivePublicKey(h.privateKey));
  const endpointOf = (address: string) => (address.includes(":") ? `[${canonicalIp(address) ?? address}]:${wgPort}` : `${address}:${wgPort}`);

  // The VXLAN overlay sees the WireGuard addresses as its underlay, at the WireGuard MTU.
  const vxlan = planVxlanOverlay({
    overlayId: args.overlayId,
    vni: args.vni,
    dstPort: args.dstPort,
    bridgeName: args.bridgeName,
    vtepName: args.vtepName,
    mtu: args.mtu ?? wgMtu - VXLAN_OVERHEAD_IPV4,
    hosts: args.hosts.map((h, i) => ({ name: h.name, connection: h.connection, underlayAddress: wgAddresses[i]!, underlayMtu: wgMtu, persist: h.persist ?? args.persist, ...(h.overlayAddress ? { overlayAddress: h.overlayAddress } : {}) })),
  });

  const items: PlanItem<C>[] = [];
  for (const [i, h] of args.hosts.entries()) {
    const wgKey = `${h.name}-wg`;
    items.push(...withPersist<C>([{
      key: wgKey,
      type: "WireguardInterface",
      dependsOn: [],
      inputs: {
        connection: h.connection,
        name: wgName,
        // See K above: a string here, or a Pulumi Output the resource class seals as a secret.
        privateKey: h.privateKey as unknown as string,
        listenPort: wgPort,
        mtu: wgMtu,
        addresses: [`${wgAddresses[i]}/${prefix}`],
        peers: args.hosts
          .map((o, j) => ({ o, j }))
          .filter(({ j }) => j !== i)
          .map(({ o, j }) => ({
            publicKey: publicKeys[j] as unknown as string,
            endpoint: endpointOf(o.underlayAddress),
            allowedIps: [`${wgAddresses[j]}/32`],
            ...(args.persistentKeepalive ? { persistentKeepalive: args.persistentKeepalive } : {}),
          })),
      },
    }], h.persist ?? args.persist));
    for (const item of [`${h.name}-bridge`, `${h.name}-vtep`].map((key) => vxlan.items.find((it) => it.key === key)!)) {
      // The VTEP's local address lives on the WireGuard interface, and its packets go through it.
      items.push(item.type === "VxlanTunnel" ? { ...item, dependsOn: [...item.dependsOn, wgKey] } : item);
    }
  }
  const hosts = vxlan.hosts.map((plan, i) => ({ ...plan, wgName, wgAddress: wgAddresses[i]!, publicKey: publicKeys[i]! }));
  return { wgMtu, mtu: vxlan.mtu, hosts, items };
}

export interface EncryptedOverlayArgs extends Omit<EncryptedOverlayPlanArgs<ConnectionArgs, pulumi.Input<string>>, "overlayId"> {}

/**
 * A VXLAN overlay inside a WireGuard mesh (see planEncryptedOverlay). Each host's private key
 * may be a secret Output (config.requireSecret); the public keys are derived from it and are
 * not secret. Outputs the overlay MTU and, per host, names, addresses and the public key.
 */
export class EncryptedOverlay extends pulumi.ComponentResource {
  /** The overlay MTU (wg MTU − 50): pass it to Attachments. */
  readonly mtu: number;
  /** The WireGuard interfaces' MTU (underlay − 80). */
  readonly wgMtu: number;
  readonly hosts: pulumi.Output<Record<string, EncryptedOverlayHostPlan<string>>>;
  readonly resources: Record<string, pulumi.CustomResource>;

  constructor(name: string, args: EncryptedOverlayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netdev:index:EncryptedOverlay", name, {}, opts);
    // The public key of a secret key is no secret: unsecret it, so peers' keys stay readable.
    const derive = (privateKey: pulumi.Input<string>): pulumi.Input<string> => (typeof privateKey === "string" ? wireguardPublicKey(privateKey) : pulumi.unsecret(pulumi.output(privateKey).apply(wireguardPublicKey)));
    const plan = planEncryptedOverlay<ConnectionArgs, pulumi.Input<string>>({ ...args, overlayId: name }, derive);
    this.resources = materialize(name, plan.items, this);
    this.mtu = plan.mtu;
    this.wgMtu = plan.wgMtu;
    this.hosts = pulumi.output(Object.fromEntries(plan.hosts.map((h) => [h.name, h]))) as pulumi.Output<Record<string, EncryptedOverlayHostPlan<string>>>;
    this.registerOutputs({ mtu: this.mtu, wgMtu: this.wgMtu, hosts: this.hosts });
  }
}
