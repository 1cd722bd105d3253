import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { commonShape } from "./engine/engine";
import type { DeviceKind } from "./engine/kind";
import type { ConnectionInput } from "./ssh/connection";
import { dynamicProvider } from "./dynamic";
import { ownerKeyOf } from "./identity";
import { sealConnection } from "./seal";
import { bridgeKind } from "./kinds/bridge/bridge";
import { ipvlanKind } from "./kinds/ipvlan/ipvlan";
import { macvlanKind } from "./kinds/macvlan/macvlan";
import { tunKind } from "./kinds/tun/tun";
import { vethKind } from "./kinds/veth/veth";
import { vlanKind } from "./kinds/vlan/vlan";
import { vxlanKind } from "./kinds/vxlan/vxlan";
import { dummyKind } from "./kinds/dummy/dummy";
import { geneveKind } from "./kinds/geneve/geneve";
import { greKind } from "./kinds/gre/gre";
import { bondKind } from "./kinds/bond/bond";
import { vrfKind } from "./kinds/vrf/vrf";

/** Each field, at any depth, may be a plain value or a Pulumi Input (another resource's Output, a secret). */
type DeepInput<T> = T extends string | number | boolean | null | undefined
  ? pulumi.Input<T>
  : T extends ReadonlyArray<infer Item>
    ? pulumi.Input<Array<DeepInput<Item>>>
    : pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>;
type Inputs<T> = { [K in keyof T]: DeepInput<T[K]> };

/** How to reach a host, as resource arguments take it: any field may be an Output or a secret. */
export type ConnectionArgs = DeepInput<ConnectionInput>;

/** A kind's resource arguments: the zod input type of the common and kind fields, as Pulumi Inputs. */
export type DeviceArgs<Kind extends DeviceKind<any>> = Omit<Inputs<z.input<z.ZodObject<typeof commonShape & Kind["fields"]>>>, "ownerKey">;

/** What the provider reads back from the host after every create, update and refresh. */
const OBSERVED = ["schemaVersion", "ifindex", "operState", "hwAddress", "linkMtu", "kindInfo"] as const;

/**
 * A device on a host. `connection` is always stored as a secret, whatever the caller marked,
 * because it holds the private key or password: it is sealed with pulumi.secret before it
 * becomes an input (additionalSecretOutputs alone covers only the outputs; a plain-text
 * password would stay readable under the inputs in state).
 */
export abstract class DeviceResource extends pulumi.dynamic.Resource {
  /** Kernel interface index on the host. */
  declare readonly ifindex: pulumi.Output<number>;
  /** Operational state as the kernel reports it (UP, DOWN, UNKNOWN, LOWERLAYERDOWN). */
  declare readonly operState: pulumi.Output<string>;
  /** The MAC address the device actually has. */
  declare readonly hwAddress: pulumi.Output<string>;
  /** The MTU the device actually has. */
  declare readonly linkMtu: pulumi.Output<number>;
  /** Kind-specific attributes as `ip -details` reports them (info_data). */
  declare readonly kindInfo: pulumi.Output<Record<string, unknown>>;
  declare readonly name: pulumi.Output<string>;
  declare readonly netns: pulumi.Output<string | undefined>;
  declare readonly addresses: pulumi.Output<string[] | undefined>;

  protected constructor(type: string, resourceName: string, args: object, opts?: pulumi.CustomResourceOptions) {
    const props = { ...Object.fromEntries(OBSERVED.map((key) => [key, undefined])), ...sealConnection(args), ownerKey: ownerKeyOf(type, resourceName, opts) };
    const secretOutputs = [...(opts?.additionalSecretOutputs ?? []), "connection"];
    super(dynamicProvider(type), resourceName, props, { ...opts, additionalSecretOutputs: secretOutputs }, "netdev", type);
  }
}

export type TunDeviceArgs = DeviceArgs<typeof tunKind>;
/** A persistent tun or tap device. */
export class TunDevice extends DeviceResource {
  constructor(name: string, args: TunDeviceArgs, opts?: pulumi.CustomResourceOptions) {
    super("TunDevice", name, args, opts);
  }
}

export type VethPairArgs = DeviceArgs<typeof vethKind>;
/** A veth pair; the peer end may live in another namespace (a container). */
export class VethPair extends DeviceResource {
  declare readonly peerName: pulumi.Output<string>;
  declare readonly peerNetns: pulumi.Output<string | undefined>;
  constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
    super("VethPair", name, args, opts);
  }
}

export type BridgeArgs = DeviceArgs<typeof bridgeKind>;
/** A Linux bridge. */
export class Bridge extends DeviceResource {
  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super("Bridge", name, args, opts);
  }
}

export type MacvlanArgs = DeviceArgs<typeof macvlanKind>;
/** A macvlan (or macvtap) device on a parent interface. */
export class Macvlan extends DeviceResource {
  constructor(name: string, args: MacvlanArgs, opts?: pulumi.CustomResourceOptions) {
    super("Macvlan", name, args, opts);
  }
}

export type IpvlanArgs = DeviceArgs<typeof ipvlanKind>;
/** An ipvlan device on a parent interface. */
export class Ipvlan extends DeviceResource {
  constructor(name: string, args: IpvlanArgs, opts?: pulumi.CustomResourceOptions) {
    super("Ipvlan", name, args, opts);
  }
}

export type VlanArgs = DeviceArgs<typeof vlanKind>;
/** An 802.1Q/802.1ad VLAN sub-interface. */
export class Vlan extends DeviceResource {
  constructor(name: string, args: VlanArgs, opts?: pulumi.CustomResourceOptions) {
    super("Vlan", name, args, opts);
  }
}

export type VxlanTunnelArgs = DeviceArgs<typeof vxlanKind>;
/** A VXLAN tunnel endpoint. */
export class VxlanTunnel extends DeviceResource {
  declare readonly peers: pulumi.Output<string[] | undefined>;
  constructor(name: string, args: VxlanTunnelArgs, opts?: pulumi.CustomResourceOptions) {
    super("VxlanTunnel", name, args, opts);
  }
}

export type DummyArgs = DeviceArgs<typeof dummyKind>;
/** A dummy device: addresses that stay up whatever the links do, or a stand-in member. */
export class Dummy extends DeviceResource {
  constructor(name: string, args: DummyArgs, opts?: pulumi.CustomResourceOptions) {
    super("Dummy", name, args, opts);
  }
}

export type GeneveArgs = DeviceArgs<typeof geneveKind>;
/** A Geneve tunnel endpoint (Ethernet over UDP, port 6081). */
export class Geneve extends DeviceResource {
  constructor(name: string, args: GeneveArgs, opts?: pulumi.CustomResourceOptions) {
    super("Geneve", name, args, opts);
  }
}

export type GreArgs = DeviceArgs<typeof greKind>;
/** A GRE (gre) or GRE-over-Ethernet (gretap) tunnel over IPv4. */
export class Gre extends DeviceResource {
  constructor(name: string, args: GreArgs, opts?: pulumi.CustomResourceOptions) {
    super("Gre", name, args, opts);
  }
}

export type BondArgs = DeviceArgs<typeof bondKind>;
/** A bond (link aggregation); members join by their own `master` field. */
export class Bond extends DeviceResource {
  constructor(name: string, args: BondArgs, opts?: pulumi.CustomResourceOptions) {
    super("Bond", name, args, opts);
  }
}

export type VrfArgs = DeviceArgs<typeof vrfKind>;
/** A VRF: an L3 master with its own routing table; members join by their own `master` field. */
export class Vrf extends DeviceResource {
  constructor(name: string, args: VrfArgs, opts?: pulumi.CustomResourceOptions) {
    super("Vrf", name, args, opts);
  }
}
