import { z } from "zod";
import { sameValue } from "../../engine/compare";
import { connectionField, interfaceName, ipAddress, namespaceName } from "../../engine/fields";
import { sshHosts } from "../../engine/host";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { newOwnerToken, ownerKeyField, ownerToken } from "../../engine/ownership";
import { capabilityFailures, requireCapabilities, stepNeeds } from "../../engine/preflight";
import type { Needs } from "../../engine/preflight-needs";
import type { AnyEngine } from "../../engine/provider-boundary";
import { refuseNewerState, SCHEMA_VERSION } from "../../engine/resource-engine";
import type { Step } from "../../engine/steps";
import { type CheckFailure, checkInputs, containsUnknown, parseInputs } from "../../engine/validation";
import { type Artifact, persistField, removeStep, syncSteps, wasPersisted } from "../../persist/files";
import { oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";
import { connectionOf } from "../../ssh/connection";
import {
  comparableConnections,
  type MemberOutcome,
  type MemberPersistState,
  memberName,
  memberPersistFailures,
  memberPersistState,
  memberToken,
  requireConnections,
  sameMemberDevice,
  throwIfMembersFailed,
} from "../members";
import { floodEntriesOn, floodSteps, type VtepRef } from "./flood-entries";

/**
 * The flood lists of every VTEP of a unicast overlay as ONE resource: a host joining or
 * leaving is one Pulumi step however many hosts there are, where per-VTEP `peers` made it one
 * update per host. In that step every host whose list changes gets one command (its deletes
 * and appends, and its boot-time unit), all hosts at once; a host whose list is unchanged is
 * not contacted, nor is one that left the membership (its VTEP goes with its own resource).
 *
 * Connections are a separate record from the lists, keyed by the same member names: the
 * connections are sealed as one secret, while the lists stay readable, so `pulumi preview`
 * shows which member's list changes (`vteps.b.peers`) and a refresh's drift names the host.
 *
 * A full mesh (every VTEP floods to every other) is given as each member's `address`: where
 * the others flood to it. State then holds N addresses where the lists are N × (N − 1), and a
 * member joining shows in `pulumi preview` as that one member. A member's list is its own
 * `peers`, and with `address` every other mesh member's. Where refresh finds a mesh member's
 * list differing on its host, state keeps what it found (`found`) until the next `up`.
 *
 * What it owns: on each VTEP, the all-zero-MAC entries whose destination is in the member's
 * list (before or after a change). An all-zero entry to any other address (added by hand, or
 * by the VTEP's own `peers`) is neither reported nor touched.
 */
export const FLOOD_LISTS_TYPE = "VxlanFloodLists";

const vtepSchema = z.strictObject({
  name: interfaceName.describe('The VTEP\'s name on that host, e.g. "vxlan42" (a VxlanTunnel made by its own resource).'),
  netns: namespaceName.optional().describe("The VTEP's namespace; omitted, the host's own."),
  peers: z
    .array(ipAddress)
    .transform((list) => [...new Set(list)].sort())
    .default([])
    .describe('The underlay addresses this VTEP floods to, e.g. ["10.0.0.2", "10.0.0.3"]: each an all-zero FDB entry; with `address`, besides the mesh\'s.'),
  address: ipAddress
    .optional()
    .describe(
      'This VTEP\'s underlay address, e.g. "10.0.0.1", where the other members flood to it: every member that gives one floods to every other member that does, a mesh of N entries in state instead of N × (N − 1).',
    ),
  persist: persistField.describe(
    'Any mode but "none" ("networkd", "networkmanager", "systemd", "auto"): a oneshot systemd unit re-adds the list at boot, once the VTEP exists, whatever recreates the VTEP. "none" or omitted: nothing survives a reboot.',
  ),
});

export const floodListsSchema = z
  .strictObject({
    connections: z
      .record(memberName, connectionField)
      .describe("How to reach each member's host, by member name (see the device resources' `connection`). Kept as one secret in state."),
    vteps: z.record(memberName, vtepSchema).describe("Each member's VTEP and its flood list, by member name."),
    /** Derived from the resource's identity by its class: see engine/ownership.ts. */
    ownerKey: ownerKeyField,
  })
  .superRefine(requireConnections("vteps"))
  .superRefine((value, ctx) => {
    const mesh = new Map<string, string>();
    for (const [member, vtep] of Object.entries(value.vteps)) {
      if (vtep.address === undefined) continue;
      const other = mesh.get(vtep.address);
      if (other !== undefined)
        ctx.addIssue({ code: "custom", path: ["vteps", member, "address"], message: `is vteps.${other}'s address too (one per member)` });
      mesh.set(vtep.address, member);
    }
    for (const [member, vtep] of Object.entries(value.vteps))
      for (const peer of vtep.peers) {
        const owner = mesh.get(peer);
        if (owner === member) ctx.addIssue({ code: "custom", path: ["vteps", member, "peers"], message: `lists the VTEP's own address ${peer}` });
        else if (vtep.address !== undefined && owner !== undefined)
          ctx.addIssue({ code: "custom", path: ["vteps", member, "peers"], message: `lists ${peer}, which the mesh lists already (vteps.${owner}.address)` });
      }
  });

/** Nothing replaces it: a list, a member joining, leaving or moving to another host, a credential are all updates. */
export const FLOOD_LISTS_REPLACE_ON = [] as const;

type FloodListsInputs = z.output<typeof floodListsSchema>;
type Vtep = z.output<typeof vtepSchema>;
/** A member as state holds it: as given, and where refresh found its list differing on the host, what it found. */
type VtepState = Omit<Vtep, "persist"> & { persist?: MemberPersistState; found?: string[] };

/** Each member's list: its own `peers` and, a member with `address`, every other such member's (sorted). As given: `found` is not applied here. */
export function floodListsOf(vteps: Record<string, Pick<Vtep, "peers" | "address">>): Record<string, string[]> {
  const mesh = Object.entries(vteps).filter(([, vtep]) => vtep.address !== undefined);
  return Object.fromEntries(
    Object.entries(vteps).map(([member, vtep]) => {
      const others = vtep.address !== undefined ? mesh.filter(([other]) => other !== member).map(([, other]) => other.address!) : [];
      return [member, [...new Set([...(vtep.peers ?? []), ...others])].sort()];
    }),
  );
}

/** What each member's VTEP has of the resource's, by state: what refresh found there, else its list. */
function appliedLists(vteps: Record<string, VtepState>): Record<string, string[]> {
  const lists = floodListsOf(vteps);
  return Object.fromEntries(Object.entries(vteps).map(([member, vtep]) => [member, vtep.found ?? lists[member]!]));
}
type Outcome = MemberOutcome<VtepState>;

/** "vxlan42 in namespace c1 (member b)". */
function described(member: string, vtep: Pick<Vtep, "name" | "netns">): string {
  return `${vtep.name}${vtep.netns ? ` in namespace ${vtep.netns}` : ""} (member ${member})`;
}

/** The member's boot-time unit: once the VTEP exists (made by networkd or its own unit), the appends of its list (`list`), retried. */
function bootUnit(member: string, vtep: Pick<Vtep, "name" | "netns" | "persist">, list: string[], token: string): Artifact[] | undefined {
  if (!wasPersisted(vtep.persist) || list.length === 0) return undefined;
  return oneshotArtifacts({
    token: memberToken(token, member),
    what: `${FLOOD_LISTS_TYPE} ${described(member, vtep)}`,
    steps: floodSteps(vtep, [], list),
    namespaces: [],
    waitFor: [{ netns: vtep.netns, name: vtep.name }],
    retry: true,
  });
}

/** What each member's host needs: iproute2's `bridge` (the list's commands and reads), and named namespaces for a VTEP in one. */
function memberNeeds(vtep: VtepRef): Needs {
  return stepNeeds(FLOOD_LISTS_TYPE, [{ tool: "bridge", netns: vtep.netns, args: ["fdb"] }]);
}

/** The ResourceEngine's contract for a resource that spans many hosts: each member is handled as a one-host resource is, all at once. */
export class FloodListsEngine implements AnyEngine {
  readonly resourceType = FLOOD_LISTS_TYPE;
  readonly secretFields = ["connections"] as const;

  constructor(private readonly hosts: HostFactory = sshHosts) {}

  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    return checkInputs(floodListsSchema, FLOOD_LISTS_TYPE, news, this.secretFields);
  }

  /**
   * Per member, from its host's one probe (engine/preflight.ts): what the host offers, for a
   * member whose connection asks for it (`preflight: true`); with persist on, systemd there
   * (persist/host-support.ts). Each failure names the member.
   */
  async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    const { connections, vteps } = inputs as Partial<FloodListsInputs>;
    if (!vteps || containsUnknown(vteps) || !connections || containsUnknown(connections)) return [];
    const members = Object.entries(vteps).filter(([member]) => connections[member]);
    const failures = await Promise.all(
      members.map(async ([member, vtep]) => {
        const connection = connectionOf({ connection: connections[member] });
        const host = this.hosts(connection);
        const capabilities = connection.preflight === true ? await capabilityFailures(host, memberNeeds(vtep), this.where(host, member, vtep), "vteps") : [];
        const persist = await memberPersistFailures(host, vtep.persist);
        return [...capabilities, ...persist.map((failure) => ({ property: "vteps", reason: `${FLOOD_LISTS_TYPE} vteps.${member}: ${failure.reason}` }))];
      }),
    );
    return failures.flat();
  }

  /**
   * Nothing replaces it: every change (a list, a member joining, leaving or moving, a
   * credential) is an update. A connection's `preflight` is no change, as for every resource.
   */
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const changes =
      containsUnknown(news.vteps) ||
      containsUnknown(news.connections) ||
      !sameValue(olds.vteps, news.vteps) ||
      !sameValue(comparableConnections(olds.connections), comparableConnections(news.connections));
    return { changes, replaces: [], deleteBeforeReplace: false };
  }

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const inputs = this.parse(rawInputs);
    const token = newOwnerToken(inputs.ownerKey);
    const id = `${FLOOD_LISTS_TYPE}#${token}`;
    const outs = await this.converge("create", id, inputs, {}, {});
    return { id, outs };
  }

  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
    const inputs = this.parse(news);
    const previous = olds as { vteps?: Record<string, VtepState>; connections?: Record<string, unknown> };
    return { outs: await this.converge("update", id, inputs, previous.vteps ?? {}, previous.connections ?? {}) };
  }

  /**
   * Per member, in parallel: reads the VTEP's all-zero entries, keeps those of its list (an
   * entry of the list that is missing drops out, so the diff names that member and the next
   * `up` appends it again), and checks its boot-time files. A VTEP that is gone reports an
   * empty list; the resource itself stays (its members' VTEPs are other resources').
   */
  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs: Record<string, unknown> }> {
    refuseNewerState(FLOOD_LISTS_TYPE, props);
    const connections = (props.connections ?? {}) as Record<string, unknown>;
    const vteps = (props.vteps ?? {}) as Record<string, VtepState>;
    const token = ownerToken(id);
    const lists = floodListsOf(vteps);
    const observed = await Promise.all(
      Object.entries(vteps).map(async ([member, vtep]): Promise<[string, VtepState]> => {
        const host = this.hostOf(connections[member]);
        const list = lists[member]!;
        const present = (await floodEntriesOn(host, vtep)) ?? [];
        const peers = list.filter((dst) => present.includes(dst));
        if (peers.length < list.length)
          console.warn(`netdev: ${this.where(host, member, vtep)}: missing from its flood list: ${list.filter((dst) => !peers.includes(dst)).join(", ")}`);
        const persist = await memberPersistState(
          host,
          this.where(host, member, vtep),
          () => bootUnit(member, { ...vtep, persist: "systemd" }, list, token),
          vtep.persist,
        );
        const { found: _found, ...given } = vtep;
        // A member of its own list only: the list as found. A mesh member: as given, and what was found where it differs.
        const drift = vtep.address !== undefined ? (peers.length === list.length ? {} : { found: peers }) : { peers };
        return [member, { ...given, ...drift, ...(persist !== undefined ? { persist } : {}) }];
      }),
    );
    const outs = { connections, vteps: Object.fromEntries(observed) };
    return { id, props: { ...outs, schemaVersion: SCHEMA_VERSION }, inputs: outs };
  }

  /** Removes each member's entries (those of its list) and boot-time unit; a VTEP or namespace that is gone counts as done. */
  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    refuseNewerState(FLOOD_LISTS_TYPE, props);
    const connections = (props.connections ?? {}) as Record<string, unknown>;
    const vteps = (props.vteps ?? {}) as Record<string, VtepState>;
    const token = ownerToken(id);
    const applied = appliedLists(vteps);
    const outcomes = await Promise.all(
      Object.entries(vteps).map(async ([member, vtep]): Promise<Outcome> => {
        try {
          const host = this.hostOf(connections[member]);
          const files = wasPersisted(vtep.persist) ? removeStep(oneshotPaths(memberToken(token, member)), memberToken(token, member)) : [];
          await this.apply(host, member, vtep, applied[member]!, [], files, { goneIsDone: true, checkHost: false });
          return { member, state: { ...vtep, peers: [] } };
        } catch (error) {
          return { member, state: vtep, error };
        }
      }),
    );
    throwIfMembersFailed(FLOOD_LISTS_TYPE, outcomes, "delete");
  }

  /** Brings every member's VTEP from its previous list to the new one, all at once; members that left are not contacted. */
  private async converge(
    what: "create" | "update",
    id: string,
    inputs: FloodListsInputs,
    before: Record<string, VtepState>,
    beforeConnections: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const token = ownerToken(id);
    const lists = floodListsOf(inputs.vteps);
    const applied = appliedLists(before);
    const outcomes = await Promise.all(
      Object.entries(inputs.vteps).map(async ([member, vtep]): Promise<Outcome> => {
        const connection = inputs.connections[member]!;
        const previous = sameMemberDevice(before[member], beforeConnections[member], vtep, connection) ? before[member] : undefined;
        try {
          const host = this.hostOf(connection);
          const list = lists[member]!;
          const files = syncSteps(bootUnit(member, vtep, list, token), oneshotPaths(memberToken(token, member)), memberToken(token, member), previous?.persist);
          // A member already applied on this device and host met its needs then: only a new one is probed.
          await this.apply(host, member, vtep, previous ? applied[member]! : [], list, files, { goneIsDone: false, checkHost: previous === undefined });
          return { member, state: vtep };
        } catch (error) {
          return { member, state: previous, error };
        }
      }),
    );
    await this.forgetLeavers(token, inputs, before, beforeConnections);
    const vteps = Object.fromEntries(outcomes.filter((o) => o.state !== undefined).map((o) => [o.member, o.state]));
    const outs = { connections: inputs.connections, vteps, schemaVersion: SCHEMA_VERSION };
    // What succeeded is recorded (the error carries the id and the state), so the next `up` converges from there.
    throwIfMembersFailed(FLOOD_LISTS_TYPE, outcomes, what, id, outs);
    return outs;
  }

  /**
   * A member that left keeps its entries (its VTEP goes with its own resource, and its host may
   * be gone): it is not contacted, unless its list was persisted, whose boot-time unit would
   * otherwise wait at every boot for a VTEP that no longer comes. That removal is best effort.
   */
  private async forgetLeavers(
    token: string,
    inputs: FloodListsInputs,
    before: Record<string, VtepState>,
    beforeConnections: Record<string, unknown>,
  ): Promise<void> {
    const leavers = Object.entries(before).filter(([member, vtep]) => !(member in inputs.vteps) && wasPersisted(vtep.persist));
    await Promise.all(
      leavers.map(async ([member, vtep]) => {
        const host = this.hostOf(beforeConnections[member]);
        await host
          .applyAll(removeStep(oneshotPaths(memberToken(token, member)), memberToken(token, member)), this.where(host, member, vtep))
          .catch((error: unknown) => {
            console.warn(
              `netdev: ${this.where(host, member, vtep)} left the overlay; its boot-time unit could not be removed: ${error instanceof Error ? error.message : String(error)}`,
            );
          });
      }),
    );
  }

  /**
   * One command on the host: the list's deletes and appends, then its boot-time files. No
   * command when nothing changes. With `checkHost` (a member new on its device and host), the
   * host's capabilities first (engine/preflight.ts: its one probe per run); a member applied
   * there before is not probed again, so a host joining or leaving costs every other host one
   * round trip. A step that fails (an entry deleted by hand since, an append refused) is settled
   * by reading what the host has and applying the difference to that.
   */
  private async apply(
    host: Host,
    member: string,
    vtep: Vtep | VtepState,
    before: readonly string[],
    after: readonly string[],
    files: Step[],
    { goneIsDone, checkHost }: { goneIsDone: boolean; checkHost: boolean },
  ): Promise<void> {
    const steps = [...floodSteps(vtep, before, after), ...files];
    if (steps.length === 0) return;
    const where = this.where(host, member, vtep);
    if (checkHost) await requireCapabilities(host, memberNeeds(vtep), where);
    try {
      await host.applyAll(steps, where);
      return;
    } catch (error) {
      if (!(error instanceof StepError && error.field === "peers")) throw error;
      const present = await floodEntriesOn(host, vtep);
      if (present === undefined) {
        if (goneIsDone) return host.applyAll(files, where).then(() => undefined);
        throw new Error(`${where}: the VTEP is not there (its own resource makes it; run \`pulumi refresh\` if it was deleted by hand)`);
      }
      // Only entries of the lists are touched: those to drop that are there, those to add that are not.
      const managed = present.filter((dst) => before.includes(dst) || after.includes(dst));
      await host.applyAll([...floodSteps(vtep, managed, after), ...files], where);
    }
  }

  private parse(inputs: Record<string, unknown>): FloodListsInputs {
    return parseInputs(floodListsSchema, FLOOD_LISTS_TYPE, inputs, this.secretFields) as unknown as FloodListsInputs;
  }

  private hostOf(connection: unknown): Host {
    return this.hosts(connectionOf({ connection }));
  }

  private where(host: Host, member: string, vtep: Pick<Vtep, "name" | "netns">): string {
    return `${FLOOD_LISTS_TYPE} ${described(member, vtep)} on ${host.endpoint}`;
  }
}

/** The VxlanFloodLists engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createFloodListsEngine(hosts?: HostFactory): FloodListsEngine {
  return new FloodListsEngine(hosts);
}

export const floodListsEngine = createFloodListsEngine();
