/**
 * The values of every resource's `persist` input (see files.ts), in a module of its own so that
 * the components' published declarations can name the type without loading zod.
 */
export const PERSIST_MODES = ["none", "networkd", "networkmanager", "systemd", "auto"] as const;

export type PersistMode = (typeof PERSIST_MODES)[number] | undefined;

/**
 * What the files are written for, the `persistVia` output: a mode with `"auto"` resolved on the
 * host (host-support.ts). State keeps it, so the files a later refresh expects are those the
 * last `up` wrote, whatever the host runs now.
 */
export const PERSIST_VIAS = ["networkd", "networkmanager", "systemd"] as const;

export type PersistVia = (typeof PERSIST_VIAS)[number];
