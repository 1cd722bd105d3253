/**
 * What the `__provider` text of each resource loads at run time, by package name, inside Pulumi's
 * provider process (provider/dynamic.ts). Everything heavy (ssh2, zod, the kinds) lives behind
 * this module so the text names nothing but a type.
 */
export { providerOf } from "./dispatch";
export { stackIdentityProvider } from "./stack-identity";
