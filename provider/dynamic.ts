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
 */
export function dynamicProvider(type: string): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(type);
  if (provider) return provider;
  const moduleName = RUNTIME_MODULE;
  provider = {
    async check(_olds: any, news: any) {
      const engine = require(moduleName).engineFor(type);
      const checked = engine.check(news);
      // Host checks (persist needs systemd there) only for inputs that passed the others.
      if (checked.failures.length || !engine.preflight) return checked;
      return { ...checked, failures: await engine.preflight(checked.inputs) };
    },
    async diff(_id: string, olds: any, news: any) {
      return require(moduleName).engineFor(type).diff(olds, news);
    },
    async create(inputs: any) {
      return require(moduleName).engineFor(type).create(inputs);
    },
    async read(id: string, props: any) {
      return require(moduleName).engineFor(type).read(id, props);
    },
    async update(id: string, olds: any, news: any) {
      return require(moduleName).engineFor(type).update(id, olds, news);
    },
    async delete(id: string, props: any) {
      await require(moduleName).engineFor(type).delete(id, props);
    },
  };
  providers.set(type, provider);
  return provider;
}
