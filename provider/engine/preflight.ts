import { type Connection, connectionOf, poolKey } from "../ssh/connection";
import type { Host, HostFactory } from "./host-interface";
import type { DeviceKind, Step } from "./kind";
import { capabilityMessage, type HostFacts, missingFor, type Needs } from "./preflight-needs";
import {
  type KindSupport,
  type ProbeAnswer,
  PROBED_TOOLS,
  type ProbedTool,
  parseProbe,
  probeKindOf,
  probeNamespace,
  probeScript,
  SIDE_EFFECT_FREE_KINDS,
} from "./preflight-probe";
import { type CheckFailure, containsUnknown } from "./validation";

/**
 * Capabilities, checked once per host: before the first change on a host, one round trip
 * (preflight-probe.ts) learns what it offers, and a resource whose needs are missing fails
 * before anything runs there, with one message listing what is missing and how to get it
 * (preflight-needs.ts). The facts are kept per host for the provider process, so a whole run
 * pays one extra round trip per host; a second only for a kind whose probe has side effects
 * (bonding, dummy, ip_gre, ifb) that the first did not try.
 */

interface HostProbes {
  base: Promise<ProbeAnswer>;
  /** What probes answered per kernel kind. */
  answers: Map<string, KindSupport>;
  /** Kinds a probe in flight tries, until it settled and what it answered is in `answers`. */
  pending: Map<string, Promise<void>>;
  /** Whether `ip netns add` works: answered by the first probe that tried kinds (or recalled them). */
  netns?: Promise<KindSupport | undefined>;
}

/**
 * Per pooled connection (endpoint, jump path, credentials) over SSH, per Host object otherwise
 * (a fake host of the unit tier): what its probes found, or are finding.
 */
const probes = new Map<unknown, HostProbes>();

function keyOf(host: Host): unknown {
  const connection = (host as Host & { connection?: Connection }).connection;
  return connection ? poolKey(connection) : host;
}

async function runProbe(host: Host, kinds: string[], base: boolean, required: { kinds: string[]; namespaces: boolean }): Promise<ProbeAnswer> {
  const stdout = await host.read({ tool: "sh", args: ["-c", probeScript(kinds, base, required), "sh", probeNamespace()] });
  return parseProbe(stdout, required.kinds);
}

/** Records a probe started for `entry`: the kinds it tries are pending until it settles and its answers are in. */
function startProbe(entry: HostProbes, probe: Promise<ProbeAnswer>, tries: readonly string[], netns: boolean): void {
  const settled = probe.then(
    (answer) => {
      for (const [kind, support] of answer.kinds) entry.answers.set(kind, support);
    },
    () => undefined,
  );
  for (const kind of tries) entry.pending.set(kind, settled);
  void settled.then(() => {
    for (const kind of tries) if (entry.pending.get(kind) === settled) entry.pending.delete(kind);
  });
  if (netns) {
    const answer = probe.then((a) => a.netns);
    entry.netns = answer;
    // A probe that got no answer (host unreachable) is forgotten: the next operation asks again.
    answer.catch(() => {
      if (entry.netns === answer) entry.netns = undefined;
    });
  }
}

/**
 * What the host offers for these kernel kinds (and its tools), probing only what no earlier
 * probe answered. A caller that needs no kernel kind and no namespace (a flood list,
 * persistence's checks) gets the base probe alone. Kinds are tried in a throwaway namespace
 * (preflight-probe.ts), which costs the host a namespace made and removed: the first probe that
 * needs one tries every side-effect-free kind at once, so that one probe per host answers a
 * whole run; on a host whose earlier probes (since its boot) answered the kinds asked for, no
 * namespace is made at all, and what they answered is known here too.
 */
export async function hostFacts(host: Host, kernelKinds: readonly string[], namespaces = false): Promise<HostFacts> {
  const key = keyOf(host);
  const asked = [...new Set(kernelKinds)];
  const needsNetns = asked.length > 0 || namespaces;
  let entry = probes.get(key);
  if (!entry) {
    const tries = needsNetns ? [...new Set([...SIDE_EFFECT_FREE_KINDS, ...asked])] : [];
    const probe = runProbe(host, tries, true, { kinds: asked, namespaces: needsNetns });
    const created: HostProbes = { base: probe, answers: new Map(), pending: new Map() };
    entry = created;
    probes.set(key, created);
    startProbe(created, probe, tries, needsNetns);
    probe.catch(() => {
      if (probes.get(key) === created) probes.delete(key);
    });
  }
  const base = await entry.base;
  // Kinds a probe in flight tries are answered by it (unless it found them known and tried nothing).
  for (const kind of asked) if (!entry.answers.has(kind)) await entry.pending.get(kind);
  const unanswered = asked.filter((kind) => !entry!.answers.has(kind));
  const netnsUnknown = needsNetns && !entry.netns;
  if (unanswered.length || netnsUnknown) {
    // No kinds tried on this host yet (its first probe was the base alone): the side-effect-free ones go too.
    const tries = netnsUnknown ? [...new Set([...SIDE_EFFECT_FREE_KINDS.filter((kind) => !entry!.answers.has(kind)), ...unanswered])] : unanswered;
    const probe = runProbe(host, tries, false, { kinds: unanswered, namespaces: true });
    startProbe(entry, probe, tries, netnsUnknown);
    await probe;
  }
  const kinds = new Map<string, KindSupport>();
  for (const kind of asked) kinds.set(kind, entry.answers.get(kind) ?? { state: "unknown", answer: "no answer" });
  const netns = needsNetns ? await entry.netns : undefined;
  // Every kind answered so far, for the note on what else the host lacks.
  for (const [kind, support] of entry.answers) if (!kinds.has(kind)) kinds.set(kind, support);
  const { netns: _firstProbe, ...rest } = base;
  return { ...rest, ...(netns !== undefined ? { netns } : {}), kinds };
}

/**
 * What a resource needs, from the commands it runs (as every kind and object declares it): the
 * probed tools among them, and named namespaces where a step makes one (`ip netns add`), runs
 * in one, or moves a device into one (`netns` among its arguments).
 */
export function stepNeeds(resourceType: string, steps: readonly Pick<Step, "tool" | "netns" | "args">[], kernelKind?: Needs["kernelKind"]): Needs {
  const tools = [...new Set(steps.map((step) => step.tool))].filter((tool): tool is ProbedTool => (PROBED_TOOLS as readonly string[]).includes(tool));
  const namespaces = steps.some((step) => step.netns !== undefined || (step.tool === "ip" && step.args.includes("netns")));
  return { resourceType, ...(kernelKind ? { kernelKind } : {}), tools, ...(namespaces ? { namespaces } : {}) };
}

/** What a device of this kind needs: its kernel kind, and what its commands need. */
export function deviceNeeds(
  kind: Pick<DeviceKind, "resourceType" | "infoKinds" | "kernelFeature">,
  steps: readonly Pick<Step, "tool" | "netns" | "args">[],
): Needs {
  return stepNeeds(kind.resourceType, steps, { kind: probeKindOf(kind.infoKinds), feature: kind.kernelFeature });
}

/** Throws the capability message when the host lacks what `needs` asks for; called before the first change there. */
export async function requireCapabilities(host: Host, needs: Needs, where: string): Promise<void> {
  const facts = await hostFacts(host, needs.kernelKind ? [needs.kernelKind.kind] : [], needs.namespaces === true).catch((error: unknown) => {
    if (error instanceof Error) error.message = `${where}: checking what ${host.endpoint} offers failed: ${error.message}`;
    throw error;
  });
  const missing = missingFor(needs, facts);
  if (missing.length) throw new Error(capabilityMessage(host.endpoint, where, needs, missing, facts));
}

/** The same check as a check failure (`preflight: true` on the connection: `pulumi preview` reports it). */
export async function capabilityFailures(host: Host, needs: Needs, where: string, property = "connection"): Promise<CheckFailure[]> {
  const facts = await hostFacts(host, needs.kernelKind ? [needs.kernelKind.kind] : [], needs.namespaces === true);
  const missing = missingFor(needs, facts);
  return missing.length ? [{ property, reason: capabilityMessage(host.endpoint, where, needs, missing, facts) }] : [];
}

/**
 * The check for `pulumi preview` (a check step, so it runs in `up` too): only with `preflight:
 * true` on a known connection. `what` names the resource ("Dummy d0"); `needsOf` builds its
 * needs from its create steps; with inputs still unknown it may throw, and then `fallback` (its
 * kernel kind alone) is checked.
 */
export async function previewCapabilities(
  what: string,
  inputs: Record<string, unknown>,
  hosts: HostFactory,
  needsOf: () => Needs,
  fallback: Needs,
): Promise<CheckFailure[]> {
  if (containsUnknown(inputs.connection)) return [];
  const connection = connectionOf(inputs);
  if (connection.preflight !== true) return [];
  let needs = fallback;
  try {
    needs = needsOf();
  } catch {}
  const host = hosts(connection);
  return capabilityFailures(host, needs, `${what} on ${host.endpoint}`);
}
