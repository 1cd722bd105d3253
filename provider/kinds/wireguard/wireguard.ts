import { createPrivateKey, createPublicKey } from "node:crypto";
import { z } from "zod";
import { canonicalIp, networkCidr } from "../../engine/fields";
import { defineKind, type Step } from "../../engine/kind";
import type { Host } from "../../engine/host-interface";

/**
 * A WireGuard interface (`ip link add … type wireguard`, configured with `wg set`). The
 * private key is a secret field: it reaches the host only on the stdin of `wg set … private-key
 * /proc/self/fd/0`, never in argv (readable in /proc by every user of the host), is sealed as a
 * Pulumi secret in state, and is never read back: `wg show` is asked only for what it prints
 * without the key (public-key, listen-port, fwmark, endpoints, allowed-ips,
 * persistent-keepalive), never `dump` or `showconf`, whose output starts with it.
 */

/** 32 bytes in base64, as `wg genkey`/`wg pubkey` print them: 43 characters and one "=". */
const KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Whether `key` is a WireGuard key in that form (the components check a key before deriving from it). */
export function isWireguardKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** What read reports as privateKey when the host's key is not the desired one (never the host's key). */
export const HOST_KEY_DIFFERS = "(host key differs)";

// The messages never quote the value: a malformed private key is still secret material.
const keyText = (what: string) =>
  z
    .string()
    // A key piped from a file (`wg genkey > key`) ends in a newline.
    .transform((value) => value.trim())
    .refine(
      (value) => KEY_PATTERN.test(value),
      `must be a WireGuard ${what}: 44 characters of base64 encoding 32 bytes, as \`wg ${what === "private key" ? "genkey" : "pubkey"}\` prints`,
    );

/** A WireGuard private key as an input takes it (trimmed); its messages never quote the value. */
export const wireguardPrivateKey = keyText("private key");

/** PKCS#8 DER of an X25519 private key is this fixed prefix followed by the 32 key bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The WireGuard public key of a private key (X25519, as `wg pubkey` derives it), computed locally. */
export function wireguardPublicKey(privateKey: string): string {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey.trim(), "base64")]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

/** "1.2.3.4:51820" or "[fd00::1]:51820": an address, not a name (wg would resolve a name once, and the host would then report the address). */
const endpoint = z.string().transform((value, ctx) => {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const v6 = match?.[1] !== undefined;
  const address = match ? canonicalIp((match[1] ?? match[2])!) : undefined;
  const port = match ? Number(match[3]) : NaN;
  if (!address || address.includes(":") !== v6 || !(port >= 1 && port <= 65535)) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not an endpoint like 192.0.2.1:51820 or [2001:db8::1]:51820 (an IP address and a port 1-65535)` });
    return z.NEVER;
  }
  return v6 ? `[${address}]:${port}` : `${address}:${port}`;
});

/** One peer of an interface, as `peers` lists it (and a WireguardPeerLists member's `asPeer`). */
export const wireguardPeer = z
  .strictObject({
    publicKey: keyText("public key").describe("The peer's public key (`wg pubkey`), 44 characters of base64."),
    endpoint: endpoint
      .optional()
      .describe(
        'Where the peer is reached, an IP address and port: "192.0.2.1:51820" or "[2001:db8::1]:51820"; omitted, the peer must reach this interface first.',
      ),
    // Host bits must be clear: the kernel clears them, and state would never match.
    allowedIps: z
      .array(networkCidr)
      .transform((list) => [...new Set(list)].sort())
      .default([])
      .describe('Networks routed to this peer and accepted from it, in CIDR form with host bits clear, e.g. ["10.100.0.2/32"].'),
    persistentKeepalive: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe("Seconds between keepalives, to keep a NAT mapping open (25 is usual); 0 (off) is the same as leaving it out."),
  })
  .transform(({ persistentKeepalive, ...rest }) => ({ ...rest, ...(persistentKeepalive ? { persistentKeepalive } : {}) }));

export type WireguardPeer = z.output<typeof wireguardPeer>;

/**
 * A list of peers, sorted by public key (and each one's allowedIps sorted), so diffs do not
 * depend on the order written; a public key listed twice is refused. WireguardPeerLists
 * (provider/objects/wg-peer-lists) takes the same list per member.
 */
export const wireguardPeerList = z
  .array(wireguardPeer)
  .transform((list) => [...list].sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0)))
  .superRefine((list, ctx) => {
    for (let i = 1; i < list.length; i++)
      if (list[i]!.publicKey === list[i - 1]!.publicKey) ctx.addIssue({ code: "custom", message: `lists the peer ${list[i]!.publicKey} twice` });
  });

/** A peer as the engine compares and `wg set` takes it. */
export interface PeerState {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
}

export const wireguardKind = defineKind({
  resourceType: "WireguardInterface",
  summary: "A WireGuard interface and its peers; `privateKey` is always kept as a secret and reaches the host only on stdin.",
  infoKinds: ["wireguard"],
  kernelFeature: "wireguard",
  example: {
    privateKey: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    listenPort: 51820,
    fwmark: 7,
    peers: [{ publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", endpoint: "10.0.0.2:51820", allowedIps: ["10.100.0.2/32"], persistentKeepalive: 25 }],
  },
  fields: {
    // A secret: see secretFields.
    privateKey: wireguardPrivateKey.describe(
      "The interface's private key (`wg genkey`). Always kept as a secret, and passed to the host only on stdin, never in a command line.",
    ),
    listenPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("The UDP port the interface listens on (51820 is usual); omitted, the kernel picks a free one."),
    fwmark: z.number().int().min(0).max(0xffff_ffff).optional().describe("Mark on the interface's own UDP packets (for policy routing); 0 clears it."),
    peers: wireguardPeerList
      .optional()
      .describe(
        "The peers this interface talks to, each by its public key; the interface holds exactly these. Omitted: peers are not managed and stay as they are (a WireguardPeerLists may hold them).",
      ),
  },
  secretFields: ["privateKey"],
  refine: (inputs) => {
    // Refinements may run beside a field's own failure: derive only from a well-formed key.
    if (!KEY_PATTERN.test(inputs.privateKey ?? "")) return undefined;
    const own = wireguardPublicKey(inputs.privateKey);
    if (inputs.peers?.some((p) => p.publicKey === own)) return { field: "peers", message: "lists the interface's own public key as a peer" };
    return undefined;
  },
  replaceOn: [],
  createArgs: () => ["type", "wireguard"],
  // On create the device has nothing configured: everything the inputs set is one step each.
  afterCreate: (inputs) => wgSetSteps(inputs, { peers: [] }),
  update: (desired, actual, previous) => wgSetSteps(desired, actual, previous),
  async read(link, host, netns, inputs) {
    return readWireguard(host, netns, link.ifname, inputs);
  },
  outputs: {
    fields: {
      publicKey: z.string().optional().describe("The public key the interface actually has on the host (derived from privateKey): give it to the peers."),
    },
    // The key the host actually has (what peers must be given); undefined when none is set.
    compute: (actual) => ({ publicKey: actual.publicKey }),
  },
});

type Desired = { name: string; netns?: string; privateKey: string; listenPort?: number; fwmark?: number; peers?: PeerState[] };

/**
 * The `wg set` steps that move the device from `actual` to `desired`, one per field (so a
 * failure names its field); only the private key's step takes stdin.
 */
function wgSetSteps(desired: Desired, actual: Record<string, unknown>, previous?: Record<string, unknown>): Step[] {
  const set = (field: string, args: string[], stdin?: string): Step => ({
    field,
    tool: "wg",
    netns: desired.netns,
    args: ["set", desired.name, ...args],
    ...(stdin !== undefined ? { stdin } : {}),
  });
  const steps: Step[] = [];
  // /proc/self/fd/0 rather than /dev/stdin: that symlink is made by udev or systemd, which a
  // minimal host (the lab VMs' busybox init, containers) may not have; /proc is always there.
  if (desired.privateKey !== actual.privateKey) steps.push(set("privateKey", ["private-key", "/proc/self/fd/0"], `${desired.privateKey}\n`));
  if (desired.listenPort !== undefined && desired.listenPort !== actual.listenPort) steps.push(set("listenPort", ["listen-port", String(desired.listenPort)]));
  if (desired.fwmark !== undefined && desired.fwmark !== actual.fwmark)
    steps.push(set("fwmark", ["fwmark", desired.fwmark === 0 ? "off" : String(desired.fwmark)]));
  // Omitting peers stops managing them and leaves them as they are (`[]` removes them all): an
  // EncryptedOverlay's interfaces hand their peers to its WireguardPeerLists this way, which sets
  // the same peers again, so an upgraded overlay keeps its tunnels without a gap.
  if (desired.peers === undefined) return steps;
  // The host's endpoints are read only where the new inputs set one (roaming is no drift): an
  // endpoint the previous inputs set and these drop is taken as still there, so it is cleared.
  const configuredBefore = new Map(((previous?.peers as PeerState[] | undefined) ?? []).map((p) => [p.publicKey, p.endpoint]));
  const present = ((actual.peers as PeerState[] | undefined) ?? []).map((p) =>
    p.endpoint === undefined && configuredBefore.get(p.publicKey) !== undefined ? { ...p, endpoint: configuredBefore.get(p.publicKey) } : p,
  );
  const args = peerArgs(present, desired.peers);
  if (args.length) steps.push(set("peers", args));
  return steps;
}

/**
 * `wg set` arguments that bring the peers `from` (those to consider: what the host has, or what
 * a list held before) to `to`: a removal for each key of `from` not in `to`, the whole settings
 * of each peer of `to` that is new or differs. Peers outside both lists are never named.
 */
export function peerArgs(from: readonly PeerState[], to: readonly PeerState[]): string[] {
  const wantedKeys = new Set(to.map((p) => p.publicKey));
  const args: string[] = [];
  for (const p of from) if (!wantedKeys.has(p.publicKey)) args.push("peer", p.publicKey, "remove");
  for (const p of to) {
    const now = from.find((q) => q.publicKey === p.publicKey);
    if (now && samePeer(now, p)) continue;
    // `wg` cannot unset an endpoint: a peer whose endpoint is dropped is removed and set afresh
    // (its session starts again at the next handshake, from whichever side).
    if (now?.endpoint !== undefined && p.endpoint === undefined) args.push("peer", p.publicKey, "remove");
    // allowed-ips replaces the peer's whole list ("" empties it); keepalive "off" clears it.
    args.push(
      "peer",
      p.publicKey,
      ...(p.endpoint ? ["endpoint", p.endpoint] : []),
      "allowed-ips",
      p.allowedIps.join(","),
      "persistent-keepalive",
      p.persistentKeepalive ? String(p.persistentKeepalive) : "off",
    );
  }
  return args;
}

function samePeer(a: PeerState, b: PeerState): boolean {
  return a.endpoint === b.endpoint && a.allowedIps.join(",") === b.allowedIps.join(",") && (a.persistentKeepalive ?? 0) === (b.persistentKeepalive ?? 0);
}

/** Lines of `wg show <dev> <what>` for peers: "<public key>\t<value>". */
export function peerLines(text: string): Array<[string, string]> {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [key, value = ""] = line.split("\t");
      return [key!.trim(), value.trim()];
    });
}

/**
 * The device's WireGuard settings, in input form. Six small reads, sent together (the pool
 * coalesces concurrent reads for a host into one exec). privateKey is the desired key when the
 * host's public key is the one derived from it, else HOST_KEY_DIFFERS: never the host's key.
 */
async function readWireguard(host: Host, netns: string | undefined, dev: string, inputs: { privateKey?: string; peers?: PeerState[] }) {
  const show = (what: string) => host.read({ tool: "wg", netns, args: ["show", dev, what] });
  const [publicKeyText, listenPortText, fwmarkText, endpoints, allowedIps, keepalives] = await Promise.all(
    ["public-key", "listen-port", "fwmark", "endpoints", "allowed-ips", "persistent-keepalive"].map(show),
  );
  const publicKey = publicKeyText.trim() === "(none)" || publicKeyText.trim() === "" ? undefined : publicKeyText.trim();
  const wantedPublicKey = typeof inputs.privateKey === "string" && KEY_PATTERN.test(inputs.privateKey) ? wireguardPublicKey(inputs.privateKey) : undefined;
  const fwmark = fwmarkText.trim();
  const endpointOf = new Map(peerLines(endpoints));
  const keepaliveOf = new Map(peerLines(keepalives));
  const configuredEndpoint = new Map((inputs.peers ?? []).map((p) => [p.publicKey, p.endpoint]));
  const peers: PeerState[] = peerLines(allowedIps)
    .map(([key, ips]) => {
      const endpoint = endpointOf.get(key);
      const keepalive = keepaliveOf.get(key);
      return {
        publicKey: key,
        // A peer without a configured endpoint gets one when it sends a handshake (roaming):
        // that is WireGuard working, not drift, so it is reported only where the inputs set one.
        ...(endpoint && endpoint !== "(none)" && (!inputs.peers || configuredEndpoint.get(key) !== undefined) ? { endpoint } : {}),
        allowedIps: ips === "(none)" || ips === "" ? [] : ips.split(/\s+/).sort(),
        ...(keepalive && keepalive !== "off" && Number(keepalive) > 0 ? { persistentKeepalive: Number(keepalive) } : {}),
      };
    })
    .sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  return {
    privateKey: publicKey !== undefined && publicKey === wantedPublicKey ? inputs.privateKey : HOST_KEY_DIFFERS,
    listenPort: Number(listenPortText.trim()) || undefined,
    fwmark: fwmark === "off" || fwmark === "" ? 0 : Number(fwmark),
    peers,
    publicKey,
  };
}
