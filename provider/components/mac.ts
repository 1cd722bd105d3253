import { createHash } from "node:crypto";

/**
 * A locally administered unicast MAC (0x02 bit set, multicast bit clear) from a hash of
 * `parts`: the same identity gives the same MAC on every run, so a device re-created by a
 * later `pulumi up` keeps the MAC its neighbours' ARP and FDB entries point to.
 */
export function stableMac(...parts: Array<string | number>): string {
  const digest = createHash("sha256").update(parts.join("\0")).digest();
  const bytes = [...digest.subarray(0, 6)];
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
