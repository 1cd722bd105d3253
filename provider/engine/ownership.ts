import { randomBytes } from "node:crypto";
import { z } from "zod";

/**
 * Who owns a device on a host. Every device the provider creates or adopts carries
 * `netdev#<token>` at the start of its ifalias (a namespace: on its `lo`), and a resource's id
 * ends in the same `#<token>`, so delete never touches a device someone else made.
 */
export const OWNER_PREFIX = "netdev#";

/**
 * The lo alias of a namespace the provider made implicitly (a device's `netns` or a veth's
 * `peerNetns` without a NetworkNamespace resource): removed when its last device goes.
 */
export const IMPLICIT_NAMESPACE_MARK = "netdev-auto";

/**
 * The owner token a new resource gets: derived from its stack's seed and its URN (identity.ts)
 * when the resource class passed one, so a create retried after a crash finds the device it
 * made before the crash carrying its own tag, and a stack of the same name elsewhere does not;
 * random otherwise (direct engine use).
 */
export const ownerKeyField = z
  .string()
  .regex(/^[0-9a-f]{12}$/, "must be 12 lowercase hex digits (set by the resource class; do not pass it)")
  .optional();

export function newOwnerToken(ownerKey: string | undefined): string {
  return ownerKey ?? randomBytes(6).toString("hex");
}

/** The tag a resource's device (or namespace's lo) carries: `netdev#<token>`. */
export function ownerTag(token: string): string {
  return `${OWNER_PREFIX}${token}`;
}

/** The owner token at the end of a resource id ("…#<token>"); an id without "#" is returned whole (see hasOwnerToken). */
export function ownerToken(id: string): string {
  return id.slice(id.lastIndexOf("#") + 1);
}

/** Whether the id carries an owner token at all: every id this provider writes ends in "#<token>". */
export function hasOwnerToken(id: string): boolean {
  return id.includes("#");
}

/**
 * Routes have no alias to carry a tag: every route this provider adds gets this routing
 * protocol number (`proto 250`, unassigned in iproute2's rt_protos), so delete never removes a
 * route someone else added (kernel, DHCP, `ip route add` by hand: proto kernel/dhcp/boot).
 */
export const ROUTE_PROTOCOL = "250";

export function splitAlias(ifalias: string | undefined): { token?: string; alias?: string } {
  if (!ifalias?.startsWith(OWNER_PREFIX)) return { alias: ifalias || undefined };
  const rest = ifalias.slice(OWNER_PREFIX.length);
  const space = rest.indexOf(" ");
  return space < 0 ? { token: rest } : { token: rest.slice(0, space), alias: rest.slice(space + 1) };
}
