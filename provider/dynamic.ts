/** The package name the provider text requires its engine by: resolved from the Pulumi program's node_modules. */
export const RUNTIME_MODULE = "pulumi-netdev/runtime";

/** The type token Pulumi's Node.js dynamic provider host serves: what `pulumi.dynamic.Resource` registers. */
export function dynamicResourceType(type: string): string {
  return `pulumi-nodejs:dynamic/netdev:${type}`;
}

/**
 * The `__provider` property of every resource of `type`: the module text Pulumi's dynamic provider
 * host loads (require-from-string, then `.handler()`) to get the provider. It names the type and
 * nothing else; the provider object itself (runtime's `providerOf`, provider/dispatch.ts) is built
 * in the provider process from the installed package, so no socket, native handle or secret can
 * end up in it, and every resource shares one engine module and one SSH pool.
 *
 * Written by hand rather than by Pulumi's closure serialization because this text is state: it is
 * stored in every resource's inputs and outputs, and the CLI rewrites the whole state file after
 * every step, so each byte here is paid per resource, per step (O(N²) for a run).
 */
export function providerSource(type: string): string {
  return `exports.handler=()=>require(${JSON.stringify(RUNTIME_MODULE)}).providerOf(${JSON.stringify(type)});`;
}
