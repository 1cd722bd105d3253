import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInput } from "./ssh/connection";
import { dynamicResourceType, providerSource } from "./dynamic";
import { ownerKeyOf } from "./identity";
import { deviceKinds } from "./kinds";
import type { DeviceType, InputsOf, ResourceType } from "./registry";
import { sealSecrets } from "./seal";

/** Each field, at any depth, may be a plain value or a Pulumi Input (another resource's Output, a secret). */
type DeepInput<T> = T extends string | number | boolean | null | undefined
  ? pulumi.Input<T>
  : T extends ReadonlyArray<infer Item>
    ? pulumi.Input<Array<DeepInput<Item>>>
    : pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>;
type Inputs<T> = { [K in keyof T]: DeepInput<T[K]> };

/** How to reach a host, as resource arguments take it: any field may be an Output or a secret. */
export type ConnectionArgs = DeepInput<ConnectionInput>;

/** A resource type's arguments: the zod input type of its registry entry, as Pulumi Inputs. */
export type ArgsOf<T extends ResourceType> = Omit<Inputs<InputsOf<T>>, "ownerKey">;
/** A device kind's resource arguments (common and kind fields). */
export type DeviceArgs<T extends DeviceType> = ArgsOf<T>;

/**
 * Every resource of this package. `connection` (and a kind's secretFields, e.g. a WireGuard
 * private key) is always stored as a secret, whatever the caller marked: it is sealed with
 * pulumi.secret before it becomes an input (additionalSecretOutputs alone covers only the
 * outputs; a plain-text password would stay readable under the inputs in state). `ownerKey`
 * ties the resource's identity to the tag it leaves on the host (see engine/ownership.ts).
 *
 * An interface, not a base class: each public class extends CustomResource itself and computes
 * its registration before `super`, so no constructor of ours stands between Pulumi's and the
 * program's. Pulumi records the frame after the resource class's constructor as the resource's
 * source position (and every frame in its stack trace, which is state): that frame is then the
 * program's line, as with any provider's resources, not a line of this file.
 */
export interface NetdevResource extends pulumi.CustomResource {}

/** CustomResource's constructor arguments. */
type Registration = [type: string, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions];

function registration(type: ResourceType, resourceName: string, args: object, opts: pulumi.CustomResourceOptions | undefined, shape: { outputs?: readonly string[]; secretFields?: readonly string[] } = {}): Registration {
  const secrets = ["connection", ...(shape.secretFields ?? [])];
  const props = { ...Object.fromEntries((shape.outputs ?? []).map((key) => [key, undefined])), ...sealSecrets(args, secrets), ownerKey: ownerKeyOf(type, resourceName, opts), __provider: providerSource(type) };
  // What pulumi.dynamic.Resource registers, with a provider text of a few bytes instead of its closure serialization (provider/dynamic.ts).
  // deleteBeforeReplace: a device's name (a route's spec) is fixed, so old and new cannot exist
  // side by side. The provider's diff says so for the replacements it decides; this also covers
  // those Pulumi decides alone (`up --replace`, a tainted resource), which otherwise create first.
  return [dynamicResourceType(type), resourceName, props, { deleteBeforeReplace: true, ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secrets] }];
}

/** What the provider reads back from the host after every create, update and refresh. */
/**
 * Pulumi's registration makes four promises per property (value, known, secret, dependencies),
 * and each records `new Error().stack` for Pulumi's report of promises a program leaks. Under
 * ts-node, which runs TypeScript programs, every such stack is source-mapped frame by frame: a
 * bridge's 10 properties cost ~5 ms of the program's CPU before anything is registered, more
 * than Pulumi's own work for it (measured at 180 bridges: program CPU 6.4 -> 5.5 s, first
 * registration 0.6-0.9 s sooner). Those stacks are recorded without frames while the
 * constructor registers; the resource's source position is not affected (Pulumi takes it with
 * its own unlimited stack, Resource.callsites), and an error the constructor throws gets its
 * stack from here, where the program called it. Each class calls `super` in its own try rather
 * than through a helper: a frame between the class and CustomResource would become the source
 * position Pulumi stores.
 */
function pauseStacks(): { resume(error?: unknown): unknown } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  function resume(error?: unknown): unknown {
    Error.stackTraceLimit = limit;
    // The frames from the resource's constructor down to the program's line.
    if (error instanceof Error) Error.captureStackTrace(error, resume);
    return error;
  }
  return { resume };
}

const OBSERVED = ["schemaVersion", "ifindex", "operState", "hwAddress", "linkMtu", "kindInfo"] as const;

/** A device on a host: the outputs every device resource has. */
export interface DeviceResource extends NetdevResource {
  /** Kernel interface index on the host. */
  readonly ifindex: pulumi.Output<number>;
  /** Operational state as the kernel reports it (UP, DOWN, UNKNOWN, LOWERLAYERDOWN). */
  readonly operState: pulumi.Output<string>;
  /** The MAC address the device actually has. */
  readonly hwAddress: pulumi.Output<string>;
  /** The MTU the device actually has. */
  readonly linkMtu: pulumi.Output<number>;
  /** Kind-specific attributes as `ip -details` reports them (info_data); only with `reportKindInfo: true`. */
  readonly kindInfo: pulumi.Output<Record<string, unknown> | undefined>;
  readonly name: pulumi.Output<string>;
  readonly netns: pulumi.Output<string | undefined>;
  readonly addresses: pulumi.Output<string[] | undefined>;
}

function deviceRegistration(type: DeviceType, resourceName: string, args: object, opts?: pulumi.CustomResourceOptions): Registration {
  const kind: { secretFields?: readonly string[]; outputs?: { fields: object } } = deviceKinds[type];
  return registration(type, resourceName, args, opts, { outputs: [...OBSERVED, ...Object.keys(kind.outputs?.fields ?? {})], secretFields: kind.secretFields });
}

export type TunDeviceArgs = DeviceArgs<"TunDevice">;
/** A persistent tun or tap device. */
export interface TunDevice extends DeviceResource {}
export class TunDevice extends pulumi.CustomResource {
  constructor(name: string, args: TunDeviceArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("TunDevice", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type VethPairArgs = DeviceArgs<"VethPair">;
/** A veth pair; the peer end may live in another namespace (a container). */
export interface VethPair extends DeviceResource {}
export class VethPair extends pulumi.CustomResource {
  declare readonly peerName: pulumi.Output<string>;
  declare readonly peerNetns: pulumi.Output<string | undefined>;
  constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("VethPair", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type BridgeArgs = DeviceArgs<"Bridge">;
/** A Linux bridge. */
export interface Bridge extends DeviceResource {}
export class Bridge extends pulumi.CustomResource {
  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Bridge", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type MacvlanArgs = DeviceArgs<"Macvlan">;
/** A macvlan (or macvtap) device on a parent interface. */
export interface Macvlan extends DeviceResource {}
export class Macvlan extends pulumi.CustomResource {
  constructor(name: string, args: MacvlanArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Macvlan", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type IpvlanArgs = DeviceArgs<"Ipvlan">;
/** An ipvlan device on a parent interface. */
export interface Ipvlan extends DeviceResource {}
export class Ipvlan extends pulumi.CustomResource {
  constructor(name: string, args: IpvlanArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Ipvlan", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type VlanArgs = DeviceArgs<"Vlan">;
/** An 802.1Q/802.1ad VLAN sub-interface. */
export interface Vlan extends DeviceResource {}
export class Vlan extends pulumi.CustomResource {
  constructor(name: string, args: VlanArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Vlan", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type VxlanTunnelArgs = DeviceArgs<"VxlanTunnel">;
/** A VXLAN tunnel endpoint. */
export interface VxlanTunnel extends DeviceResource {}
export class VxlanTunnel extends pulumi.CustomResource {
  declare readonly peers: pulumi.Output<string[] | undefined>;
  constructor(name: string, args: VxlanTunnelArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("VxlanTunnel", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type DummyArgs = DeviceArgs<"Dummy">;
/** A dummy device: addresses that stay up whatever the links do, or a stand-in member. */
export interface Dummy extends DeviceResource {}
export class Dummy extends pulumi.CustomResource {
  constructor(name: string, args: DummyArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Dummy", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type GeneveArgs = DeviceArgs<"Geneve">;
/** A Geneve tunnel endpoint (Ethernet over UDP, port 6081). */
export interface Geneve extends DeviceResource {}
export class Geneve extends pulumi.CustomResource {
  constructor(name: string, args: GeneveArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Geneve", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type GreArgs = DeviceArgs<"Gre">;
/** A GRE (gre) or GRE-over-Ethernet (gretap) tunnel over IPv4. */
export interface Gre extends DeviceResource {}
export class Gre extends pulumi.CustomResource {
  constructor(name: string, args: GreArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Gre", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type BondArgs = DeviceArgs<"Bond">;
/** A bond (link aggregation); members join by their own `master` field. */
export interface Bond extends DeviceResource {}
export class Bond extends pulumi.CustomResource {
  constructor(name: string, args: BondArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Bond", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type VrfArgs = DeviceArgs<"Vrf">;
/** A VRF: an L3 master with its own routing table; members join by their own `master` field. */
export interface Vrf extends DeviceResource {}
export class Vrf extends pulumi.CustomResource {
  constructor(name: string, args: VrfArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("Vrf", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type WireguardInterfaceArgs = DeviceArgs<"WireguardInterface">;
/** A WireGuard interface; `privateKey` is always kept as a secret and reaches the host only on stdin. */
export interface WireguardInterface extends DeviceResource {}
export class WireguardInterface extends pulumi.CustomResource {
  /** The public key the interface actually has on the host (derived from privateKey): give it to the peers. */
  declare readonly publicKey: pulumi.Output<string | undefined>;
  declare readonly listenPort: pulumi.Output<number | undefined>;
  declare readonly peers: pulumi.Output<Array<{ publicKey: string; endpoint?: string; allowedIps: string[]; persistentKeepalive?: number }> | undefined>;
  constructor(name: string, args: WireguardInterfaceArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...deviceRegistration("WireguardInterface", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type NetworkNamespaceArgs = ArgsOf<"NetworkNamespace">;
/** A named network namespace on a host, loopback up (see objects/namespace for delete rules). */
export interface NetworkNamespace extends NetdevResource {}
export class NetworkNamespace extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly devices: pulumi.Output<string[]>;
  constructor(name: string, args: NetworkNamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...registration("NetworkNamespace", name, args, opts, { outputs: ["devices"] }));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

export type RouteArgs = ArgsOf<"Route">;
/** One route in a host's or namespace's main table (see objects/route). */
export interface Route extends NetdevResource {}
export class Route extends pulumi.CustomResource {
  constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...registration("Route", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

type ResourceClass<T extends ResourceType> = new (name: string, args: ArgsOf<T>, opts?: pulumi.CustomResourceOptions) => NetdevResource;

/**
 * The public class of every registered type: a type without its class, or a class whose Args
 * differ from its registry entry, fails the type check here.
 */
export const resourceClasses = {
  TunDevice,
  VethPair,
  Bridge,
  Macvlan,
  Ipvlan,
  Vlan,
  VxlanTunnel,
  Dummy,
  Geneve,
  Gre,
  Bond,
  Vrf,
  WireguardInterface,
  NetworkNamespace,
  Route,
} satisfies { [T in ResourceType]: ResourceClass<T> };
