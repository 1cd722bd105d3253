import * as pulumi from "@pulumi/pulumi";
import { hostIdentity } from "./engine/validation";

/**
 * Two resources of one program that declare the same device (host, namespace, name) would
 * each believe they own it: the second create fails on the host after the first succeeded
 * ("exists"), or, with adopt, both manage one device and undo each other's updates. Such a
 * program fails before the second one registers, naming both resources, in `pulumi preview`
 * already (see declaredOnce for values that are Outputs).
 */

/** What a resource occupies on its host: each claim a key and how to say it. */
interface Claim {
  key: string;
  what: string;
}

/** A resource already declared in this program run, by what it claims. */
interface Declared {
  type: string;
  resourceName: string;
}

/** The args a claim is read from, resolved (Outputs unwrapped). */
type ResolvedArgs = Record<string, unknown>;

function deviceClaim(host: string, netns: unknown, name: unknown): Claim[] {
  if (typeof name !== "string") return [];
  const namespace = typeof netns === "string" ? netns : undefined;
  return [{ key: `device\0${host}\0${namespace ?? ""}\0${name}`, what: `the device ${name}${namespace ? ` in namespace ${namespace}` : ""} on ${host}` }];
}

/** The claims of one resource; none for a type that names nothing on the host by itself (Route). */
export function claimsOf(type: string, args: ResolvedArgs): Claim[] {
  const connection = args.connection as { host?: unknown } | undefined;
  if (!connection || typeof connection !== "object" || typeof connection.host !== "string") return [];
  const host = hostIdentity(connection);
  switch (type) {
    case "Route":
      return [];
    case "NetworkNamespace":
      return typeof args.name === "string" ? [{ key: `namespace\0${host}\0${args.name}`, what: `the namespace ${args.name} on ${host}` }] : [];
    case "VethPair":
      // The peer end is a device of its own, in peerNetns or, without one, beside this end.
      return [...deviceClaim(host, args.netns, args.name), ...deviceClaim(host, args.peerNetns ?? args.netns, args.peerName)];
    case "HostDevices": {
      // Each device as its own resource would claim it (a veth both its ends).
      const devices = args.devices && typeof args.devices === "object" ? Object.values(args.devices as Record<string, unknown>) : [];
      return devices.flatMap((device) => {
        if (!device || typeof device !== "object") return [];
        const fields = device as Record<string, unknown>;
        return fields.kind === "veth" ? claimsOf("VethPair", { ...fields, connection }) : deviceClaim(host, fields.netns, fields.name);
      });
    }
    default:
      return deviceClaim(host, args.netns, args.name);
  }
}

/** The declarations of one program run: each claim and the resource that made it first. */
export class Declarations {
  private readonly byClaim = new Map<string, Declared>();

  /** Records the resource's claims; throws a RunError naming both resources when one is taken. */
  declare(type: string, resourceName: string, claims: readonly Claim[]): void {
    for (const claim of claims) {
      const first = this.byClaim.get(claim.key);
      if (first && !(first.type === type && first.resourceName === resourceName)) {
        throw new pulumi.RunError(
          `${type} "${resourceName}" and ${first.type} "${first.resourceName}" both declare ${claim.what}: a program may declare each device once. Remove one of them, or give one another name or namespace (to manage a device this program does not create, use adopt on its one resource).`,
        );
      }
    }
    for (const claim of claims) this.byClaim.set(claim.key, { type, resourceName });
  }
}

// One set of declarations per program run: an Automation API program may run several times in
// one process, each with its own root stack resource. Outside a run (Pulumi's mocks without
// runInPulumiStack: unit tests of wiring that build the same device in several tests) nothing
// is checked.
const runs = new WeakMap<object, Declarations>();

function declarationsOfThisRun(): Declarations | undefined {
  const stack = pulumi.runtime.getStackResource();
  if (!stack) return undefined;
  let declarations = runs.get(stack);
  if (!declarations) runs.set(stack, (declarations = new Declarations()));
  return declarations;
}

type DependsOn = pulumi.CustomResourceOptions["dependsOn"];

const CLAIM_FIELDS = ["name", "netns", "peerName", "peerNetns", "devices"] as const;

function isPending(value: unknown): boolean {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/** The connection's host, port and jump chain as plain values, or undefined when one of them is an Output or a promise. */
function plainEndpoint(connection: unknown): Record<string, unknown> | undefined {
  if (isPending(connection)) return undefined;
  if (!connection || typeof connection !== "object") return {};
  const { host, port, jumpHost } = connection as Record<string, unknown>;
  if (isPending(host) || isPending(port)) return undefined;
  if (jumpHost === undefined) return { host, port };
  const jump = plainEndpoint(jumpHost);
  return jump && { host, port, jumpHost: jump };
}

/**
 * The resource's dependsOn, after the duplicate check. With the values it reads (host, port,
 * jump chain, names, namespaces) plain, as most programs write them, the check runs now and a
 * duplicate throws from the constructor (a RunError: Pulumi prints it without a stack trace).
 * With any of them an Output, it runs once they resolve, in an Output added to dependsOn, which
 * Pulumi awaits before it registers the resource (it resolves to no resource at all) and whose
 * RunError fails the program; a value still unknown during preview leaves the check to `up`.
 */
export function declaredOnce(type: string, resourceName: string, args: object, dependsOn: DependsOn): DependsOn {
  const declarations = declarationsOfThisRun();
  if (!declarations) return dependsOn;
  const given = args as Record<string, unknown>;
  const connection = plainEndpoint(given.connection);
  if (connection && CLAIM_FIELDS.every((field) => !isPending(given[field]))) {
    declarations.declare(type, resourceName, claimsOf(type, { ...Object.fromEntries(CLAIM_FIELDS.map((field) => [field, given[field]])), connection }));
    return dependsOn;
  }
  const check = pulumi.output(Object.fromEntries(["connection", ...CLAIM_FIELDS].map((field) => [field, given[field]]))).apply((resolved) => {
    declarations.declare(type, resourceName, claimsOf(type, resolved));
    return [] as pulumi.Resource[];
  });
  // Pulumi gathers dependsOn through nested lists, Outputs and promises alike; the list keeps
  // the caller's own dependsOn outside the check, so an unknown check drops none of them.
  return dependsOn === undefined ? check : ([check, dependsOn] as unknown as pulumi.Input<pulumi.Resource>[]);
}
