export * from "./plan";
export { materialize } from "./materialize";
export * from "./vxlan-overlay";
export * from "./attachment";
export * from "./lower-network";
export * from "./encrypted-overlay";
