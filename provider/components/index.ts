export * from "./plan";
export { namespaceEngine, NAMESPACE_TYPE } from "./namespace";
export { routeEngine, ROUTE_TYPE } from "./route";
export { componentEngineFor, type AnyEngine } from "./runtime-additions";
export { NetworkNamespace, Route, type NetworkNamespaceArgs, type RouteArgs } from "./resources";
export { materialize } from "./materialize";
export * from "./vxlan-overlay";
export * from "./attachment";
export * from "./lower-network";
