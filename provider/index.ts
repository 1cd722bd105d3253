/**
 * The package's public surface: the resources (their classes, Args and outputs), the components,
 * the stack-config helpers and the errors a program may catch, typed in plain TypeScript (no zod
 * type is reachable from here, so a program type-checks with skipLibCheck off). The engines,
 * schemas and registry are the provider's own, loaded by `pulumi-netdev/runtime` inside Pulumi's
 * provider process.
 */
export * from "./generated/classes";
export type * from "./generated/args";
export type * from "./generated/outputs";
export type { DeviceResource, NetdevResource, ResourceClass } from "./resources";
export * from "./components";
export { connectionFromConfig, hostsFromConfig, parseHostsConfig, type HostConfig } from "./config";
export { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./ssh/errors";
