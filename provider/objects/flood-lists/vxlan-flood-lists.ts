import { z } from "zod";
import { connectionField, interfaceName, ipAddress, namespaceName } from "../../engine/fields";
import type { HostFactory } from "../../engine/host-interface";
import { ownerKeyField } from "../../engine/ownership";
import { stepNeeds } from "../../engine/preflight";
import { persistField } from "../../persist/files";
import { type ListKind, MemberListsEngine } from "../member-lists-engine";
import { type ListMember, type MeshShape, memberName, meshCheck, meshLists, requireConnections } from "../members";
import { floodEntriesOn, floodSteps } from "./flood-entries";

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

/** The mesh: a member's `address` is how the others list it, an entry is an underlay address. */
const FLOOD_MESH: MeshShape<string> = { field: "vteps", meshField: "address", device: "VTEP", keyName: "address", keyOf: (dst) => dst };

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
  .superRefine(meshCheck(FLOOD_MESH));

/** Nothing replaces it: a list, a member joining, leaving or moving to another host, a credential are all updates. */
export const FLOOD_LISTS_REPLACE_ON = [] as const;

type Vtep = z.output<typeof vtepSchema>;

/** Each member's list: its own `peers` and, a member with `address`, every other such member's (sorted). As given: `found` is not applied here. */
export function floodListsOf(vteps: Record<string, Pick<Vtep, "peers" | "address">>): Record<string, string[]> {
  return meshLists(FLOOD_MESH, vteps as Record<string, ListMember<string>>);
}

/** A VTEP's flood list: all-zero FDB entries appended and deleted by `bridge fdb`, read from `bridge fdb show`. */
export const floodListsKind: ListKind<string> = {
  ...FLOOD_MESH,
  type: FLOOD_LISTS_TYPE,
  schema: floodListsSchema,
  steps: floodSteps,
  entriesOn: (host, vtep) => floodEntriesOn(host, vtep),
  needs: (vtep) => stepNeeds(FLOOD_LISTS_TYPE, [{ tool: "bridge", netns: vtep.netns, args: ["fdb"] }]),
  // A delete of an entry already gone fails: settled from what the VTEP has.
  settleFromHost: true,
};

/** The VxlanFloodLists engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createFloodListsEngine(hosts?: HostFactory): MemberListsEngine<string> {
  return new MemberListsEngine(floodListsKind, hosts);
}

export const floodListsEngine = createFloodListsEngine();
