import type { Host } from "../../engine/host-interface";
import { isIpError } from "../../engine/ip-errors";
import type { Step } from "../../engine/steps";
import { type PeerState, peerArgs, peerLines } from "../../kinds/wireguard/wireguard";
import type { MemberDevice } from "../members";

/**
 * One WireGuard interface's peers on one host, as a peer list sees them: the `wg set` step
 * from one list to another, and what the host has. Only public keys, endpoints, allowed IPs
 * and keepalives: never the interface's private key.
 */

/**
 * The one `wg set` step from list `before` to list `after`: a removal of each peer that left,
 * the settings of each peer that joined or changed; none when nothing differs. Peers in neither
 * list (added by hand, or by the interface's own `peers`) are never named. Removing a peer that
 * is not there and setting one that is are both no error for `wg`, so the step is idempotent.
 */
export function peerSteps(device: MemberDevice, before: readonly PeerState[], after: readonly PeerState[]): Step[] {
  const args = peerArgs(before, after);
  return args.length ? [{ field: "peers", tool: "wg", netns: device.netns, args: ["set", device.name, ...args] }] : [];
}

/**
 * The interface's peers as the host has them, sorted by public key; undefined when the
 * interface (or its namespace) is not there. Three reads sent together (the pool runs reads
 * that overlap as one command): `wg show <dev> endpoints|allowed-ips|persistent-keepalive`,
 * never `dump`, whose first line is the private key. A peer's endpoint is reported only where
 * `configured` gives it one: one learnt from a handshake (roaming) is WireGuard working, not drift.
 */
export async function peersOn(host: Host, device: MemberDevice, configured: readonly PeerState[]): Promise<PeerState[] | undefined> {
  const show = (what: string) => host.exec({ tool: "wg", netns: device.netns, args: ["show", device.name, what], idempotent: true });
  const results = await Promise.all(["endpoints", "allowed-ips", "persistent-keepalive"].map(show));
  const failed = results.find((result) => result.exitCode !== 0);
  if (failed) {
    if (isIpError(failed.stderr, "device-missing", "namespace-missing")) return undefined;
    throw new Error(`reading the peers of ${device.name} on ${host.endpoint}: ${failed.stderr.trim()}`);
  }
  const [endpoints, allowedIps, keepalives] = results.map((result) => new Map(peerLines(result.stdout))) as [
    Map<string, string>,
    Map<string, string>,
    Map<string, string>,
  ];
  const configuredEndpoint = new Map(configured.map((peer) => [peer.publicKey, peer.endpoint]));
  return [...allowedIps]
    .map(([publicKey, ips]): PeerState => {
      const endpoint = endpoints.get(publicKey);
      const keepalive = keepalives.get(publicKey);
      return {
        publicKey,
        ...(endpoint && endpoint !== "(none)" && configuredEndpoint.get(publicKey) !== undefined ? { endpoint } : {}),
        allowedIps: ips === "(none)" || ips === "" ? [] : ips.split(/\s+/).sort(),
        ...(keepalive && keepalive !== "off" && Number(keepalive) > 0 ? { persistentKeepalive: Number(keepalive) } : {}),
      };
    })
    .sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
}
