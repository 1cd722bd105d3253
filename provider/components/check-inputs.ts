import { canonicalIp } from "../engine/fields";
import { isWireguardKey } from "../kinds/wireguard/wireguard";
import { PlanInputError } from "./errors";

/**
 * The checks a planner makes on a value before it derives anything from it (a family, a public
 * key), so that a bad value is refused naming the host and field instead of failing deep in
 * the derivation (node:crypto's OpenSSL errors name neither).
 */

/** The canonical form of an IP address, or a PlanInputError naming host and field. */
export function requireIp(value: unknown, field: string, host?: string): string {
  const canonical = typeof value === "string" ? canonicalIp(value.trim()) : undefined;
  if (!canonical) throw new PlanInputError(field, `${JSON.stringify(value)} is not an IPv4 or IPv6 address`, host);
  return canonical;
}

/** An address in CIDR form ("10.0.0.1/24", "fd00::1/64"), or a PlanInputError naming host and field. */
export function requireCidr(value: unknown, field: string, host?: string): string {
  const match = typeof value === "string" ? /^([^/]+)\/(\d{1,3})$/.exec(value.trim()) : null;
  const address = match ? canonicalIp(match[1]!) : undefined;
  const prefix = Number(match?.[2]);
  if (!address || !(prefix >= 0 && prefix <= (address.includes(":") ? 128 : 32))) {
    throw new PlanInputError(field, `${JSON.stringify(value)} is not an address in CIDR form like 10.0.0.1/24 or fd00::1/64`, host);
  }
  return `${address}/${prefix}`;
}

/** A WireGuard private key (trimmed), or a PlanInputError that never quotes the value: a malformed key is still secret material. */
export function requireWireguardKey(value: unknown, field: string, host?: string): string {
  const key = typeof value === "string" ? value.trim() : "";
  if (!isWireguardKey(key))
    throw new PlanInputError(
      field,
      "is not a WireGuard private key: 44 characters of base64 encoding 32 bytes, as `wg genkey` prints (the value is not shown: it is a secret)",
      host,
    );
  return key;
}
