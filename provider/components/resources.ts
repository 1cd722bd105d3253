import type { ConnectionArgs } from "../resources";
import { ownerKeyOf } from "../identity";
import { sealConnection } from "../seal";
import * as pulumi from "@pulumi/pulumi";
import { dynamicProvider } from "../dynamic";

type In<T> = pulumi.Input<T>;

/** Dynamic resources of the component-level types; `connection` is always stored as a secret, inputs included. */
abstract class ComponentLevelResource extends pulumi.dynamic.Resource {
  protected constructor(type: string, resourceName: string, props: object, opts?: pulumi.CustomResourceOptions) {
    const secretOutputs = [...(opts?.additionalSecretOutputs ?? []), "connection"];
    const owned = type === "NetworkNamespace" ? { ...sealConnection(props), ownerKey: ownerKeyOf(type, resourceName, opts) } : sealConnection(props);
    super(dynamicProvider(type), resourceName, owned, { ...opts, additionalSecretOutputs: secretOutputs }, "netdev", type);
  }
}

export interface NetworkNamespaceArgs {
  connection: ConnectionArgs;
  name: In<string>;
  adopt?: In<boolean>;
  force?: In<boolean>;
}

/** A named network namespace on a host, loopback up (see namespace.ts for delete rules). */
export class NetworkNamespace extends ComponentLevelResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly devices: pulumi.Output<string[]>;
  constructor(name: string, args: NetworkNamespaceArgs, opts?: pulumi.CustomResourceOptions) {
    super("NetworkNamespace", name, { devices: undefined, ...args }, opts);
  }
}

export interface RouteArgs {
  connection: ConnectionArgs;
  netns?: In<string>;
  destination: In<string>;
  via?: In<string>;
  dev?: In<string>;
  metric?: In<number>;
}

/** One route in a host's or namespace's main table. */
export class Route extends ComponentLevelResource {
  constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
    super("Route", name, args, opts);
  }
}
