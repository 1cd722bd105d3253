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
  kinds: Map<string, Promise<KindSupport>>;
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

async function runProbe(host: Host, kinds: string[], base: boolean): Promise<ProbeAnswer> {
  const stdout = await host.read({ tool: "sh", args: ["-c", probeScript(kinds, base), "sh", probeNamespace()] });
  return parseProbe(stdout, kinds);
}

/** What the host offers for these kernel kinds (and its tools), probing only what no earlier probe covered. */
export async function hostFacts(host: Host, kernelKinds: readonly string[]): Promise<HostFacts> {
  const key = keyOf(host);
  let known = probes.get(key);
  const fresh: string[] = [];
  if (!known) {
    const kinds = [...new Set([...SIDE_EFFECT_FREE_KINDS, ...kernelKinds])];
    const probe = runProbe(host, kinds, true);
    known = { base: probe, kinds: new Map(kinds.map((kind) => [kind, probe.then((answer) => answer.kinds.get(kind)!)])) };
    fresh.push(...kinds);
    probes.set(key, known);
  } else {
    const unprobed = [...new Set(kernelKinds)].filter((kind) => !known!.kinds.has(kind));
    if (unprobed.length) {
      const probe = runProbe(host, unprobed, false);
      for (const kind of unprobed)
        known.kinds.set(
          kind,
          probe.then((answer) => answer.kinds.get(kind)!),
        );
      fresh.push(...unprobed);
    }
  }
  const entry = known;
  // A probe that got no answer (host unreachable) is forgotten: the next operation asks again.
  for (const kind of fresh)
    entry.kinds.get(kind)!.catch(() => {
      if (probes.get(key) === entry) entry.kinds.delete(kind);
    });
  entry.base.catch(() => {
    if (probes.get(key) === entry) probes.delete(key);
  });
  const base = await entry.base;
  const kinds = new Map<string, KindSupport>();
  for (const kind of kernelKinds) kinds.set(kind, await entry.kinds.get(kind)!);
  // Every kind probed so far, for the note on what else the host lacks.
  for (const [kind, support] of entry.kinds) if (!kinds.has(kind)) kinds.set(kind, await support);
  return { ...base, kinds };
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
  const facts = await hostFacts(host, needs.kernelKind ? [needs.kernelKind.kind] : []).catch((error: unknown) => {
    if (error instanceof Error) error.message = `${where}: checking what ${host.endpoint} offers failed: ${error.message}`;
    throw error;
  });
  const missing = missingFor(needs, facts);
  if (missing.length) throw new Error(capabilityMessage(host.endpoint, where, needs, missing, facts));
}

/** The same check as a check failure (`preflight: true` on the connection: `pulumi preview` reports it). */
export async function capabilityFailures(host: Host, needs: Needs, where: string, property = "connection"): Promise<CheckFailure[]> {
  const facts = await hostFacts(host, needs.kernelKind ? [needs.kernelKind.kind] : []);
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
