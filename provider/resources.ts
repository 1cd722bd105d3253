import * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType, providerSource } from "./dynamic";
import { declaredOnce } from "./duplicates";
import type { ResourceArgs } from "./generated/args";
import { resourceFields } from "./generated/fields";
import type { CommonDeviceOutputs } from "./generated/outputs";
import { ownerKeyOf } from "./identity";
import { sealSecrets } from "./seal";

/**
 * The one factory of the public resource classes: provider/generated/classes.ts (written by
 * `npm run gen` from the registry) declares each as `resourceClass("<Type>")` with its Args, its
 * outputs and its doc comment, so a new type needs no line here.
 */

/** Every resource type of this package. */
export type ResourceType = keyof ResourceArgs;

/**
 * Every resource of this package. `connection` (and a kind's secretFields, e.g. a WireGuard
 * private key) is always stored as a secret, whatever the caller marked: it is sealed with
 * pulumi.secret before it becomes an input (additionalSecretOutputs alone covers only the
 * outputs; a plain-text password would stay readable under the inputs in state). `ownerKey`
 * ties the resource's identity to the tag it leaves on the host (see engine/ownership.ts).
 */
export interface NetdevResource extends pulumi.CustomResource {}

/** A device on a host: the outputs every device resource has (its common inputs, and what the host reports). */
export interface DeviceResource extends NetdevResource, CommonDeviceOutputs {}

/** A public resource class: `new Bridge(name, args, opts)`. */
export interface ResourceClass<Args, Instance extends NetdevResource> {
  new (name: string, args: Args, opts?: pulumi.CustomResourceOptions): Instance;
  readonly prototype: Instance;
}

/** CustomResource's constructor arguments. */
type Registration = [type: string, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions];

/** What devices register beyond their declared outputs: the version of the state's shape that wrote them (engine.ts SCHEMA_VERSION). */
const DEVICE_INTERNAL_OUTPUTS = ["schemaVersion"];

/**
 * What the class registers: every input (an unset one as undefined) and every output beyond
 * them, so that each is a property of the resource (Pulumi resolves only registered ones:
 * `bridge.mtu` is an Output whether or not the program set it), the secrets sealed, and the
 * provider as a text of a few bytes (provider/dynamic.ts) where pulumi.dynamic.Resource would
 * store its closure serialization.
 */
function registration(type: ResourceType, resourceName: string, args: object, opts: pulumi.CustomResourceOptions | undefined): Registration {
  const fields = resourceFields[type];
  const secrets: readonly string[] = fields.secrets;
  const internal = fields.category === "device" ? DEVICE_INTERNAL_OUTPUTS : [];
  const declared = Object.fromEntries([...fields.inputs, ...fields.outputs, ...internal].map((key) => [key, undefined]));
  const props = { ...declared, ...sealSecrets(args, secrets), ownerKey: ownerKeyOf(type, resourceName, opts), __provider: providerSource(type) };
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
 * Error.stackTraceLimit set to 0 while the constructor registers, and restored after. Pulumi's
 * registration makes four promises per property, and each records `new Error().stack` for its
 * report of promises a program leaks; under ts-node every such stack is source-mapped frame by
 * frame, which costs the program more CPU than Pulumi's own work for the resource. The
 * resource's source position is not affected (Pulumi takes it with its own unlimited stack,
 * Resource.callsites), and an error the constructor throws gets its stack from here, where the
 * program called it.
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

const classes = new Map<ResourceType, ResourceClass<unknown, NetdevResource>>();

/**
 * The public class of `type` (one per type: materialize and the generated exports get the same
 * class). The class calls `super` itself, with nothing between its constructor and
 * CustomResource's: Pulumi records the frame after the resource class's constructor as the
 * resource's source position (and every frame in its stack trace, which is state), so that
 * frame is the program's line, as with any provider's resources, not a line of this file.
 */
export function resourceClass<T extends ResourceType, Instance extends NetdevResource>(type: T): ResourceClass<ResourceArgs[T], Instance> {
  let made = classes.get(type);
  if (!made) {
    made = class extends pulumi.CustomResource {
      constructor(name: string, args: ResourceArgs[T], opts?: pulumi.CustomResourceOptions) {
        const stacks = pauseStacks();
        try {
          super(...registration(type, name, args, opts));
        } catch (error) {
          throw stacks.resume(error);
        }
        stacks.resume();
      }
    } as unknown as ResourceClass<unknown, NetdevResource>;
    Object.defineProperty(made, "name", { value: type });
    classes.set(type, made);
  }
  return made as unknown as ResourceClass<ResourceArgs[T], Instance>;
}
