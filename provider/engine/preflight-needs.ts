import type { KindSupport, ProbeAnswer, ProbedTool } from "./preflight-probe";

/**
 * What a resource needs of its host, what of it the host lacks, and the one message that says
 * so with how to get each missing piece. Pure: the unit tier checks the messages.
 */

/** What one resource needs of its host. */
export interface Needs {
  /** The resource class, e.g. "Dummy". */
  resourceType: string;
  /** The kernel's kind to try (probeKindOf), and how errors name it (DeviceKind.kernelFeature). */
  kernelKind?: { kind: string; feature: string };
  /** Tools its commands run besides `ip` and `sh` (wg for WireGuard, bridge for VXLAN's FDB). */
  tools: ProbedTool[];
  /** Whether it makes or enters named namespaces (`ip netns add`, `ip -n`): a NetworkNamespace, anything with `netns`. */
  namespaces?: boolean;
  // sudo: `sudo?: boolean` goes here (the connection asks for sudo, so "sudo works" must hold).
}

/** The facts about a host that decide a resource's needs (merged from its probes). */
export interface HostFacts extends Omit<ProbeAnswer, "kinds"> {
  kinds: ReadonlyMap<string, KindSupport>;
}

/** One missing piece: what it is, what the host answered, and how to get it. */
export interface Missing {
  what: string;
  answer?: string;
  remedy: string;
}

/** Kernel option and module of each kind (keyed as preflight-probe.ts's probes). */
const KERNEL_OPTIONS: Record<string, { option: string; module: string }> = {
  bridge: { option: "CONFIG_BRIDGE", module: "bridge" },
  veth: { option: "CONFIG_VETH", module: "veth" },
  macvlan: { option: "CONFIG_MACVLAN", module: "macvlan" },
  ipvlan: { option: "CONFIG_IPVLAN", module: "ipvlan" },
  vlan: { option: "CONFIG_VLAN_8021Q", module: "8021q" },
  vxlan: { option: "CONFIG_VXLAN", module: "vxlan" },
  geneve: { option: "CONFIG_GENEVE", module: "geneve" },
  gre: { option: "CONFIG_NET_IPGRE", module: "ip_gre" },
  vrf: { option: "CONFIG_NET_VRF", module: "vrf" },
  wireguard: { option: "CONFIG_WIREGUARD", module: "wireguard" },
  tun: { option: "CONFIG_TUN", module: "tun" },
  dummy: { option: "CONFIG_DUMMY", module: "dummy" },
  bond: { option: "CONFIG_BONDING", module: "bonding" },
  ifb: { option: "CONFIG_IFB", module: "ifb" },
};

const TOOL_REMEDIES: Record<ProbedTool, { what: string; remedy: string }> = {
  wg: { what: "the `wg` tool", remedy: "install wireguard-tools (Debian/Ubuntu: apt install wireguard-tools; RHEL/Fedora: dnf install wireguard-tools)" },
  bridge: { what: "iproute2's `bridge` tool", remedy: "install iproute2 (Debian/Ubuntu: apt install iproute2; RHEL/Fedora: dnf install iproute)" },
  sysctl: { what: "the `sysctl` tool", remedy: "install procps (Debian/Ubuntu: apt install procps; RHEL/Fedora: dnf install procps-ng)" },
};

const IPROUTE2 = "Debian/Ubuntu: apt install iproute2; RHEL/Fedora: dnf install iproute";

/** CAP_NET_ADMIN's bit in a capability mask. */
const CAP_NET_ADMIN = 12n;

function mayAdministerNetwork(facts: HostFacts): boolean | undefined {
  if (facts.uid === 0) return true;
  if (facts.capEff !== undefined) return ((BigInt(`0x${facts.capEff}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  return facts.uid === undefined ? undefined : false;
}

/**
 * What of `needs` the host lacks, per its facts. Only what the probe positively found missing
 * counts: an answer it could not read (unknown) is left to the create itself.
 */
export function missingFor(needs: Needs, facts: HostFacts): Missing[] {
  const missing: Missing[] = [];
  if (mayAdministerNetwork(facts) === false) {
    missing.push({
      what: "the right to manage network devices",
      answer: `logged in as uid ${facts.uid}, without CAP_NET_ADMIN`,
      remedy: "log in as root (`user: root`, the default), or as a user with CAP_NET_ADMIN; the README's sudo section covers non-root logins",
    });
  }
  if (facts.json === false) {
    missing.push({
      what: "`ip -json` (iproute2's JSON output)",
      answer: facts.ipVersion || "no `ip` found",
      remedy: `install a newer iproute2, 4.15 or later (${IPROUTE2}); busybox's ip applet is not enough`,
    });
  }
  if (facts.batch === false) {
    missing.push({
      what: "`ip -batch -` (iproute2's batch mode)",
      answer: facts.ipVersion || "no `ip` found",
      remedy: `install iproute2 (${IPROUTE2}); busybox's ip applet is not enough`,
    });
  }
  if (needs.namespaces && facts.netns?.state === "missing") {
    const refused = /Operation not permitted|Permission denied/i.test(facts.netns.answer);
    // A login without the right to manage the network is told so above: the same remedy.
    if (!(refused && mayAdministerNetwork(facts) === false))
      missing.push({ what: "named network namespaces (`ip netns`)", answer: facts.netns.answer, remedy: netnsRemedy(facts.netns.answer) });
  }
  const kernel = needs.kernelKind;
  const support = kernel ? facts.kinds.get(kernel.kind) : undefined;
  if (kernel && support?.state === "missing") {
    missing.push({ what: `kernel support for ${kernel.feature}`, answer: support.answer, remedy: kernelRemedy(kernel.kind) });
  }
  for (const tool of needs.tools) {
    if (facts.tools[tool] === false) missing.push({ ...TOOL_REMEDIES[tool], answer: "not found in the login's PATH" });
  }
  return missing;
}

/** How to get `ip netns` working, by what refused the throwaway namespace. */
function netnsRemedy(answer: string): string {
  if (/Operation not permitted|Permission denied/i.test(answer))
    return "making a namespace takes CAP_SYS_ADMIN besides CAP_NET_ADMIN: log in as root, or set `sudo: true` (the README's sudo section); a container needs CAP_SYS_ADMIN (docker run --cap-add SYS_ADMIN)";
  if (/BusyBox|Usage: ip|Object "netns" is unknown/i.test(answer)) return `install iproute2 (${IPROUTE2}); busybox's ip applet has no netns`;
  return "a kernel with network namespaces (CONFIG_NET_NS=y: every distribution kernel has it)";
}

function kernelRemedy(kind: string): string {
  const known = KERNEL_OPTIONS[kind];
  const option = known ? `${known.option} (module ${known.module})` : `the kernel option for ${kind}`;
  return (
    `a kernel with ${option}: load it with \`modprobe ${known?.module ?? kind}\` where the module is installed; ` +
    "distribution kernels ship it (Debian: linux-image-*, Ubuntu: linux-modules-extra-$(uname -r), RHEL/Fedora: kernel-modules or kernel-modules-extra); " +
    `a kernel built without it needs ${known?.option ?? "that option"}=m or =y. A container or a VM with a fixed kernel cannot load modules: its host's kernel decides`
  );
}

/** Kernel kinds the probes found missing on the host, for the note on what else it lacks. */
export function missingKinds(facts: HostFacts): string[] {
  return [...facts.kinds].filter(([, support]) => support.state === "missing").map(([kind]) => kind);
}

/**
 * The one message for a resource refused before anything ran on its host: the host, every
 * missing piece with what the host answered and how to get it, and the other kinds the host
 * was found to lack, so one run tells the whole story of a host. Starts "kernel on <host>
 * lacks <feature> support" when the kind is missing, as the create's own refusal would.
 */
export function capabilityMessage(endpoint: string, where: string, needs: Needs, missing: Missing[], facts: HostFacts): string {
  const kernel = needs.kernelKind;
  const kernelMissing = kernel !== undefined && missing.some((item) => item.what === `kernel support for ${kernel.feature}`);
  const headline = kernelMissing ? `kernel on ${endpoint} lacks ${kernel.feature} support, which ${where} needs` : `${endpoint} lacks what ${where} needs`;
  const lines = [
    `${headline}; nothing was changed there. Missing on ${endpoint}:`,
    ...missing.map((item) => `  - ${item.what}${item.answer ? ` (the host answered: ${item.answer})` : ""}: ${item.remedy}`),
  ];
  const others = missingKinds(facts).filter((kind) => kind !== kernel?.kind);
  if (others.length) lines.push(`  The kernel there also lacks: ${others.map((kind) => KERNEL_OPTIONS[kind]?.module ?? kind).join(", ")}.`);
  return lines.join("\n");
}
