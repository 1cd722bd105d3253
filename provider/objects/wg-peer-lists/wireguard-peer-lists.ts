import { z } from "zod";
import { sameValue } from "../../engine/compare";
import { connectionField, interfaceName, namespaceName } from "../../engine/fields";
import { sshHosts } from "../../engine/host";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { isIpError } from "../../engine/ip-errors";
import { newOwnerToken, ownerKeyField, ownerToken } from "../../engine/ownership";
import { capabilityFailures, requireCapabilities, stepNeeds } from "../../engine/preflight";
import type { Needs } from "../../engine/preflight-needs";
import type { AnyEngine } from "../../engine/provider-boundary";
import { refuseNewerState, SCHEMA_VERSION } from "../../engine/resource-engine";
import type { Step } from "../../engine/steps";
import { type CheckFailure, checkInputs, containsUnknown, parseInputs } from "../../engine/validation";
import { type PeerState, wireguardPeer, wireguardPeerList } from "../../kinds/wireguard/wireguard";
import { type Artifact, persistField, removeStep, syncSteps, wasPersisted } from "../../persist/files";
import { oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";
import { connectionOf } from "../../ssh/connection";
import {
  comparableConnections,
  type MemberDevice,
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
import { peerSteps, peersOn } from "./peer-entries";

/**
 * The peers of every WireGuard interface of a mesh as ONE resource: a host joining or leaving
 * is one Pulumi step however many hosts there are, where each WireguardInterface's own `peers`
 * made it one update per host. In that step every host whose list changes gets one command
 * (one `wg set` naming each peer that left, joined or changed, and its boot-time unit), all
 * hosts at once; a host whose list is unchanged is not contacted, nor is one that left the
 * membership (its interface goes with its own resource).
 *
 * Connections are a separate record from the lists, keyed by the same member names: the
 * connections are sealed as one secret, while the lists (public keys, endpoints, allowed IPs:
 * nothing secret) stay readable, so `pulumi preview` shows which member's list changes
 * (`interfaces.b.peers`) and a refresh's drift names the host. No private key is needed here.
 *
 * A mesh (every member lists every other) is given as each member's `asPeer`: how the others
 * list it. State then holds N entries where the lists themselves are N × (N − 1) (at 80 hosts
 * about 0.7 MB, kept twice: inputs and outputs), and a member joining shows in `pulumi preview`
 * as that one member. A member's list is its own `peers`, and with `asPeer` every other mesh
 * member's. Where refresh finds a mesh member's list differing on its host, state keeps what it
 * found (`found`) until the next `up` sets the list again.
 *
 * What it owns: on each interface, the peers whose public key is in the member's list (before
 * or after a change). Any other peer (added by hand, or by the interface's own `peers`) is
 * neither reported nor touched.
 */
export const PEER_LISTS_TYPE = "WireguardPeerLists";

const interfaceSchema = z.strictObject({
  name: interfaceName.describe('The WireGuard interface\'s name on that host, e.g. "wg0" (a WireguardInterface made by its own resource).'),
  netns: namespaceName.optional().describe("The interface's namespace; omitted, the host's own."),
  peers: wireguardPeerList
    .default([])
    .describe(
      "The peers this interface talks to, each `{ publicKey, endpoint?, allowedIps, persistentKeepalive? }` as a WireguardInterface's `peers` takes them; with `asPeer`, besides the mesh's.",
    ),
  asPeer: wireguardPeer
    .optional()
    .describe(
      "This interface as the other members list it (`{ publicKey, endpoint?, allowedIps, persistentKeepalive? }`, its own public key): every member that gives one lists every other member that does, a mesh of N entries in state instead of N × (N − 1).",
    ),
  persist: persistField.describe(
    'Any mode but "none" ("networkd", "networkmanager", "systemd", "auto"): a oneshot systemd unit sets the peers again at boot, once the interface exists, whatever recreates it. "none" or omitted: nothing survives a reboot.',
  ),
});

export const peerListsSchema = z
  .strictObject({
    connections: z
      .record(memberName, connectionField)
      .describe("How to reach each member's host, by member name (see the device resources' `connection`). Kept as one secret in state."),
    interfaces: z.record(memberName, interfaceSchema).describe("Each member's WireGuard interface and its peers, by member name."),
    /** Derived from the resource's identity by its class: see engine/ownership.ts. */
    ownerKey: ownerKeyField,
  })
  .superRefine(requireConnections("interfaces"))
  .superRefine((value, ctx) => {
    const mesh = new Map<string, string>();
    for (const [member, device] of Object.entries(value.interfaces)) {
      if (!device.asPeer) continue;
      const other = mesh.get(device.asPeer.publicKey);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["interfaces", member, "asPeer"],
          message: `has the public key of interfaces.${other}.asPeer (one key per member)`,
        });
      mesh.set(device.asPeer.publicKey, member);
    }
    for (const [member, device] of Object.entries(value.interfaces))
      for (const peer of device.peers) {
        const owner = mesh.get(peer.publicKey);
        if (owner === member) ctx.addIssue({ code: "custom", path: ["interfaces", member, "peers"], message: `lists the interface's own key (its asPeer's)` });
        else if (device.asPeer && owner !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["interfaces", member, "peers"],
            message: `lists ${peer.publicKey}, which the mesh lists already (interfaces.${owner}.asPeer)`,
          });
      }
  });

/** Nothing replaces it: a list, a member joining, leaving or moving to another host, a credential are all updates. */
export const PEER_LISTS_REPLACE_ON = [] as const;

type PeerListsInputs = z.output<typeof peerListsSchema>;
type Interface = z.output<typeof interfaceSchema>;
/** A member as state holds it: as given, and where refresh found its list differing on the host, what it found. */
type InterfaceState = Omit<Interface, "persist"> & { persist?: MemberPersistState; found?: PeerState[] };

/**
 * Each member's list: its own `peers` and, a member with `asPeer`, every other such member's
 * (sorted by public key, as a list is). As given: what `found` says is not applied here.
 */
export function listsOf(interfaces: Record<string, Pick<Interface, "peers" | "asPeer">>): Record<string, PeerState[]> {
  const mesh = Object.entries(interfaces).filter(([, device]) => device.asPeer !== undefined);
  return Object.fromEntries(
    Object.entries(interfaces).map(([member, device]) => {
      const others = device.asPeer ? mesh.filter(([other]) => other !== member).map(([, other]) => other.asPeer!) : [];
      return [member, [...(device.peers ?? []), ...others].sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0))];
    }),
  );
}

/** What each member's interface has of the resource's, by state: what refresh found there, else its list. */
function appliedLists(interfaces: Record<string, InterfaceState>): Record<string, PeerState[]> {
  const lists = listsOf(interfaces);
  return Object.fromEntries(Object.entries(interfaces).map(([member, device]) => [member, device.found ?? lists[member]!]));
}
type Outcome = MemberOutcome<InterfaceState>;

/** "wg0 in namespace c1 (member b)". */
function described(member: string, device: Pick<Interface, "name" | "netns">): string {
  return `${device.name}${device.netns ? ` in namespace ${device.netns}` : ""} (member ${member})`;
}

/** The member's boot-time unit: once the interface exists (made by its own unit), its peers (`list`) set, retried. */
function bootUnit(member: string, device: Pick<Interface, "name" | "netns" | "persist">, list: PeerState[], token: string): Artifact[] | undefined {
  if (!wasPersisted(device.persist) || list.length === 0) return undefined;
  return oneshotArtifacts({
    token: memberToken(token, member),
    what: `${PEER_LISTS_TYPE} ${described(member, device)}`,
    steps: peerSteps(device, [], list),
    namespaces: [],
    waitFor: [{ netns: device.netns, name: device.name }],
    retry: true,
  });
}

/** What each member's host needs: `wg` (the list's commands and reads), and named namespaces for an interface in one. */
function memberNeeds(device: MemberDevice): Needs {
  return stepNeeds(PEER_LISTS_TYPE, [{ tool: "wg", netns: device.netns, args: ["show"] }]);
}

/** The ResourceEngine's contract for a resource that spans many hosts: each member is handled as a one-host resource is, all at once. */
export class PeerListsEngine implements AnyEngine {
  readonly resourceType = PEER_LISTS_TYPE;
  readonly secretFields = ["connections"] as const;

  constructor(private readonly hosts: HostFactory = sshHosts) {}

  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    return checkInputs(peerListsSchema, PEER_LISTS_TYPE, news, this.secretFields);
  }

  /**
   * Per member, from its host's one probe (engine/preflight.ts): what the host offers, for a
   * member whose connection asks for it (`preflight: true`); with persist on, systemd there
   * (persist/host-support.ts). Each failure names the member.
   */
  async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    const { connections, interfaces } = inputs as Partial<PeerListsInputs>;
    if (!interfaces || containsUnknown(interfaces) || !connections || containsUnknown(connections)) return [];
    const members = Object.entries(interfaces).filter(([member]) => connections[member]);
    const failures = await Promise.all(
      members.map(async ([member, device]) => {
        const connection = connectionOf({ connection: connections[member] });
        const host = this.hosts(connection);
        const capabilities =
          connection.preflight === true ? await capabilityFailures(host, memberNeeds(device), this.where(host, member, device), "interfaces") : [];
        const persist = await memberPersistFailures(host, device.persist);
        return [
          ...capabilities,
          ...persist.map((failure) => ({ property: "interfaces", reason: `${PEER_LISTS_TYPE} interfaces.${member}: ${failure.reason}` })),
        ];
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
      containsUnknown(news.interfaces) ||
      containsUnknown(news.connections) ||
      !sameValue(olds.interfaces, news.interfaces) ||
      !sameValue(comparableConnections(olds.connections), comparableConnections(news.connections));
    return { changes, replaces: [], deleteBeforeReplace: false };
  }

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const inputs = this.parse(rawInputs);
    const token = newOwnerToken(inputs.ownerKey);
    const id = `${PEER_LISTS_TYPE}#${token}`;
    const outs = await this.converge("create", id, inputs, {}, {});
    return { id, outs };
  }

  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
    const inputs = this.parse(news);
    const previous = olds as { interfaces?: Record<string, InterfaceState>; connections?: Record<string, unknown> };
    return { outs: await this.converge("update", id, inputs, previous.interfaces ?? {}, previous.connections ?? {}) };
  }

  /**
   * Per member, in parallel: reads the interface's peers and keeps those of its list as the
   * host has them (a peer that is missing drops out and one whose settings changed shows them,
   * so the diff names that member and the next `up` sets them again), and checks its boot-time
   * files. An interface that is gone reports an empty list; the resource itself stays (its
   * members' interfaces are other resources').
   */
  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs: Record<string, unknown> }> {
    refuseNewerState(PEER_LISTS_TYPE, props);
    const connections = (props.connections ?? {}) as Record<string, unknown>;
    const interfaces = (props.interfaces ?? {}) as Record<string, InterfaceState>;
    const token = ownerToken(id);
    const lists = listsOf(interfaces);
    const observed = await Promise.all(
      Object.entries(interfaces).map(async ([member, device]): Promise<[string, InterfaceState]> => {
        const host = this.hostOf(connections[member]);
        const list = lists[member]!;
        const present = (await peersOn(host, device, list)) ?? [];
        const listed = new Set(list.map((peer) => peer.publicKey));
        const peers = present.filter((peer) => listed.has(peer.publicKey));
        const missing = list.filter((peer) => !peers.some((found) => found.publicKey === peer.publicKey));
        if (missing.length) console.warn(`netdev: ${this.where(host, member, device)}: peers missing: ${missing.map((peer) => peer.publicKey).join(", ")}`);
        const persist = await memberPersistState(
          host,
          this.where(host, member, device),
          () => bootUnit(member, { ...device, persist: "systemd" }, list, token),
          device.persist,
        );
        const { found: _found, ...given } = device;
        // A member of its own list only: the list as found. A mesh member: as given, and what was found where it differs.
        const drift = device.asPeer ? (sameValue(peers, list) ? {} : { found: peers }) : { peers };
        return [member, { ...given, ...drift, ...(persist !== undefined ? { persist } : {}) }];
      }),
    );
    const outs = { connections, interfaces: Object.fromEntries(observed) };
    return { id, props: { ...outs, schemaVersion: SCHEMA_VERSION }, inputs: outs };
  }

  /** Removes each member's listed peers and boot-time unit; an interface or namespace that is gone counts as done. */
  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    refuseNewerState(PEER_LISTS_TYPE, props);
    const connections = (props.connections ?? {}) as Record<string, unknown>;
    const interfaces = (props.interfaces ?? {}) as Record<string, InterfaceState>;
    const token = ownerToken(id);
    const applied = appliedLists(interfaces);
    const outcomes = await Promise.all(
      Object.entries(interfaces).map(async ([member, device]): Promise<Outcome> => {
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
    throwIfMembersFailed(PEER_LISTS_TYPE, outcomes, "delete");
  }

  /** Brings every member's interface from its previous list to the new one, all at once; members that left are not contacted. */
  private async converge(
    what: "create" | "update",
    id: string,
    inputs: PeerListsInputs,
    before: Record<string, InterfaceState>,
    beforeConnections: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const token = ownerToken(id);
    const lists = listsOf(inputs.interfaces);
    const applied = appliedLists(before);
    const outcomes = await Promise.all(
      Object.entries(inputs.interfaces).map(async ([member, device]): Promise<Outcome> => {
        const connection = inputs.connections[member]!;
        const previous = sameMemberDevice(before[member], beforeConnections[member], device, connection) ? before[member] : undefined;
        try {
          const host = this.hostOf(connection);
          const list = lists[member]!;
          const files = syncSteps(
            bootUnit(member, device, list, token),
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
    const interfaces = Object.fromEntries(outcomes.filter((o) => o.state !== undefined).map((o) => [o.member, o.state]));
    const outs = { connections: inputs.connections, interfaces, schemaVersion: SCHEMA_VERSION };
    // What succeeded is recorded (the error carries the id and the state), so the next `up` converges from there.
    throwIfMembersFailed(PEER_LISTS_TYPE, outcomes, what, id, outs);
    return outs;
  }

  /**
   * A member that left keeps its peers (its interface goes with its own resource, and its host
   * may be gone): it is not contacted, unless its list was persisted, whose boot-time unit would
   * otherwise wait at every boot for an interface that no longer comes. That removal is best effort.
   */
  private async forgetLeavers(
    token: string,
    inputs: PeerListsInputs,
    before: Record<string, InterfaceState>,
    beforeConnections: Record<string, unknown>,
  ): Promise<void> {
    const leavers = Object.entries(before).filter(([member, device]) => !(member in inputs.interfaces) && wasPersisted(device.persist));
    await Promise.all(
      leavers.map(async ([member, device]) => {
        const host = this.hostOf(beforeConnections[member]);
        await host
          .applyAll(removeStep(oneshotPaths(memberToken(token, member)), memberToken(token, member)), this.where(host, member, device))
          .catch((error: unknown) => {
            console.warn(
              `netdev: ${this.where(host, member, device)} left the mesh; its boot-time unit could not be removed: ${error instanceof Error ? error.message : String(error)}`,
            );
          });
      }),
    );
  }

  /**
   * One command on the host: the `wg set` from the old list to the new one, then its boot-time
   * files. No command when nothing changes. With `checkHost` (a member new on its device and
   * host), the host's capabilities first (engine/preflight.ts: its one probe per run); a member
   * applied there before is not probed again, so a host joining or leaving costs every other
   * host one round trip. `wg set` itself is idempotent, so a failure is the
   * interface (or its namespace) missing, or the host refusing: the former is done on delete and
   * named as such on create or update.
   */
  private async apply(
    host: Host,
    member: string,
    device: Interface | InterfaceState,
    before: readonly PeerState[],
    after: readonly PeerState[],
    files: Step[],
    { goneIsDone, checkHost }: { goneIsDone: boolean; checkHost: boolean },
  ): Promise<void> {
    const steps = [...peerSteps(device, before, after), ...files];
    if (steps.length === 0) return;
    const where = this.where(host, member, device);
    if (checkHost) await requireCapabilities(host, memberNeeds(device), where);
    try {
      await host.applyAll(steps, where);
    } catch (error) {
      if (!(error instanceof StepError && error.field === "peers" && isIpError(error.stderr, "device-missing", "namespace-missing"))) throw error;
      if (goneIsDone) return host.applyAll(files, where).then(() => undefined);
      throw new Error(`${where}: the interface is not there (its own resource makes it; run \`pulumi refresh\` if it was deleted by hand)`);
    }
  }

  private parse(inputs: Record<string, unknown>): PeerListsInputs {
    return parseInputs(peerListsSchema, PEER_LISTS_TYPE, inputs, this.secretFields) as unknown as PeerListsInputs;
  }

  private hostOf(connection: unknown): Host {
    return this.hosts(connectionOf({ connection }));
  }

  private where(host: Host, member: string, device: Pick<Interface, "name" | "netns">): string {
    return `${PEER_LISTS_TYPE} ${described(member, device)} on ${host.endpoint}`;
  }
}

/** The WireguardPeerLists engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createPeerListsEngine(hosts?: HostFactory): PeerListsEngine {
  return new PeerListsEngine(hosts);
}

export const peerListsEngine = createPeerListsEngine();
