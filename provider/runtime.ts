/**
 * What serialized dynamic providers load at run time, by package name, inside Pulumi's
 * provider process. Everything heavy (ssh2, zod, the kinds) lives behind this module so the
 * serialized provider stays a few lines and captures nothing but a type name.
 */
export { deviceKinds, engineFor, resourceTypes } from "./registry";
export { dispatch } from "./dispatch";
export { sshPool } from "./ssh/pool";
export { SCHEMA_VERSION } from "./engine/engine";
