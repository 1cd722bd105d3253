import type * as pulumi from "@pulumi/pulumi";

/** The package name the serialized provider requires its engine by: resolved from the Pulumi program's node_modules. */
export const RUNTIME_MODULE = "pulumi-netdev/runtime";

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * The dynamic provider for one device type. Pulumi serializes this object with the program;
 * its methods capture only `type` and `moduleName` (strings) and `require` the engine when they run,
 * so no socket, native handle or secret is ever captured, and every resource in the provider
 * process shares one engine module and one SSH pool. One object per type, so Pulumi's
 * serialization cache applies.
 *
 * Each method is one call of the runtime's `dispatch` (provider/dispatch.ts), kept this short
 * because its text is state: Pulumi stores it in every resource's inputs and outputs and
 * rewrites the whole state file after every step, so its size is paid per resource, per step.
 */
export function dynamicProvider(type: string): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(type);
  if (provider) return provider;
  const moduleName = RUNTIME_MODULE;
  const call = (op: string, args: unknown[]): Promise<any> => require(moduleName).dispatch(type, op, args);
  provider = {
    check: (...args: unknown[]) => call("check", args),
    diff: (...args: unknown[]) => call("diff", args),
    create: (...args: unknown[]) => call("create", args),
    read: (...args: unknown[]) => call("read", args),
    update: (...args: unknown[]) => call("update", args),
    delete: (...args: unknown[]) => call("delete", args),
  };
  providers.set(type, provider);
  return provider;
}
