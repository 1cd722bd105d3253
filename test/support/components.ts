import { sshPool } from "../../provider/ssh/pool";
import { connection } from "./lab-hosts";
import type { PlanItem } from "../../provider/components/plan";
import { engineFor as componentEngineFor } from "../../provider/registry";

/** A plan item applied through its engine: what Pulumi would keep in state. */
export interface Applied {
  item: PlanItem;
  id: string;
  outs: Record<string, unknown>;
}

/** Applies plan items in order through the engines (create), the way the Pulumi engine would; rolls back what it made if one fails. */
export async function applyPlan(items: PlanItem[]): Promise<Applied[]> {
  const applied: Applied[] = [];
  try {
    for (const item of items) {
      const engine = componentEngineFor(item.type);
      const { failures, inputs } = engine.check(item.inputs);
      if (failures.length) throw new Error(`${item.key}: ${failures.map((f) => f.reason).join("; ")}`);
      const { id, outs } = await engine.create(inputs);
      applied.push({ item, id, outs });
    }
  } catch (error) {
    await destroyApplied(applied).catch(() => undefined);
    throw error;
  }
  return applied;
}

/** Deletes applied items in reverse order; tries every one, then throws the first error. */
export async function destroyApplied(applied: Applied[]): Promise<void> {
  let first: unknown;
  for (const a of [...applied].reverse()) {
    try {
      await componentEngineFor(a.item.type).delete(a.id, a.outs);
    } catch (error) {
      first ??= error;
    }
  }
  applied.length = 0;
  if (first) throw first;
}

export async function exec(hostName: string, argv: string[]) {
  return sshPool().exec(connection(hostName), argv);
}

/** Pings from inside a namespace on a lab host; true when a reply came back. */
export async function pingFrom(hostName: string, netns: string, target: string, extra: string[] = []): Promise<boolean> {
  const result = await exec(hostName, ["ip", "netns", "exec", netns, "ping", "-c1", "-W2", ...extra, target]);
  return result.exitCode === 0;
}

/** Like pingFrom but retries a few times (first packets may go while ARP/FDB settle). */
export async function pingEventually(hostName: string, netns: string, target: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) if (await pingFrom(hostName, netns, target)) return true;
  return false;
}

/** Removes what an earlier failed run may have left: named links in the host namespace, then named namespaces. */
export async function removeLeftovers(hostName: string, links: string[], namespaces: string[]): Promise<void> {
  for (const link of links) await exec(hostName, ["ip", "link", "del", "dev", link]);
  for (const ns of namespaces) await exec(hostName, ["ip", "netns", "del", ns]);
}

/** Destinations of the all-zero FDB entries on a VTEP. */
export async function floodPeers(hostName: string, vtep: string): Promise<string[]> {
  const out = await sshPool().run(connection(hostName), ["bridge", "-json", "fdb", "show", "dev", vtep]);
  return (JSON.parse(out.trim() || "[]") as Array<{ mac: string; dst?: string }>)
    .filter((e) => e.mac === "00:00:00:00:00:00" && e.dst)
    .map((e) => e.dst!)
    .sort();
}
