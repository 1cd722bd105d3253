import { PERSIST_PROBE_LINES, type PersistSupport, parsePersistSupport } from "../persist/host-probe";
import { quoteArgv } from "../ssh/quote";
import { classifyIpError } from "./ip-errors";

/**
 * What one round trip learns about a host before the first change there (preflight.ts): the
 * script that asks (pure, fixed text: the only variable part is a namespace name this module
 * makes, passed as a positional argument) and the parse of its answer.
 *
 * Kernel support is learnt by trying: `ip link add` of each kind inside a throwaway namespace,
 * removed again in the same script. That answers exactly what a create would (a builtin, a
 * module loaded on demand, or "Unknown device type") where probing by name cannot (builtins are
 * not in /sys/module, and a host may have no /lib/modules at all).
 */

/** How the probe makes one device of a kind: the fewest arguments `ip` accepts for it. */
interface KindProbe {
  /** After `ip link add name <probe device>`; a kind on a parent gets `link <parent>` first. */
  args: string[];
  /** macvlan, ipvlan, vlan: made on a parent (a veth, or a bridge where veth is missing). */
  onParent?: boolean;
  /** tun/tap: made by `ip tuntap add` rather than `ip link add`. */
  tuntap?: boolean;
  /**
   * Loading its module adds devices to every namespace, the host's own included (bonding's
   * bond0, dummy's dummy0, ip_gre's gre0/gretap0/erspan0, ifb's ifb0/ifb1): probed only for a resource of the
   * kind, never on the side.
   */
  sideEffects?: boolean;
}

/** Keyed by the kernel's kind name (a DeviceKind's first infoKinds entry). A kind missing here is probed as `type <kind>`. */
const KIND_PROBES: Record<string, KindProbe> = {
  bridge: { args: ["type", "bridge"] },
  veth: { args: ["type", "veth", "peer", "name", "ndpfvethpeer"] },
  macvlan: { args: ["type", "macvlan", "mode", "bridge"], onParent: true },
  ipvlan: { args: ["type", "ipvlan", "mode", "l2"], onParent: true },
  vlan: { args: ["type", "vlan", "id", "42"], onParent: true },
  vxlan: { args: ["type", "vxlan", "id", "42", "dstport", "4789"] },
  geneve: { args: ["type", "geneve", "id", "42", "remote", "192.0.2.1"] },
  vrf: { args: ["type", "vrf", "table", "4242"] },
  wireguard: { args: ["type", "wireguard"] },
  tun: { args: ["mode", "tap"], tuntap: true },
  dummy: { args: ["type", "dummy"], sideEffects: true },
  bond: { args: ["type", "bond"], sideEffects: true },
  gre: { args: ["type", "gre", "remote", "192.0.2.1"], sideEffects: true },
  ifb: { args: ["type", "ifb"], sideEffects: true },
};

/** Kinds probed on a host's first probe whatever its resources are: those whose probe leaves nothing behind. */
export const SIDE_EFFECT_FREE_KINDS = Object.keys(KIND_PROBES).filter((kind) => !KIND_PROBES[kind]!.sideEffects);

/** Tools looked up with `command -v` (`ip` itself is judged by its -json and -batch answers). */
export const PROBED_TOOLS = ["wg", "bridge", "sysctl"] as const;
export type ProbedTool = (typeof PROBED_TOOLS)[number];

const PARENT = "ndpfparent";
const PARENT_PEER = "ndpfparentpeer";

/** A probe device's name: "ndpf" and the kind, cut to the kernel's 15 characters. */
function probeDevice(kind: string): string {
  return `ndpf${kind.replace(/[^a-z0-9]/g, "")}`.slice(0, 15);
}

/** The argv that makes one device of `kind` in namespace `$1` (the script's first argument). */
function kindArgv(kind: string): string[] {
  const probe = KIND_PROBES[kind] ?? { args: ["type", kind] };
  const name = probeDevice(kind);
  if (probe.tuntap) return ["ip", "-n", "$1", "tuntap", "add", "name", name, ...probe.args];
  return ["ip", "-n", "$1", "link", "add", ...(probe.onParent ? ["link", PARENT] : []), "name", name, ...probe.args];
}

/** argv quoted for the script, with the literal `$1` left for the shell to expand (quoted). */
function scriptArgv(argv: string[]): string {
  return argv.map((arg) => (arg === "$1" ? '"$1"' : quoteArgv([arg]))).join(" ");
}

// Reads only, on the host: `ip`'s version, whether it speaks -json and -batch, the tools, who we
// are, and what persistence needs (persist/host-probe.ts), so that no check costs a round trip of its own.
const BASE_PROBE = [
  'echo "ip $(ip -V 2>&1 | head -n 1)"',
  'if ip -json link show dev lo >/dev/null 2>&1; then echo "json ok"; else echo "json no"; fi',
  'if printf \'link show dev lo\\n\' | ip -batch - >/dev/null 2>&1; then echo "batch ok"; else echo "batch no"; fi',
  ...PROBED_TOOLS.map((tool) => `if command -v ${tool} >/dev/null 2>&1; then echo "tool ${tool} ok"; else echo "tool ${tool} no"; fi`),
  'echo "uid $(id -u 2>/dev/null)"',
  'echo "capeff $(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status 2>/dev/null)"',
  // With `sudo: true` this script runs through sudo like any command, so `uid` is the uid commands
  // run as, and a sudo that refuses fails the probe itself with its advice (SudoError).
  ...PERSIST_PROBE_LINES,
];

/** Where a host keeps what probes found its kernel can make (with its boot id: a reboot starts afresh). */
export const PROBE_CACHE_DIR = "/run/netdev";

/**
 * The probe script, run as `sh -c <script> sh <namespace>`: with `base`, the host's tools,
 * privileges and persistence support; then, when `required` asks for kinds or `namespaces`, the
 * kernel's answers. Each answer is one line: `<what> ok|no [why]` (persistence's: `<key>=<value>`).
 *
 * Kernel answers: what an earlier probe since the host's last boot found it can make (a kind
 * made, `ip netns add` working) is kept in PROBE_CACHE_DIR, per login, and printed first; a kind, once made,
 * stays makeable until the next boot. When that covers `required` and the namespace question,
 * nothing is tried. Otherwise every kind of `kinds` not covered is tried in the throwaway
 * namespace `$1` (whose making answers whether `ip netns` works there), which the same script
 * removes with every probe device in it; what was made is added to the cache. A failure is never
 * kept: the next probe tries again (a module installed since).
 */
export function probeScript(
  kinds: readonly string[],
  base: boolean,
  required: { kinds: readonly string[]; namespaces: boolean } = { kinds, namespaces: kinds.length > 0 },
  cacheDir = PROBE_CACHE_DIR,
): string {
  const lines = base ? [...BASE_PROBE] : [];
  if (required.kinds.length === 0 && !required.namespaces) return lines.join("\n");
  const tried = [...new Set([...kinds, ...required.kinds])];
  const parentNeeded = tried.some((kind) => KIND_PROBES[kind]?.onParent);
  const known = (line: string) => `known ${quoteArgv([line])}`;
  lines.push(
    // Per login too: whether a namespace can be made depends on who asks.
    `c=; b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) && u=$(id -u 2>/dev/null) && [ -n "$b" ] && c=${quoteArgv([`${cacheDir}/probe-`])}"$b-$u"`,
    'known() { [ -n "$c" ] && grep -qxF "$1" "$c" 2>/dev/null; }',
    `note() { echo "$1"; [ -n "$c" ] && { mkdir -p ${quoteArgv([cacheDir])} && printf '%s\\n' "$1" >>"$c"; } 2>/dev/null; }`,
    // Only lines of the answers' own form are taken from the file.
    '[ -n "$c" ] && grep -xE \'kind [a-z0-9]+ ok|netns ok\' "$c" 2>/dev/null',
    // The command's stderr, on one line; its stdout is dropped.
    'try() { k=$1; shift; known "kind $k ok" && return; if e=$("$@" 2>&1 >/dev/null); then note "kind $k ok"; else echo "kind $k no $(printf %s "$e" | tr "\\n" " ")"; fi; }',
    `if ${[known("netns ok"), ...required.kinds.map((kind) => known(`kind ${kind} ok`))].join(" && ")}; then :; else`,
    '  ip netns del "$1" 2>/dev/null',
    '  if e=$(ip netns add "$1" 2>&1); then',
    '    known "netns ok" || note "netns ok"',
    ...(parentNeeded
      ? [
          `    ${scriptArgv(["ip", "-n", "$1", "link", "add", "name", PARENT, "type", "veth", "peer", "name", PARENT_PEER])} 2>/dev/null || ${scriptArgv(["ip", "-n", "$1", "link", "add", "name", PARENT, "type", "bridge"])} 2>/dev/null`,
        ]
      : []),
    ...tried.map((kind) => `    try ${quoteArgv([kind])} ${scriptArgv(kindArgv(kind))}`),
    '    ip netns del "$1"',
    '  else echo "netns no $(printf %s "$e" | tr "\\n" " ")"; fi',
    "fi",
  );
  return lines.join("\n");
}

/** What a kind's probe answered: made; refused because the kernel lacks it; or something else (not held against it). */
export type KindSupport = { state: "present" } | { state: "missing"; answer: string } | { state: "unknown"; answer: string };

/** Everything one probe said about a host. */
export interface ProbeAnswer {
  /** `ip -V`'s first line, when the base was probed. */
  ipVersion?: string;
  json?: boolean;
  batch?: boolean;
  tools: Partial<Record<ProbedTool, boolean>>;
  uid?: number;
  /** CapEff from /proc/self/status, as hex. */
  capEff?: string;
  /** Whether `ip netns add` works (the throwaway namespace was made), when kinds were probed. */
  netns?: KindSupport;
  /** What persistence needs, when the base was probed. */
  persist?: PersistSupport;
  kinds: Map<string, KindSupport>;
}

/** Whether the probe's answer for a kind means the kernel cannot make it at all. */
function kindSupport(kind: string, ok: boolean, answer: string): KindSupport {
  if (ok) return { state: "present" };
  const error = classifyIpError(answer);
  if (error === "unknown-device-type" || error === "not-supported") return { state: "missing", answer };
  // `ip tuntap add` without the tun driver: there is no /dev/net/tun to open.
  if (kind === "tun" && /\/dev\/net\/tun|No such (file|device)/i.test(answer)) return { state: "missing", answer };
  return { state: "unknown", answer };
}

/**
 * Whether a refused `ip netns add` means no namespace can be made there at all: the login may not
 * (mounting /run/netns, unshare), the kernel lacks CONFIG_NET_NS (unshare: Invalid argument), or
 * the `ip` has no netns (busybox's applet prints its usage). Anything else is not held against it.
 */
function netnsSupport(answer: string): KindSupport {
  if (/Operation not permitted|Permission denied|Invalid argument|BusyBox|Usage: ip|Object "netns" is unknown/i.test(answer))
    return { state: "missing", answer };
  return { state: "unknown", answer };
}

/**
 * The probe's answer, line by line: every kind it answered (asked for, or known from an earlier
 * probe). `kinds` are those that must be answered: one without a line (the throwaway namespace
 * could not be made, the script was cut short) is unknown, not missing.
 */
export function parseProbe(stdout: string, kinds: readonly string[]): ProbeAnswer {
  const answer: ProbeAnswer = { tools: {}, kinds: new Map() };
  let netnsFailure: string | undefined;
  for (const line of stdout.split("\n")) {
    const [word, ...rest] = line.trim().split(" ");
    const value = rest.join(" ");
    if (word === "ip") answer.ipVersion = value.trim();
    else if (word === "json") answer.json = value === "ok";
    else if (word === "batch") answer.batch = value === "ok";
    else if (word === "tool" && (PROBED_TOOLS as readonly string[]).includes(rest[0] ?? "")) answer.tools[rest[0] as ProbedTool] = rest[1] === "ok";
    else if (word === "uid" && /^\d+$/.test(value)) answer.uid = Number(value);
    else if (word === "capeff" && /^[0-9a-f]+$/i.test(value)) answer.capEff = value;
    else if (word === "netns" && rest[0] === "ok") answer.netns = { state: "present" };
    else if (word === "netns" && rest[0] === "no") netnsFailure = rest.slice(1).join(" ").trim();
    else if (word === "kind" && rest[0] && /^[a-z0-9]+$/.test(rest[0]) && (rest[1] === "ok" || rest[1] === "no")) {
      answer.kinds.set(rest[0], kindSupport(rest[0], rest[1] === "ok", rest.slice(2).join(" ").trim()));
    }
  }
  if (netnsFailure !== undefined) answer.netns = netnsSupport(netnsFailure);
  const persist = parsePersistSupport(stdout);
  if (persist) answer.persist = persist;
  for (const kind of kinds) {
    if (!answer.kinds.has(kind))
      answer.kinds.set(kind, { state: "unknown", answer: netnsFailure ? `no throwaway namespace to try it in: ${netnsFailure}` : "no answer" });
  }
  return answer;
}

/** The kernel kind a probe tries for a device kind: its first info kind (gre and gretap share one module). */
export function probeKindOf(infoKinds: readonly string[]): string {
  return infoKinds[0] ?? "";
}

/** A name for the throwaway namespace: fresh per probe, so probes of two runs at once cannot meet. */
export function probeNamespace(): string {
  return `ndpf${Math.random().toString(16).slice(2, 10).padEnd(8, "0")}`;
}
