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
