import type { z } from "zod";
import { sameValue } from "../engine/compare";
import { sshHosts } from "../engine/host";
import { type Host, type HostFactory, StepError } from "../engine/host-interface";
import { isIpError } from "../engine/ip-errors";
import { newOwnerToken, ownerToken } from "../engine/ownership";
import { capabilityFailures, requireCapabilities } from "../engine/preflight";
import type { Needs } from "../engine/preflight-needs";
import type { AnyEngine } from "../engine/provider-boundary";
import { refuseNewerState, SCHEMA_VERSION } from "../engine/resource-engine";
import type { Step } from "../engine/steps";
import { type CheckFailure, checkInputs, containsUnknown, parseInputs } from "../engine/validation";
import { type Artifact, removeStep, syncSteps, wasPersisted } from "../persist/files";
import { oneshotArtifacts, oneshotPaths } from "../persist/oneshot";
import { connectionOf } from "../ssh/connection";
import {
  appliedLists,
  comparableConnections,
  type ListMember,
  type MemberDevice,
  type MemberOutcome,
  type MemberPersistState,
  type MeshShape,
  meshEntryOf,
  meshLists,
  memberPersistFailures,
  memberPersistState,
  memberToken,
  sameMemberDevice,
  throwIfMembersFailed,
} from "./members";

/**
 * A resource of lists, one per member on its own host (VxlanFloodLists, WireguardPeerLists), as
 * data: its schema, its entries, and how one member's list is changed and read on its host.
 * MemberListsEngine does everything else the same way for every such resource.
 */
export interface ListKind<E> extends MeshShape<E> {
  /** The resource's type, e.g. "VxlanFloodLists". */
  readonly type: string;
  /** The inputs: `connections`, the members' devices under `field`, `ownerKey`. */
  readonly schema: z.ZodType;
  /** The steps from list `before` to list `after` on the member's device (all its entries: none when nothing differs). */
  steps(device: MemberDevice, before: readonly E[], after: readonly E[]): Step[];
  /** The entries the device has, sorted by key; undefined when the device (or its namespace) is not there. `list` is what the resource lists there. */
  entriesOn(host: Host, device: MemberDevice, list: readonly E[]): Promise<E[] | undefined>;
  /** What the member's host needs for the steps and reads. */
  needs(device: MemberDevice): Needs;
  /** A failed step is settled by reading the device and applying the difference to what it has (steps that are not idempotent). */
  readonly settleFromHost: boolean;
}

/** A member as state holds it: as given, and where refresh found its list differing on the host, what it found. */
type MemberState<E> = ListMember<E> & { persist?: MemberPersistState; found?: E[] };

interface ListsInputs<E> {
  connections: Record<string, unknown>;
  members: Record<string, MemberState<E>>;
  ownerKey?: string;
}

/** "vxlan42 in namespace c1 (member b)". */
function described(member: string, device: MemberDevice): string {
  return `${device.name}${device.netns ? ` in namespace ${device.netns}` : ""} (member ${member})`;
}

/**
 * The ResourceEngine's contract for a resource that spans many hosts: each member is handled as
 * a one-host resource is, all at once. A change of membership or of lists is one Pulumi step: in
 * it every host whose list changes gets one command (the list's steps and its boot-time unit), a
 * host whose list is unchanged is not contacted, nor is one that left (its device goes with its
 * own resource).
 */
export class MemberListsEngine<E> implements AnyEngine {
  readonly resourceType: string;
  readonly secretFields = ["connections"] as const;

  constructor(
    private readonly kind: ListKind<E>,
    private readonly hosts: HostFactory = sshHosts,
  ) {
    this.resourceType = kind.type;
  }

  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    return checkInputs(this.kind.schema, this.kind.type, news, this.secretFields);
  }

  /**
   * Per member, from its host's one probe (engine/preflight.ts): what the host offers, for a
   * member whose connection asks for it (`preflight: true`); with persist on, systemd there
   * (persist/host-support.ts). Each failure names the member.
   */
  async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    const { field, type } = this.kind;
    const connections = inputs.connections as Record<string, unknown> | undefined;
    const members = inputs[field] as Record<string, MemberState<E>> | undefined;
    if (!members || containsUnknown(members) || !connections || containsUnknown(connections)) return [];
    const failures = await Promise.all(
      Object.entries(members)
        .filter(([member]) => connections[member])
        .map(async ([member, device]) => {
          const connection = connectionOf({ connection: connections[member] });
          const host = this.hosts(connection);
          const capabilities =
            connection.preflight === true ? await capabilityFailures(host, this.kind.needs(device), this.where(host, member, device), field) : [];
          const persist = await memberPersistFailures(host, device.persist as MemberPersistState);
          return [...capabilities, ...persist.map((failure) => ({ property: field, reason: `${type} ${field}.${member}: ${failure.reason}` }))];
        }),
    );
    return failures.flat();
  }

  /**
   * Nothing replaces it: every change (a list, a member joining, leaving or moving, a
   * credential) is an update. A connection's `preflight` is no change, as for every resource.
   */
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const { field } = this.kind;
    const changes =
      containsUnknown(news[field]) ||
      containsUnknown(news.connections) ||
      !sameValue(olds[field], news[field]) ||
      !sameValue(comparableConnections(olds.connections), comparableConnections(news.connections));
    return { changes, replaces: [], deleteBeforeReplace: false };
  }

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const inputs = this.parse(rawInputs);
    const token = newOwnerToken(inputs.ownerKey);
    const id = `${this.kind.type}#${token}`;
    const outs = await this.converge("create", id, inputs, {}, {});
    return { id, outs };
  }

  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
    const before = this.stateOf(olds);
    return { outs: await this.converge("update", id, this.parse(news), before.members, before.connections) };
  }

  /**
   * Per member, in parallel: reads the device's entries and keeps those of its list as the host
   * has them (an entry that is missing drops out, one whose settings changed shows them, so the
   * diff names that member and the next `up` sets them again), and checks its boot-time files.
   * A device that is gone reports an empty list; the resource itself stays (its members' devices
   * are other resources').
   */
  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs: Record<string, unknown> }> {
    refuseNewerState(this.kind.type, props);
    const { connections, members } = this.stateOf(props);
    const token = ownerToken(id);
    const lists = meshLists(this.kind, members);
    const observed = await Promise.all(
      Object.entries(members).map(async ([member, device]): Promise<[string, MemberState<E>]> => {
        const host = this.hostOf(connections[member]);
        const where = this.where(host, member, device);
        const list = lists[member]!;
        const listed = new Set(list.map((entry) => this.kind.keyOf(entry)));
        const entries = ((await this.kind.entriesOn(host, device, list)) ?? []).filter((entry) => listed.has(this.kind.keyOf(entry)));
        const kept = new Set(entries.map((entry) => this.kind.keyOf(entry)));
        const missing = [...listed].filter((key) => !kept.has(key));
        if (missing.length) console.warn(`netdev: ${where}: missing from its list: ${missing.join(", ")}`);
        const persist = await memberPersistState(host, where, () => this.bootUnit(member, { ...device, persist: "systemd" }, list, token), device.persist);
        const { found: _found, ...given } = device;
        // A member of its own list only: the list as found. A mesh member: as given, and what was found where it differs.
        const inMesh = meshEntryOf(this.kind, device) !== undefined;
        const drift = inMesh ? (sameValue(entries, list) ? {} : { found: entries }) : { peers: entries };
        return [member, { ...given, ...drift, ...(persist !== undefined ? { persist } : {}) }];
      }),
    );
    const outs = { connections, [this.kind.field]: Object.fromEntries(observed) };
    return { id, props: { ...outs, schemaVersion: SCHEMA_VERSION }, inputs: outs };
  }

  /** Removes each member's listed entries and boot-time unit; a device or namespace that is gone counts as done. */
  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    refuseNewerState(this.kind.type, props);
    const { connections, members } = this.stateOf(props);
    const token = ownerToken(id);
    const applied = appliedLists(this.kind, members);
    const outcomes = await Promise.all(
      Object.entries(members).map(async ([member, device]): Promise<MemberOutcome<MemberState<E>>> => {
        try {
          const host = this.hostOf(connections[member]);
          const files = wasPersisted(device.persist) ? removeStep(oneshotPaths(memberToken(token, member)), memberToken(token, member)) : [];
          await this.apply(host, member, device, applied[member]!, [], files, { goneIsDone: true, checkHost: false });
          return { member, state: { ...device, peers: [] } };
        } catch (error) {
          return { member, state: device, error };
        }
      }),
    );
    throwIfMembersFailed(this.kind.type, outcomes, "delete");
  }

  /** Brings every member's device from its previous list to the new one, all at once; members that left are not contacted. */
  private async converge(
    what: "create" | "update",
    id: string,
    inputs: ListsInputs<E>,
    before: Record<string, MemberState<E>>,
    beforeConnections: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const token = ownerToken(id);
    const lists = meshLists(this.kind, inputs.members);
    const applied = appliedLists(this.kind, before);
    const outcomes = await Promise.all(
      Object.entries(inputs.members).map(async ([member, device]): Promise<MemberOutcome<MemberState<E>>> => {
        const connection = inputs.connections[member]!;
        const previous = sameMemberDevice(before[member], beforeConnections[member], device, connection) ? before[member] : undefined;
        try {
          const host = this.hostOf(connection);
          const list = lists[member]!;
          const files = syncSteps(
            this.bootUnit(member, device, list, token),
            oneshotPaths(memberToken(token, member)),
            memberToken(token, member),
            previous?.persist,
          );
          // A member already applied on this device and host met its needs then: only a new one is probed.
          await this.apply(host, member, device, previous ? applied[member]! : [], list, files, { goneIsDone: false, checkHost: previous === undefined });
          return { member, state: device };
        } catch (error) {
          return { member, state: previous, error };
        }
      }),
    );
    await this.forgetLeavers(token, inputs, before, beforeConnections);
    const members = Object.fromEntries(outcomes.filter((o) => o.state !== undefined).map((o) => [o.member, o.state]));
    const outs = { connections: inputs.connections, [this.kind.field]: members, schemaVersion: SCHEMA_VERSION };
    // What succeeded is recorded (the error carries the id and the state), so the next `up` converges from there.
    throwIfMembersFailed(this.kind.type, outcomes, what, id, outs);
    return outs;
  }

  /**
   * A member that left keeps its entries (its device goes with its own resource, and its host
   * may be gone): it is not contacted, unless its list was persisted, whose boot-time unit would
   * otherwise wait at every boot for a device that no longer comes. That removal is best effort.
   */
  private async forgetLeavers(
    token: string,
    inputs: ListsInputs<E>,
    before: Record<string, MemberState<E>>,
    beforeConnections: Record<string, unknown>,
  ): Promise<void> {
    const leavers = Object.entries(before).filter(([member, device]) => !(member in inputs.members) && wasPersisted(device.persist));
    await Promise.all(
      leavers.map(async ([member, device]) => {
        const host = this.hostOf(beforeConnections[member]);
        const where = this.where(host, member, device);
        await host.applyAll(removeStep(oneshotPaths(memberToken(token, member)), memberToken(token, member)), where).catch((error: unknown) => {
          console.warn(
            `netdev: ${where} is no longer a member; its boot-time unit could not be removed: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
      }),
    );
  }

  /**
   * One command on the host: the list's steps from `before` to `after`, then its boot-time
   * files. No command when nothing changes. With `checkHost` (a member new on its device and
   * host), the host's capabilities first (engine/preflight.ts: its one probe per run); a member
   * applied there before is not probed again, so a host joining or leaving costs every other host
   * one round trip. A device that is not there is done on delete and named as such otherwise; a
   * step that fails on a device that is (an entry deleted by hand since) is settled, where the
   * kind's steps are not idempotent, by reading what the device has and applying the difference.
   */
  private async apply(
    host: Host,
    member: string,
    device: MemberState<E>,
    before: readonly E[],
    after: readonly E[],
    files: Step[],
    { goneIsDone, checkHost }: { goneIsDone: boolean; checkHost: boolean },
  ): Promise<void> {
    const steps = [...this.kind.steps(device, before, after), ...files];
    if (steps.length === 0) return;
    const where = this.where(host, member, device);
    if (checkHost) await requireCapabilities(host, this.kind.needs(device), where);
    try {
      await host.applyAll(steps, where);
      return;
    } catch (error) {
      if (!(error instanceof StepError && error.field === "peers")) throw error;
      // An entry already gone reads as the device gone would ("No such file or directory"): where steps are settled, the host says which.
      if (!this.kind.settleFromHost && !isIpError(error.stderr, "device-missing", "namespace-missing")) throw error;
      const present = this.kind.settleFromHost ? await this.kind.entriesOn(host, device, after) : undefined;
      if (present === undefined) {
        if (goneIsDone) return host.applyAll(files, where).then(() => undefined);
        throw new Error(`${where}: the ${this.kind.device} is not there (its own resource makes it; run \`pulumi refresh\` if it was deleted by hand)`);
      }
      // Only entries of the lists are touched: those to drop that are there, those to add that are not.
      const keys = new Set([...before, ...after].map((entry) => this.kind.keyOf(entry)));
      const managed = present.filter((entry) => keys.has(this.kind.keyOf(entry)));
      await host.applyAll([...this.kind.steps(device, managed, after), ...files], where);
    }
  }

  /** The member's boot-time unit: once the device exists (made by its own resource), its list (`list`) set, retried. */
  private bootUnit(member: string, device: MemberState<E>, list: E[], token: string): Artifact[] | undefined {
    if (!wasPersisted(device.persist) || list.length === 0) return undefined;
    return oneshotArtifacts({
      token: memberToken(token, member),
      what: `${this.kind.type} ${described(member, device)}`,
      steps: this.kind.steps(device, [], list),
      namespaces: [],
      waitFor: [{ netns: device.netns, name: device.name }],
      retry: true,
    });
  }

  private parse(inputs: Record<string, unknown>): ListsInputs<E> {
    const parsed = parseInputs(this.kind.schema, this.kind.type, inputs, this.secretFields) as Record<string, unknown>;
    return { ...this.stateOf(parsed), ownerKey: parsed.ownerKey as string | undefined };
  }

  /** Connections and members as state (or parsed inputs) hold them. */
  private stateOf(props: Record<string, unknown>): { connections: Record<string, unknown>; members: Record<string, MemberState<E>> } {
    return {
      connections: (props.connections ?? {}) as Record<string, unknown>,
      members: (props[this.kind.field] ?? {}) as Record<string, MemberState<E>>,
    };
  }

  private hostOf(connection: unknown): Host {
    return this.hosts(connectionOf({ connection }));
  }

  private where(host: Host, member: string, device: MemberDevice): string {
    return `${this.kind.type} ${described(member, device)} on ${host.endpoint}`;
  }
}
