/**
 * The values of every resource's `persist` input (see files.ts), in a module of its own so that
 * the components' published declarations can name the type without loading zod.
 */
export const PERSIST_MODES = ["none", "networkd"] as const;

export type PersistMode = (typeof PERSIST_MODES)[number] | undefined;
