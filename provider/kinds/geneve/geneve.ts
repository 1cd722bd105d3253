import { z } from "zod";
import { ipAddress, isMulticastIp, isUnspecifiedIp } from "../../engine/fields";
import { defineKind, type Step } from "../../engine/kind";

/**
 * A Geneve tunnel endpoint (RFC 8926): Ethernet over UDP like VXLAN, with a 24-bit `vni` and
 * IANA port 6081, point-to-point to one `remote`. Needs the kernel's geneve module.
 *
 * Measured on kernel 6.1: changelink refuses a new VNI, port or remote address family ("Changing
 * VNI, Port, endpoint IP address family, external, inner_proto_inherit, and UDP checksum
 * attributes are not supported"), so `vni` and `dstPort` replace the device; `remote` (same
 * family), `ttl`, `tos` and `df` change in place.
 */
export const geneveKind = defineKind({
  resourceType: "Geneve",
  summary: "A Geneve tunnel endpoint: Ethernet over UDP (port 6081) to one peer.",
  infoKinds: ["geneve"],
  kernelFeature: "geneve",
  example: { vni: 4242, remote: "10.0.0.2", dstPort: 6081, ttl: 64, tos: 0, df: "set" },
  fields: {
    vni: z
      .number()
      .int()
      .min(0, "must be 0-16777215 (24 bits)")
      .max(16_777_215, "must be 0-16777215 (24 bits)")
      .describe("The Geneve network identifier (0-16777215): both ends must use the same one."),
    remote: ipAddress.describe(
      'The other endpoint\'s underlay address, e.g. "10.0.0.2"; iproute2 requires it (unless the device is external, which netdev does not model).',
    ),
    dstPort: z.number().int().min(1).max(65535).default(6081).describe("UDP port of the tunnel on both ends (the IANA port is 6081)."),
    ttl: z
      .union([z.number().int().min(0, 'must be 0-255 or "inherit"').max(255, 'must be 0-255 or "inherit"'), z.literal("inherit")])
      .optional()
      .describe('Outer TTL: 1-255, 0 for the kernel\'s default hop limit ("ttl auto"), or "inherit" (from the inner packet).'),
    tos: z.number().int().min(0).max(255).optional().describe("Outer TOS byte; 1 means inherit from the inner packet, as `ip` takes it."),
    df: z.enum(["set", "unset", "inherit"]).optional().describe("The outer IPv4 header's don't-fragment bit: set, unset, or inherited from the inner packet."),
  },
  refine: (inputs) => {
    const remote = inputs.remote;
    if (isMulticastIp(remote) || isUnspecifiedIp(remote) || remote === "255.255.255.255")
      return { field: "remote", message: `must be a unicast address, not ${remote}` };
    return undefined;
  },
  replaceOn: ["vni", "dstPort"],
  createArgs: (inputs) => ["type", "geneve", "id", String(inputs.vni), "remote", inputs.remote, "dstport", String(inputs.dstPort), ...tunnelOptions(inputs)],
  update(desired, actual, previous) {
    // Omitted after being set: back to the kernel's default, as a new device would have.
    const wanted = {
      remote: desired.remote,
      ttl: desired.ttl ?? (previous?.ttl !== undefined ? 0 : undefined),
      tos: desired.tos ?? (previous?.tos !== undefined ? 0 : undefined),
      df: desired.df ?? (previous?.df !== undefined ? "unset" : undefined),
    };
    const changed = (Object.keys(wanted) as Array<keyof typeof wanted>).filter((key) => wanted[key] !== undefined && wanted[key] !== actual[key]);
    if (changed.length === 0) return [];
    // iproute2 wants id and remote on every `set … type geneve`; the same VNI is no change to the kernel.
    return [
      {
        field: changed.join(", "),
        tool: "ip",
        netns: desired.netns,
        args: ["link", "set", "dev", desired.name, "type", "geneve", "id", String(desired.vni), "remote", wanted.remote, ...tunnelOptions(wanted)],
      } satisfies Step,
    ];
  },
  async read(link) {
    const data = link.infoData;
    return {
      vni: data.id,
      remote: data.remote ?? data.remote6,
      dstPort: data.port,
      // `ip -json` leaves ttl out when it is "inherit".
      ttl: data.ttl === undefined ? "inherit" : data.ttl,
      tos: data.tos === undefined ? 0 : data.tos === "inherit" ? 1 : typeof data.tos === "string" ? parseInt(data.tos, 16) : data.tos,
      df: data.df,
    };
  },
});

function tunnelOptions(inputs: { ttl?: number | "inherit"; tos?: number; df?: string }): string[] {
  return [
    ...(inputs.ttl !== undefined ? ["ttl", String(inputs.ttl)] : []),
    // `ip` reads tos in hexadecimal.
    ...(inputs.tos !== undefined ? ["tos", `0x${inputs.tos.toString(16)}`] : []),
    ...(inputs.df !== undefined ? ["df", inputs.df] : []),
  ];
}
