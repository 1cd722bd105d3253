/**
 * The package's public surface: the resources, the components and the stack-config helpers,
 * typed in plain TypeScript (no zod type is reachable from here, so a program type-checks with
 * skipLibCheck off). The engines, schemas and registry are the provider's own, loaded by
 * `pulumi-netdev/runtime` inside Pulumi's provider process.
 */
export * from "./resources";
export * from "./components";
export { connectionFromConfig, hostsFromConfig, parseHostsConfig, type HostConfig } from "./config";
export { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./ssh/errors";
