import { z } from "zod";
import { interfaceName, ipAddress, isMulticastIp, isUnspecifiedIp } from "../../engine/fields";
import { defineKind } from "../../engine/kind";
import { ALL_ZERO_MAC, fdbReadCommand, floodDestinations, floodSteps } from "../../objects/flood-lists/flood-entries";

/**
 * A VXLAN tunnel endpoint (VTEP). dstPort defaults to 4789, the IANA port; Linux's own
 * default is 8472, so set it explicitly to talk to older peers. Unicast meshes list their
 * `peers`: each becomes an all-zero FDB entry (head-end replication of broadcast, unknown
 * unicast and multicast), changed in place. The MTU must leave 50 bytes (IPv4 underlay) or
 * 70 (IPv6) below the underlay's for the encapsulation.
 */
export const vxlanKind = defineKind({
  resourceType: "VxlanTunnel",
  summary: "A VXLAN tunnel endpoint: Ethernet over UDP, to a unicast flood list, a multicast group or one peer.",
  infoKinds: ["vxlan"],
  kernelFeature: "vxlan",
  example: {
    vni: 42,
    dstPort: 4789,
    local: "10.0.0.1",
    dev: "eth0",
    ttl: 64,
    tos: 0,
    learning: false,
    udpCsum: true,
    srcPortRange: { low: 49152, high: 65535 },
    peers: ["10.0.0.3", "10.0.0.2"],
  },
  fields: {
    vni: z
      .number()
      .int()
      .min(0, "must be 0-16777215 (24 bits)")
      .max(16_777_215, "must be 0-16777215 (24 bits)")
      .describe("The VXLAN network identifier (0-16777215): every VTEP of one overlay uses the same one."),
    dstPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(4789)
      .describe("UDP port of the tunnel on every VTEP: 4789 is the IANA port; Linux's own default is 8472, so set it to talk to older peers."),
    local: ipAddress.optional().describe('This VTEP\'s underlay source address, e.g. "10.0.0.1"; omitted, chosen by routing.'),
    remote: ipAddress.optional().describe("The one other VTEP of a point-to-point tunnel; excludes `group`."),
    group: ipAddress.optional().describe("A multicast group (224.0.0.0/4 or ff00::/8) that floods reach every VTEP through; needs `dev`, excludes `remote`."),
    dev: interfaceName.optional().describe('The underlay device, e.g. "eth0": where multicast joins happen and packets leave.'),
    ttl: z.number().int().min(1).max(255).optional().describe("Outer TTL (1-255); omitted, the kernel's default."),
    tos: z.number().int().min(0).max(255).optional().describe("Outer TOS byte (0-255); 1 inherits the inner packet's."),
    learning: z.boolean().default(true).describe("Learn remote MAC addresses from received packets into the FDB; off for a mesh whose FDB is configured."),
    udpCsum: z.boolean().optional().describe("Compute UDP checksums on outgoing packets over IPv4 (IPv6 always has them)."),
    srcPortRange: z
      .object({
        low: z.number().int().min(1).max(65535).describe("The lowest UDP source port."),
        high: z.number().int().min(1).max(65535).describe("The highest UDP source port."),
      })
      .refine((r) => r.low <= r.high, "low must not exceed high")
      .optional()
      .describe("The outer UDP source ports the flow hash chooses from, e.g. { low: 49152, high: 65535 }."),
    peers: z
      .array(ipAddress)
      .transform((list) => [...new Set(list)].sort())
      .optional()
      .describe(
        'Unicast flood list: underlay addresses of the other VTEPs, e.g. ["10.0.0.2", "10.0.0.3"]; each becomes an all-zero FDB entry. Omitted after being set: the entries stay as they are (`[]` removes them).',
      ),
  },
  refine: (inputs) => {
    if (inputs.remote && inputs.group) return { field: "group", message: "remote and group are exclusive: a VTEP is point-to-point or multicast, not both" };
    if (inputs.group && !inputs.dev) return { field: "dev", message: "a multicast group needs the underlay dev to join it on" };
    if (inputs.group && !isMulticastIp(inputs.group)) return { field: "group", message: "must be a multicast address (224.0.0.0/4 or ff00::/8)" };
    // The kernel refuses these only after `ip link add` is under way; say so before anything runs.
    for (const field of ["local", "remote"] as const) {
      const address = inputs[field];
      if (address && (isMulticastIp(address) || isUnspecifiedIp(address) || address === "255.255.255.255")) {
        const hint = field === "remote" ? "for a multicast VTEP set group (and dev) instead" : "the VTEP's own underlay address";
        return { field, message: `must be a unicast address, not ${address} (${hint})` };
      }
    }
    if (inputs.remote && inputs.peers?.length) return { field: "peers", message: "peers (a flood list) and remote (a single peer) are exclusive" };
    return undefined;
  },
  replaceOn: ["vni", "dstPort", "local", "remote", "group", "dev", "udpCsum", "srcPortRange", "learning", "ttl", "tos"],
  createArgs: (inputs) => [
    "type",
    "vxlan",
    "id",
    String(inputs.vni),
    "dstport",
    String(inputs.dstPort),
    ...(inputs.local ? ["local", inputs.local] : []),
    ...(inputs.remote ? ["remote", inputs.remote] : []),
    ...(inputs.group ? ["group", inputs.group] : []),
    ...(inputs.dev ? ["dev", inputs.dev] : []),
    ...(inputs.ttl !== undefined ? ["ttl", String(inputs.ttl)] : []),
    // ip reads tos in hex (rtnl_dsfield_a2n): 16 would be 0x16.
    ...(inputs.tos !== undefined ? ["tos", `0x${inputs.tos.toString(16)}`] : []),
    inputs.learning ? "learning" : "nolearning",
    ...(inputs.udpCsum === undefined ? [] : [inputs.udpCsum ? "udpcsum" : "noudpcsum"]),
    ...(inputs.srcPortRange ? ["srcport", String(inputs.srcPortRange.low), String(inputs.srcPortRange.high)] : []),
  ],
  afterCreate: (inputs) => floodSteps(inputs, [], inputs.peers ?? []),
  // A VTEP bound to an underlay dev would need that device's .network to name it (networkd's
  // VXLAN=): not ours to edit, so such a VTEP is persisted by a oneshot unit instead. Peers
  // are flood entries: networkd keeps only the last of repeated Remote= (systemd#39258).
  networkd: (inputs) =>
    inputs.dev !== undefined
      ? undefined
      : {
          kind: "vxlan",
          netdev: [
            [
              "VXLAN",
              {
                VNI: inputs.vni,
                DestinationPort: inputs.dstPort,
                Local: inputs.local,
                Remote: inputs.remote,
                TTL: inputs.ttl,
                TOS: inputs.tos,
                MacLearning: inputs.learning,
                UDPChecksum: inputs.udpCsum,
                PortRange: inputs.srcPortRange ? `${inputs.srcPortRange.low}-${inputs.srcPortRange.high}` : undefined,
                Independent: true,
              },
            ],
          ],
          network: (inputs.peers ?? []).map((peer) => ["BridgeFDB", { MACAddress: ALL_ZERO_MAC, Destination: peer }] as [string, Record<string, string>]),
        },
  update(desired, actual) {
    // Omitting peers stops managing them and leaves the entries as they are (`[]` removes them
    // all): a VxlanOverlay's VTEPs hand their lists to its VxlanFloodLists this way, which
    // appends the same entries, so an upgraded overlay floods without a gap.
    if (desired.peers === undefined) return [];
    return floodSteps(desired, (actual.peers as string[] | undefined) ?? [], desired.peers);
  },
  async read(link, host, netns, inputs) {
    const data = link.infoData as Record<string, unknown> & { port_range?: { low: number; high: number } };
    // Unmanaged peers (an overlay's VTEP, whose VxlanFloodLists reads them) are neither compared
    // nor kept in state, so their FDB, one entry per peer, is not fetched at all.
    let peers: string[] | undefined;
    if (inputs.peers !== undefined) {
      const fdb = await host.readJson<Array<{ mac?: string; dst?: string }>>(fdbReadCommand({ name: link.ifname, netns }), "bridge -json fdb show");
      peers = floodDestinations(fdb).sort();
    }
    return {
      vni: data.id,
      dstPort: data.port,
      local: data.local ?? data.local6,
      remote: data.remote ?? data.remote6,
      group: data.group ?? data.group6,
      dev: data.link,
      ttl: data.ttl === 0 || data.ttl === undefined ? undefined : data.ttl,
      tos: typeof data.tos === "string" ? parseInt(data.tos, 16) : data.tos,
      learning: data.learning,
      udpCsum: data.udp_csum,
      srcPortRange: data.port_range,
      peers,
    };
  },
});
