import { z } from "zod";
import { connectionSchema } from "../ssh/connection";

/**
 * Field validators shared by every device kind. Each refuses anything that could be read as
 * an option or as shell syntax before a command is ever built.
 */

// IFNAMSIZ is 16 with the NUL: 1-15 bytes, no '/', ':' (alias syntax) or whitespace, not '.' or '..'.
export const interfaceName = z
  .string()
  .min(1, "must not be empty")
  .max(15, "must be at most 15 characters (the kernel's IFNAMSIZ)")
  .regex(/^[A-Za-z0-9_.@+-]+$/, "may only contain letters, digits and _ . @ + - (no '/', ':', whitespace or shell characters)")
  .refine((name) => name !== "." && name !== "..", "must not be '.' or '..'")
  .refine((name) => !name.startsWith("-"), "must not start with '-'")
  // When no device has the name, iproute2 falls back to sscanf(name, "if%u") and takes the
  // number as an ifindex: such a name silently addresses another device (`ip addr show dev if1`
  // answers with lo), and "if1x" or "if+1" parse the same way.
  .refine(
    (name) => !/^if[+-]?[0-9]/.test(name),
    "must not start with 'if' and a number: iproute2 reads such a name as an interface index when no device has it",
  );

/** The `connection` field of every resource (its own fields are described in ssh/connection.ts). */
export const connectionField = connectionSchema.describe(
  "How to reach the host over SSH: address, user, a credential and the pinned host key. Kept as a secret in state, whatever the program marked.",
);

export const namespaceName = z
  .string()
  .min(1)
  .max(64, "must be at most 64 characters")
  .regex(/^[A-Za-z0-9_.-]+$/, "may only contain letters, digits and _ . -")
  .refine((name) => name !== "." && name !== ".." && !name.startsWith("-"), "must not be '.', '..' or start with '-'");

export const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, "must be a MAC address like 02:00:00:aa:bb:cc")
  .transform((mac) => mac.toLowerCase())
  .refine((mac) => (parseInt(mac.slice(0, 2), 16) & 1) === 0, "must be a unicast MAC address (the low bit of the first byte clear)")
  .refine((mac) => mac !== "00:00:00:00:00:00", "must not be all zeros (the kernel refuses 00:00:00:00:00:00)");

export const mtu = z.number().int().min(68, "must be at least 68").max(65535, "must be at most 65535");

function expandIpv6(address: string): number[] | undefined {
  const [head, tail, ...rest] = address.split("::");
  if (rest.length > 0) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(":") : []);
  let groups = [...parse(head)];
  let tailGroups = parse(tail);
  const last = (tail === undefined ? groups : tailGroups).at(-1);
  const v4 = last?.includes(".") ? canonicalIpv4(last) : undefined;
  if (last?.includes(".")) {
    if (!v4) return undefined;
    const octets = v4.split(".").map(Number);
    const replaced = [((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16)];
    if (tail === undefined) groups = [...groups.slice(0, -1), ...replaced];
    else tailGroups = [...tailGroups.slice(0, -1), ...replaced];
  }
  if (tail === undefined && groups.length !== 8) return undefined;
  if (tail !== undefined && groups.length + tailGroups.length > 7) return undefined;
  const all = tail === undefined ? groups : [...groups, ...Array(8 - groups.length - tailGroups.length).fill("0"), ...tailGroups];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

function canonicalIpv4(address: string): string | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join(".");
}

/** RFC 5952 text form, as iproute2 prints it: lowercase, longest zero run compressed. */
function canonicalIpv6(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  // Like glibc's inet_ntop, which iproute2 prints with: IPv4-compatible (::a.b.c.d) and
  // IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted quad, or state never converges.
  const dotted = () => `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  if (bestStart === 0 && bestLength === 6) return `::${dotted()}`;
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) return `::ffff:${dotted()}`;
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The address's bytes (4 or 16), big-endian; undefined when it is not an address. */
function addressBytes(address: string): number[] | undefined {
  if (!address.includes(":")) return canonicalIpv4(address)?.split(".").map(Number);
  return expandIpv6(address)?.flatMap((group) => [group >> 8, group & 0xff]);
}

function bytesToAddress(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return canonicalIpv6(groups.join(":"))!;
}

/** The network of address/prefix: the address with every bit past the prefix cleared. */
export function networkOf(address: string, prefix: number): string | undefined {
  const bytes = addressBytes(address);
  if (!bytes) return undefined;
  return bytesToAddress(bytes.map((byte, i) => byte & (0xff << Math.max(0, 8 - Math.max(0, prefix - 8 * i))) & 0xff));
}

export function isMulticastIp(address: string): boolean {
  const bytes = addressBytes(address);
  if (!bytes) return false;
  return bytes.length === 4 ? bytes[0]! >= 224 && bytes[0]! <= 239 : bytes[0] === 0xff;
}

/** 0.0.0.0 or ::, which names no host. */
export function isUnspecifiedIp(address: string): boolean {
  return addressBytes(address)?.every((byte) => byte === 0) ?? false;
}

/** An IP address (v4 or v6) in canonical text form, or undefined when it is not one. */
export function canonicalIp(address: string): string | undefined {
  return address.includes(":") ? canonicalIpv6(address) : canonicalIpv4(address);
}

export const ipAddress = z.string().transform((value, ctx) => {
  const canonical = canonicalIp(value);
  if (!canonical) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not an IPv4 or IPv6 address` });
    return z.NEVER;
  }
  return canonical;
});

/** "address/prefix", canonicalised so it compares equal to what `ip -json addr` reports. */
export const cidr = z.string().transform((value, ctx) => {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const canonical = match ? canonicalIp(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  const max = match && match[1]!.includes(":") ? 128 : 32;
  if (!canonical || !(prefix >= 0 && prefix <= max)) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not an address in CIDR form like 10.0.0.1/24 or fd00::1/64` });
    return z.NEVER;
  }
  return `${canonical}/${prefix}`;
});

/** A prefix in CIDR form whose host bits are clear (a route's destination): "10.0.0.0/24", not "10.0.0.1/24". */
export const networkCidr = cidr.superRefine((value, ctx) => {
  const [address, prefix] = value.split("/") as [string, string];
  const network = networkOf(address, Number(prefix));
  if (network !== address) ctx.addIssue({ code: "custom", message: `"${value}" has host bits set; the network is ${network}/${prefix}` });
});

/**
 * Addresses of one device. The same address twice with one prefix is harmless (listed once);
 * with two prefixes the kernel refuses the second `ip addr add` after the device was made.
 */
export const addressList = z
  .array(cidr)
  .transform((list) => [...new Set(list)].sort())
  .superRefine((list, ctx) => {
    const prefixes = new Map<string, string[]>();
    for (const entry of list) {
      const [address, prefix] = entry.split("/") as [string, string];
      prefixes.set(address, [...(prefixes.get(address) ?? []), prefix]);
    }
    for (const [address, seen] of prefixes) {
      if (seen.length > 1)
        ctx.addIssue({
          code: "custom",
          message: `lists ${address} with prefixes ${seen.map((p) => `/${p}`).join(" and ")}; a device holds an address once, with one prefix`,
        });
    }
  })
  .describe("addresses in CIDR form");

/** The kernel's ifalias holds 255 bytes (IFALIASZ 256 with the NUL). */
export const IFALIAS_MAX_BYTES = 255;
/** What the engine puts before the user's alias: "netdev#" + a 12-hex-digit owner token + a space (engine.ts). */
export const OWNER_TAG_BYTES = "netdev#".length + 12 + 1;
export const ALIAS_MAX_BYTES = IFALIAS_MAX_BYTES - OWNER_TAG_BYTES;

/** Free text the kernel stores (ifalias, after the owner tag): printable, no newlines, bounded in UTF-8 bytes. */
export const aliasText = z
  .string()
  .regex(/^[^\0-\x1f\x7f]*$/, "must not contain control characters or newlines")
  .refine((alias) => !alias.endsWith("\\"), "must not end in a backslash: in the .link file that persist writes, systemd would join it with the next line")
  .superRefine((alias, ctx) => {
    const bytes = Buffer.byteLength(alias, "utf8");
    if (bytes > ALIAS_MAX_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `must be at most ${ALIAS_MAX_BYTES} bytes in UTF-8 (it is ${bytes}): the kernel's ifalias holds ${IFALIAS_MAX_BYTES}, and the owner tag takes ${OWNER_TAG_BYTES}`,
      });
    }
  });
