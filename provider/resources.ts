import * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType, providerSource } from "./dynamic";
import { declaredOnce } from "./duplicates";
import type * as generated from "./generated/outputs";
import { resourceFields } from "./generated/fields";
import { ownerKeyOf } from "./identity";
import { sealSecrets } from "./seal";

// The public types are generated from the resources' zod schemas (tools/gen-reference.ts): plain
// TypeScript with each field's doc comment, naming no zod type in the published declarations.
import type {
  BondArgs,
  BridgeArgs,
  CommonDeviceArgs,
  ConnectionArgs,
  DummyArgs,
  GeneveArgs,
  GreArgs,
  IpvlanArgs,
  MacvlanArgs,
  NetworkNamespaceArgs,
  ResourceArgs,
  RouteArgs,
  TunDeviceArgs,
  VethPairArgs,
  VlanArgs,
  VrfArgs,
  VxlanTunnelArgs,
  WireguardInterfaceArgs,
} from "./generated/args";
import type { CommonDeviceOutputs, ResolvedConnection } from "./generated/outputs";
export type {
  BondArgs,
  BridgeArgs,
  CommonDeviceArgs,
  CommonDeviceOutputs,
  ConnectionArgs,
  DummyArgs,
  GeneveArgs,
  GreArgs,
  IpvlanArgs,
  MacvlanArgs,
  NetworkNamespaceArgs,
  ResolvedConnection,
  ResourceArgs,
  RouteArgs,
  TunDeviceArgs,
  VethPairArgs,
  VlanArgs,
  VrfArgs,
  VxlanTunnelArgs,
  WireguardInterfaceArgs,
};

/** Every resource type of this package. */
export type ResourceType = keyof ResourceArgs;

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

/**
 * What the class registers: every input (an unset one as undefined) and every output beyond
 * them, so that each is a property of the resource (Pulumi resolves only registered ones:
 * `bridge.mtu` is an Output whether or not the program set it), the secrets sealed.
 */
function registration(
  type: ResourceType,
  resourceName: string,
  args: object,
  opts: pulumi.CustomResourceOptions | undefined,
  internalOutputs: readonly string[] = [],
): Registration {
  const fields = resourceFields[type];
  const secrets: readonly string[] = fields.secrets;
  const declared = Object.fromEntries([...fields.inputs, ...fields.outputs, ...internalOutputs].map((key) => [key, undefined]));
  const props = { ...declared, ...sealSecrets(args, secrets), ownerKey: ownerKeyOf(type, resourceName, opts), __provider: providerSource(type) };
  // What pulumi.dynamic.Resource registers, with a provider text of a few bytes instead of its closure serialization (provider/dynamic.ts).
  // deleteBeforeReplace: a device's name (a route's spec) is fixed, so old and new cannot exist
  // side by side. The provider's diff says so for the replacements it decides; this also covers
  // those Pulumi decides alone (`up --replace`, a tainted resource), which otherwise create first.
  return [
    dynamicResourceType(type),
    resourceName,
    props,
    {
      deleteBeforeReplace: true,
      ...opts,
      dependsOn: declaredOnce(type, resourceName, args, opts?.dependsOn),
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secrets],
    },
  ];
}

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

/** The version of the state's shape that wrote the outputs (engine.ts SCHEMA_VERSION); not declared, but registered. */
const DEVICE_INTERNAL_OUTPUTS = ["schemaVersion"];

/** A device on a host: the outputs every device resource has (its common inputs, and what the host reports). */
export interface DeviceResource extends NetdevResource, CommonDeviceOutputs {}

function deviceRegistration(type: ResourceType, resourceName: string, args: object, opts?: pulumi.CustomResourceOptions): Registration {
  return registration(type, resourceName, args, opts, DEVICE_INTERNAL_OUTPUTS);
}

/** A persistent tun or tap device: what a VM's NIC or a userspace VPN is plugged into. */
export interface TunDevice extends DeviceResource, generated.TunDeviceOutputs {}
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

/** A veth pair: two devices joined like a cable, the peer end possibly in another namespace (a container's). */
export interface VethPair extends DeviceResource, generated.VethPairOutputs {}
export class VethPair extends pulumi.CustomResource {
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

/** A Linux bridge: a software switch that other devices join by their `master` field. */
export interface Bridge extends DeviceResource, generated.BridgeOutputs {}
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

/** A macvlan (or macvtap) device on a parent interface: its own MAC address on the parent's network. */
export interface Macvlan extends DeviceResource, generated.MacvlanOutputs {}
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

/** An ipvlan device on a parent interface: its own addresses on the parent's network, sharing the parent's MAC. */
export interface Ipvlan extends DeviceResource, generated.IpvlanOutputs {}
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

/** An 802.1Q or 802.1ad VLAN device on a parent interface. */
export interface Vlan extends DeviceResource, generated.VlanOutputs {}
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

/** A VXLAN tunnel endpoint: Ethernet over UDP, to a unicast flood list, a multicast group or one peer. */
export interface VxlanTunnel extends DeviceResource, generated.VxlanTunnelOutputs {}
export class VxlanTunnel extends pulumi.CustomResource {
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

/** A dummy device: addresses that stay up whatever the links do, or a stand-in member. */
export interface Dummy extends DeviceResource, generated.DummyOutputs {}
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

/** A Geneve tunnel endpoint: Ethernet over UDP (port 6081) to one peer. */
export interface Geneve extends DeviceResource, generated.GeneveOutputs {}
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

/** A GRE (gre) or GRE-over-Ethernet (gretap) tunnel over IPv4. */
export interface Gre extends DeviceResource, generated.GreOutputs {}
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

/** A bond (link aggregation); members join by their own `master` field. */
export interface Bond extends DeviceResource, generated.BondOutputs {}
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

/** A VRF: an L3 master with its own routing table; members join by their own `master` field. */
export interface Vrf extends DeviceResource, generated.VrfOutputs {}
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

/** A WireGuard interface and its peers; `privateKey` is always kept as a secret and reaches the host only on stdin. */
export interface WireguardInterface extends DeviceResource, generated.WireguardInterfaceOutputs {}
export class WireguardInterface extends pulumi.CustomResource {
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

/** A named network namespace on a host, loopback up: a "container" devices are moved into. Deleting it refuses while devices other than lo are inside, unless `force`. */
export interface NetworkNamespace extends NetdevResource, generated.NetworkNamespaceOutputs {}
export class NetworkNamespace extends pulumi.CustomResource {
  constructor(name: string, args: NetworkNamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    const stacks = pauseStacks();
    try {
      super(...registration("NetworkNamespace", name, args, opts));
    } catch (error) {
      throw stacks.resume(error);
    }
    stacks.resume();
  }
}

/** One route in a host's or a namespace's main table. */
export interface Route extends NetdevResource, generated.RouteOutputs {}
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

type ResourceClass<T extends ResourceType> = new (name: string, args: ResourceArgs[T], opts?: pulumi.CustomResourceOptions) => NetdevResource;

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
