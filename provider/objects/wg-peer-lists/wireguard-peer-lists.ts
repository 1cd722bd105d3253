import { z } from "zod";
import { connectionField, interfaceName, namespaceName } from "../../engine/fields";
import type { HostFactory } from "../../engine/host-interface";
import { ownerKeyField } from "../../engine/ownership";
import { stepNeeds } from "../../engine/preflight";
import { type PeerState, wireguardPeer, wireguardPeerList } from "../../kinds/wireguard/wireguard";
import { persistField } from "../../persist/files";
import { type ListKind, MemberListsEngine } from "../member-lists-engine";
import { type ListMember, type MeshShape, memberName, meshCheck, meshLists, requireConnections } from "../members";
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

/** The mesh: a member's `asPeer` is how the others list it, an entry is a peer keyed by its public key. */
const PEER_MESH: MeshShape<PeerState> = {
  field: "interfaces",
  meshField: "asPeer",
  device: "interface",
  keyName: "public key",
  keyOf: (peer) => peer.publicKey,
};

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
  .superRefine(meshCheck(PEER_MESH));

/** Nothing replaces it: a list, a member joining, leaving or moving to another host, a credential are all updates. */
export const PEER_LISTS_REPLACE_ON = [] as const;

type Interface = z.output<typeof interfaceSchema>;

/**
 * Each member's list: its own `peers` and, a member with `asPeer`, every other such member's
 * (sorted by public key, as a list is). As given: what `found` says is not applied here.
 */
export function listsOf(interfaces: Record<string, Pick<Interface, "peers" | "asPeer">>): Record<string, PeerState[]> {
  return meshLists(PEER_MESH, interfaces as Record<string, ListMember<PeerState>>);
}

/** An interface's peers: one idempotent `wg set` from one list to another, read back from `wg show`. */
export const peerListsKind: ListKind<PeerState> = {
  ...PEER_MESH,
  type: PEER_LISTS_TYPE,
  schema: peerListsSchema,
  steps: peerSteps,
  entriesOn: peersOn,
  needs: (device) => stepNeeds(PEER_LISTS_TYPE, [{ tool: "wg", netns: device.netns, args: ["show"] }]),
  // `wg set` removing a peer that is not there or setting one that is is no error: a failure is the host refusing.
  settleFromHost: false,
};

/** The WireguardPeerLists engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createPeerListsEngine(hosts?: HostFactory): MemberListsEngine<PeerState> {
  return new MemberListsEngine(peerListsKind, hosts);
}

export const peerListsEngine = createPeerListsEngine();
