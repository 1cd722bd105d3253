import { z } from "zod";
import { ipAddress, isMulticastIp, isUnspecifiedIp } from "../../engine/fields";
import { defineKind, type Step } from "../../engine/kind";

const ipv4 = ipAddress.refine((address) => !address.includes(":"), "must be an IPv4 address (ip6gre is another kind)");

/**
 * A GRE tunnel over IPv4: `mode: "gre"` carries IP (a point-to-point L3 device), `mode:
 * "gretap"` carries Ethernet (bridgeable). Needs the kernel's ip_gre module.
 *
 * Measured on kernel 6.1: `ip link set … type gre|gretap` changes local, remote, ttl and key
 * in place (`nokey` removes the key); the mode is a different device kind and replaces it.
 */
export const greKind = defineKind({
  resourceType: "Gre",
  summary: "A GRE (gre) or GRE-over-Ethernet (gretap) tunnel over IPv4.",
  infoKinds: ["gre", "gretap"],
  kernelFeature: "GRE (ip_gre)",
  example: { mode: "gretap", remote: "10.0.0.2", local: "10.0.0.1", key: 7, ttl: 64 },
  fields: {
    mode: z
      .enum(["gre", "gretap"])
      .default("gre")
      .describe('"gre" carries IP packets (a layer-3 tunnel); "gretap" carries Ethernet frames (layer 2, can join a bridge).'),
    remote: ipv4.describe(
      'The other end\'s underlay IPv4 address, e.g. "10.0.0.2". Required: a gre device without one is a different (NBMA) device, and the kernel refuses to switch between the two in place.',
    ),
    local: ipv4.optional().describe("This end's underlay IPv4 address; omitted, any."),
    key: z
      .number()
      .int()
      .min(0, "must be 0-4294967295 (32 bits)")
      .max(4_294_967_295, "must be 0-4294967295 (32 bits)")
      .optional()
      .describe("GRE key (0-4294967295) for both directions (ikey and okey): both ends must use the same one."),
    ttl: z
      .number()
      .int()
      .min(0, "must be 0-255 (0 inherits)")
      .max(255, "must be 0-255 (0 inherits)")
      .optional()
      .describe("Outer TTL (1-255); 0 inherits the inner packet's."),
  },
  refine: (inputs) => {
    // A multicast or missing remote makes a broadcast (NBMA) gre device, not a tunnel to one peer.
    for (const field of ["remote", "local"] as const) {
      const address = inputs[field];
      if (address && (isMulticastIp(address) || isUnspecifiedIp(address) || address === "255.255.255.255"))
        return { field, message: `must be a unicast address, not ${address}` };
    }
    return undefined;
  },
  replaceOn: ["mode"],
  createArgs: (inputs) => [
    "type",
    inputs.mode,
    "remote",
    inputs.remote,
    ...(inputs.local ? ["local", inputs.local] : []),
    ...(inputs.key !== undefined ? ["key", String(inputs.key)] : []),
    ...(inputs.ttl !== undefined ? ["ttl", String(inputs.ttl)] : []),
  ],
  update(desired, actual, previous) {
    const args: string[] = [];
    const fields: string[] = [];
    const change = (field: string, ...words: string[]) => {
      fields.push(field);
      args.push(...words);
    };
    if (desired.remote !== actual.remote) change("remote", "remote", desired.remote);
    // Omitted after being set: back to what a new device would have.
    if (desired.local !== undefined ? desired.local !== actual.local : previous?.local !== undefined && actual.local !== undefined)
      change("local", "local", desired.local ?? "any");
    if (desired.key !== undefined ? desired.key !== actual.key : previous?.key !== undefined && actual.key !== undefined)
      change("key", ...(desired.key !== undefined ? ["key", String(desired.key)] : ["nokey"]));
    if (desired.ttl !== undefined ? desired.ttl !== actual.ttl : previous?.ttl !== undefined && actual.ttl !== 0)
      change("ttl", "ttl", String(desired.ttl ?? 0));
    if (!args.length) return [];
    // A key added or removed changes the header length, and the kernel moves the MTU by as much
    // unless the same message sets it: the wanted MTU goes with the change.
    const mtu = desired.mtu !== undefined ? ["mtu", String(desired.mtu)] : [];
    return [
      {
        field: fields.join(", "),
        tool: "ip",
        netns: desired.netns,
        args: ["link", "set", "dev", desired.name, ...mtu, "type", desired.mode, ...args],
      } satisfies Step,
    ];
  },
  async read(link) {
    const data = link.infoData as { remote?: string; local?: string; ttl?: number; ikey?: string };
    return {
      mode: link.infoKind,
      remote: data.remote === "any" ? undefined : data.remote,
      local: data.local === "any" ? undefined : data.local,
      key: data.ikey === undefined ? undefined : dottedToNumber(data.ikey),
      ttl: data.ttl,
    };
  },
});

/** `ip -json` shows a GRE key as a dotted quad ("0.0.1.4" is 260). */
function dottedToNumber(key: string): number | undefined {
  const parts = key.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part))) return Number.isInteger(Number(key)) ? Number(key) : undefined;
  return parts.reduce((sum, part) => sum * 256 + part, 0);
}
