export * from "./resources";
export { dynamicProvider } from "./dynamic";
export { connectionSchema, type ConnectionInput } from "./ssh/connection";
export { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./ssh/errors";
export { deviceKinds } from "./kinds";
export * from "./components";
export { connectionFromConfig, hostsFromConfig, parseHostsConfig, hostConfigSchema, type HostConfig } from "./config";
