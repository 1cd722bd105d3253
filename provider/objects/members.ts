import { createHash } from "node:crypto";
import { z } from "zod";
import type { Host } from "../engine/host-interface";
import { persistedState } from "../engine/persisted-state";
import { withoutCheckOnly } from "../engine/resource-engine";
import { type CheckFailure, hostIdentity } from "../engine/validation";
import { type Artifact, type PersistMode, wasPersisted } from "../persist/files";
import { persistFailures } from "../persist/host-support";

/**
 * What the resources that span hosts (one list per member: VxlanFloodLists,
 * WireguardPeerLists) share: how a member is named, keyed and compared, and how the failure of
 * some members is reported while the others stay applied.
 */

export const memberName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -")
  .describe('A member\'s name, e.g. "a": the key that ties its connection to its device.');

/** Refuses a member of `field` that has no connection: the record of devices and the record of connections must agree. */
export function requireConnections(field: string) {
  return (value: { connections: Record<string, unknown> } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    for (const member of Object.keys(value[field] as Record<string, unknown>))
      if (!(member in value.connections)) ctx.addIssue({ code: "custom", path: [field, member], message: "this member has no connection in `connections`" });
  };
}

/** A member's own token for its boot-time unit: one unit per host and device, all carrying the resource's owner. */
export function memberToken(token: string, member: string): string {
  return createHash("sha256").update(`${token}\0${member}`).digest("hex").slice(0, 12);
}

/** The connections as diff compares them: a connection's `preflight` is no change, as for every resource. */
export function comparableConnections(connections: unknown): unknown {
  return connections && typeof connections === "object"
    ? Object.fromEntries(Object.entries(connections as Record<string, unknown>).map(([member, connection]) => [member, withoutCheckOnly(connection)]))
    : connections;
}

/** Where a member's list lives: a device's name and namespace on one host. */
export interface MemberDevice {
  name: string;
  netns?: string;
}

/** Whether the member's list is still on the same device of the same host: else it starts afresh there. */
export function sameMemberDevice<S extends MemberDevice>(
  before: S | undefined,
  beforeConnection: unknown,
  after: MemberDevice,
  afterConnection: unknown,
): before is S {
  return before !== undefined && before.name === after.name && before.netns === after.netns && hostIdentity(beforeConnection) === hostIdentity(afterConnection);
}

/** What one member's part of an operation came to: its state to record, and its error if it failed. */
export type MemberOutcome<S> = { member: string; state: S; error?: undefined } | { member: string; state: S | undefined; error: unknown };

/**
 * One error naming every member that failed and its host; the others are applied. With `id`,
 * the error carries the resource's id and `properties` (what succeeded, the failed members as
 * before), so the state records them and the next `pulumi up` retries only the failed members.
 */
export function throwIfMembersFailed<S>(
  type: string,
  outcomes: Array<MemberOutcome<S>>,
  what: string,
  id?: string,
  properties?: Record<string, unknown>,
): void {
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length === 0) return;
  const reasons = failed.map((o) => `${o.member}: ${o.error instanceof Error ? o.error.message : String(o.error)}`);
  const error = new Error(
    `${type} ${what} failed on ${failed.length} of ${outcomes.length} member(s) (${failed.map((o) => o.member).join(", ")}); the others are applied, the next \`pulumi up\` retries: ${reasons.join("; ")}`,
  );
  if (id !== undefined) Object.assign(error, { id, properties });
  throw error;
}

/** A member's `persist` as state keeps it: its mode, or "drifted" once refresh found its boot unit changed. */
export type MemberPersistState = PersistMode | "drifted";

/** With persist on for a member (any mode: its boot unit is a systemd oneshot): what its host lacks for it. */
export async function memberPersistFailures(host: Host, persist: MemberPersistState): Promise<CheckFailure[]> {
  return wasPersisted(persist) ? persistFailures(host, String(persist), "systemd") : [];
}

/** What refresh records as a member's `persist`: its mode while its boot unit is as `up` wrote it, else "drifted". */
export async function memberPersistState(
  host: Host,
  where: string,
  unit: () => Artifact[] | undefined,
  persist: MemberPersistState,
): Promise<MemberPersistState> {
  return wasPersisted(persist) ? ((await persistedState(host, where, unit() ?? [], String(persist))) as MemberPersistState) : persist;
}

/**
 * How a resource's members form a mesh: each member's devices by `field` ("vteps"), the field
 * by which a member enters the mesh (`meshField`: "address"), that entry being how every other
 * mesh member lists it, and how entries are keyed (`keyOf`) and named in messages.
 */
export interface MeshShape<E> {
  readonly field: string;
  readonly meshField: string;
  /** What a member's device is called in messages, e.g. "VTEP". */
  readonly device: string;
  /** What an entry's key is called in messages, e.g. "address". */
  readonly keyName: string;
  keyOf(entry: E): string;
}

/** A member as the lists see it: its device, its own `peers`, and its mesh entry under the shape's `meshField`. */
export type ListMember<E> = MemberDevice & { peers?: E[] } & Record<string, unknown>;

/** The member's mesh entry (how the other mesh members list it); undefined for a member outside the mesh. */
export function meshEntryOf<E>(shape: MeshShape<E>, member: ListMember<E>): E | undefined {
  return member[shape.meshField] as E | undefined;
}

/** Entries sorted by key, one per key (the first given wins). */
function byKey<E>(shape: MeshShape<E>, entries: readonly E[]): E[] {
  const unique = new Map<string, E>();
  for (const entry of entries) if (!unique.has(shape.keyOf(entry))) unique.set(shape.keyOf(entry), entry);
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

/**
 * Each member's list: its own `peers` and, a member in the mesh, every other mesh member's
 * entry (sorted by key). As given: what refresh found on a host (`found`) is not applied here.
 */
export function meshLists<E>(shape: MeshShape<E>, members: Record<string, ListMember<E>>): Record<string, E[]> {
  const mesh = Object.entries(members).filter(([, member]) => meshEntryOf(shape, member) !== undefined);
  return Object.fromEntries(
    Object.entries(members).map(([name, member]) => {
      const others = meshEntryOf(shape, member) !== undefined ? mesh.filter(([other]) => other !== name).map(([, other]) => meshEntryOf(shape, other)!) : [];
      return [name, byKey(shape, [...(member.peers ?? []), ...others])];
    }),
  );
}

/** What each member's device has of the resource's, by state: what refresh found there, else its list. */
export function appliedLists<E>(shape: MeshShape<E>, members: Record<string, ListMember<E> & { found?: E[] }>): Record<string, E[]> {
  const lists = meshLists(shape, members);
  return Object.fromEntries(Object.entries(members).map(([name, member]) => [name, member.found ?? lists[name]!]));
}

/** Refuses two members with one mesh key, and a member's own `peers` that name itself or, in the mesh, repeat it. */
export function meshCheck<E>(shape: MeshShape<E>) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const members = Object.entries(value[shape.field] as Record<string, ListMember<E>>);
    const where = (member: string, field: string) => `${shape.field}.${member}.${field}`;
    const mesh = new Map<string, string>();
    for (const [name, member] of members) {
      const entry = meshEntryOf(shape, member);
      if (entry === undefined) continue;
      const other = mesh.get(shape.keyOf(entry));
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [shape.field, name, shape.meshField],
          message: `has the ${shape.keyName} of ${where(other, shape.meshField)} (one per member)`,
        });
      mesh.set(shape.keyOf(entry), name);
    }
    for (const [name, member] of members)
      for (const peer of member.peers ?? []) {
        const owner = mesh.get(shape.keyOf(peer));
        const path = [shape.field, name, "peers"];
        if (owner === name) ctx.addIssue({ code: "custom", path, message: `lists the ${shape.device}'s own ${shape.keyName} ${shape.keyOf(peer)}` });
        else if (meshEntryOf(shape, member) !== undefined && owner !== undefined)
          ctx.addIssue({ code: "custom", path, message: `lists ${shape.keyOf(peer)}, which the mesh lists already (${where(owner, shape.meshField)})` });
      }
  };
}
