import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { readLabState } from "../lab/hosts";
import { sshPool } from "../provider/ssh/pool";

/**
 * `npm run bench:round-trips -- [--devices 30] [--baseline DIR]`: SSH commands (round trips)
 * and wall time per device for create, refresh (read), an in-place update and delete of
 * bridges on one lab host, through the engines directly, 8 operations at a time (Pulumi's
 * default --parallel on 2 cores). With --baseline (a checkout of another commit, e.g. a `git
 * worktree`), that checkout's engine runs the same work in the same process first, so the two
 * rows are measured side by side. Needs the lab (`npm run lab -- up`).
 */
const { values } = parseArgs({ options: { devices: { type: "string", default: "30" }, baseline: { type: "string" }, host: { type: "string", default: "h1" } } });
const devices = Number(values.devices);
const PARALLEL = 8;

type Engine = {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown> };
  create(inputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }>;
  read(id: string, props: Record<string, unknown>): Promise<unknown>;
  update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }>;
  delete(id: string, props: Record<string, unknown>): Promise<void>;
};

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function measure(label: string, engine: Engine, connection: Record<string, unknown>): Promise<string> {
  const names = Array.from({ length: devices }, (_, i) => `ndbench${i}`);
  const pool = sshPool();
  const row: string[] = [label];
  const phase = async (work: () => Promise<void>) => {
    const before = pool.commandsStarted;
    const t0 = performance.now();
    await work();
    row.push(`${((pool.commandsStarted - before) / devices).toFixed(1)} / ${((performance.now() - t0) / devices).toFixed(0)} ms`);
  };
  const made = new Map<string, { id: string; outs: Record<string, unknown> }>();
  const inputs = (name: string, mtu: number) => engine.check({ connection, name, mtu }).inputs;
  await phase(() => inBatches(names, async (name) => void made.set(name, await engine.create(inputs(name, 1500)))));
  await phase(() => inBatches(names, async (name) => void (await engine.read(made.get(name)!.id, made.get(name)!.outs))));
  await phase(() => inBatches(names, async (name) => {
    const m = made.get(name)!;
    made.set(name, { id: m.id, outs: (await engine.update(m.id, m.outs, inputs(name, 1400))).outs });
  }));
  await phase(() => inBatches(names, async (name) => engine.delete(made.get(name)!.id, made.get(name)!.outs)));
  return `| ${row.join(" | ")} |`;
}

async function engineFrom(root: string): Promise<Engine> {
  const kinds = await import(path.join(root, "provider/kinds/index.ts"));
  return kinds.engineFor("Bridge") as Engine;
}

async function main(): Promise<void> {
  const host = readLabState().hosts.find((h) => h.name === values.host)!;
  const connection = { host: host.address, port: host.port, user: host.username, privateKey: readFileSync(host.privateKeyPath, "utf8"), hostKey: host.hostPublicKey };
  const rows: string[] = [];
  if (values.baseline) rows.push(await measure(`baseline (${path.basename(values.baseline)})`, await engineFrom(path.resolve(values.baseline)), connection));
  rows.push(await measure("this checkout", await engineFrom(path.resolve(import.meta.dirname, "..")), connection));
  console.log([`${devices} bridges on ${host.name}, ${PARALLEL} operations at a time; each cell: SSH commands per device / wall time per device`, "", "| engine | create | refresh (read) | update (mtu) | delete |", "| --- | --- | --- | --- | --- |", ...rows].join("\n"));
  sshPool().closeAll();
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
