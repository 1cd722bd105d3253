export * from "./resources";
export { connectionSchema, type ConnectionInput } from "./ssh/connection";
export { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./ssh/errors";
export { deviceKinds, objectTypes, resourceTypes, engineFor, type ResourceType, type DeviceType, type InputsOf } from "./registry";
export { type AnyEngine } from "./engine/provider-boundary";
export { namespaceEngine, NAMESPACE_TYPE } from "./objects/namespace/namespace";
export { routeEngine, ROUTE_TYPE } from "./objects/route/route";
export * from "./components";
export { connectionFromConfig, hostsFromConfig, parseHostsConfig, hostConfigSchema, type HostConfig } from "./config";
