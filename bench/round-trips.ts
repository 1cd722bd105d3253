import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { readLabState } from "../lab/hosts";
import { connectionInput } from "../test/support/lab-hosts";
import { sudoLogin } from "../test/support/sudo-login";
import { latencyProxy } from "./latency-proxy";

/**
 * `npm run bench:round-trips -- [--devices 30] [--kind bridge] [--parallel 8] [--latency-ms 0] [--host h1]
 * [--batches 2] [--persist] [--baseline DIR] [--sudo]`: per device, the commands, the SSH execs (round trips:
 * commands for one host that overlap travel as one exec) and the wall time of create, refresh
 * (read), an in-place update and delete of bridges on one lab host (`--kind veth`: veth pairs
 * whose peers are in one namespace and announce themselves, as an overlay's containers' are),
 * through the engines
 * directly, --parallel operations at a time (8 is Pulumi's default on 2 cores). --latency-ms
 * adds that much delay each way (a relay on loopback: this kernel has no netem). With
 * --baseline (a checkout of another commit, e.g. a `git worktree`), that checkout's engine
 * and pool run the same work in the same process first, so the rows are side by side. --sudo:
 * the same work again logged in as the lab's NOPASSWD sudo user where root is refused, once with
 * one sudo per exec (NETDEV_SUDO_SHELL=off) and once through the connection's root shells.
 * --persist: the bridges with `persist: "networkd"`, and first the check every one gets in a
 * `pulumi up` (engine.preflight: persistence's host check), its own column; it writes boot-time
 * files, so only on a lab VM (`--host dvm1`), never on a netns host (they share this machine's /etc).
 * Needs the lab (`npm run lab -- up`).
 */
const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "30" },
    kind: { type: "string", default: "bridge" },
    baseline: { type: "string" },
    host: { type: "string", default: "h1" },
    parallel: { type: "string", default: "8" },
    "latency-ms": { type: "string", default: "0" },
    batches: { type: "string" },
    sudo: { type: "boolean", default: false },
    persist: { type: "boolean", default: false },
  },
});
const devices = Number(values.devices);
const PARALLEL = Number(values.parallel);

/** Per kind: its resource type, and each device's fields besides name and MTU. */
const KINDS: Record<string, { resourceType: string; fields: (i: number) => Record<string, unknown> }> = {
  bridge: { resourceType: "Bridge", fields: () => ({}) },
  veth: { resourceType: "VethPair", fields: (i) => ({ peerName: `ndbp${i}`, peerNetns: "ndbenchpeers", peerAnnounce: true }) },
};
const kind = KINDS[values.kind!];
if (!kind) throw new Error(`--kind is one of ${Object.keys(KINDS).join(", ")}`);

type Engine = {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown> };
  preflight?(inputs: Record<string, unknown>): Promise<unknown[]>;
  create(inputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }>;
  read(id: string, props: Record<string, unknown>): Promise<unknown>;
  update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }>;
  delete(id: string, props: Record<string, unknown>): Promise<void>;
};

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

type Pool = { commandsStarted: number; execsSent?: number; batchesInFlight?: number; closeAll(): void };

async function measure(label: string, { engine, pool }: { engine: Engine; pool: Pool }, connection: unknown): Promise<string> {
  const names = Array.from({ length: devices }, (_, i) => `ndbench${i}`);
  if (values.batches !== undefined && pool.batchesInFlight !== undefined) pool.batchesInFlight = Number(values.batches);
  const row: string[] = [label];
  const phase = async (work: () => Promise<void>) => {
    const before = { commands: pool.commandsStarted, execs: pool.execsSent ?? 0 };
    const t0 = performance.now();
    await work();
    const perDevice = (n: number) => (n / devices).toFixed(2).replace(/\.?0+$/, "");
    row.push(
      `${perDevice(pool.commandsStarted - before.commands)} / ${pool.execsSent === undefined ? "–" : perDevice(pool.execsSent - before.execs)} / ${((performance.now() - t0) / devices).toFixed(0)} ms`,
    );
  };
  const made = new Map<string, { id: string; outs: Record<string, unknown> }>();
  const persist = values.persist ? { persist: "networkd" } : {};
  const inputs = (name: string, mtu: number) => engine.check({ connection, name, mtu, ...kind.fields(names.indexOf(name)), ...persist }).inputs;
  if (values.persist)
    await phase(() =>
      inBatches(names, async (name) => {
        const failures = await engine.preflight!(inputs(name, 1500));
        if (failures.length) throw new Error(`the check refused ${name}: ${JSON.stringify(failures)}`);
      }),
    );
  await phase(() => inBatches(names, async (name) => void made.set(name, await engine.create(inputs(name, 1500)))));
  await phase(() => inBatches(names, async (name) => void (await engine.read(made.get(name)!.id, made.get(name)!.outs))));
  await phase(() =>
    inBatches(names, async (name) => {
      const m = made.get(name)!;
      made.set(name, { id: m.id, outs: (await engine.update(m.id, m.outs, inputs(name, 1400))).outs });
    }),
  );
  await phase(() => inBatches(names, async (name) => engine.delete(made.get(name)!.id, made.get(name)!.outs)));
  pool.closeAll();
  // Each checkout gets a pool of its own making: the pool lives on globalThis (see sshPool()).
  delete (globalThis as Record<symbol, unknown>)[Symbol.for("pulumi-netdev/ssh-pool/v1")];
  return `| ${row.join(" | ")} |`;
}

/** The same devices as ONE HostDevices resource (the per-host form): one call per phase, counted per device as above. */
async function measureHostDevices(root: string, connection: unknown): Promise<string> {
  const { sshPool } = await import(path.join(root, "provider/ssh/pool.ts"));
  const { hostDevicesEngine: engine } = await import(path.join(root, "provider/objects/host-devices/host-devices.ts"));
  const pool = sshPool() as Pool;
  const row: string[] = ["this checkout, one HostDevices"];
  const phase = async (work: () => Promise<void>) => {
    const before = { commands: pool.commandsStarted, execs: pool.execsSent ?? 0 };
    const t0 = performance.now();
    await work();
    const perDevice = (n: number) => (n / devices).toFixed(3).replace(/\.?0+$/, "");
    row.push(
      `${perDevice(pool.commandsStarted - before.commands)} / ${perDevice((pool.execsSent ?? 0) - before.execs)} / ${((performance.now() - t0) / devices).toFixed(1)} ms`,
    );
  };
  const inputs = (mtu: number) =>
    engine.check({
      connection,
      devices: Object.fromEntries(Array.from({ length: devices }, (_, i) => [`d${i}`, { kind: values.kind, name: `ndbench${i}`, mtu, ...kind.fields(i) }])),
    }).inputs;
  let made = { id: "", outs: {} as Record<string, unknown> };
  await phase(async () => void (made = await engine.create(inputs(1500))));
  await phase(async () => void (await engine.read(made.id, made.outs)));
  await phase(async () => void (made = { id: made.id, outs: (await engine.update(made.id, made.outs, inputs(1400))).outs }));
  await phase(() => engine.delete(made.id, made.outs));
  pool.closeAll();
  return `| ${row.join(" | ")} |`;
}

/** That checkout's engine of the kind, and its own process-wide pool (made by its own code). */
async function engineFrom(root: string): Promise<{ engine: Engine; pool: Pool }> {
  const { sshPool } = await import(path.join(root, "provider/ssh/pool.ts"));
  // provider/registry.ts since the one registry; a --baseline checkout from before it has engineFor in kinds/index.ts.
  const registry = path.join(root, "provider/registry.ts");
  const engine = existsSync(registry)
    ? (await import(registry)).deviceEngine(kind.resourceType)
    : (await import(path.join(root, "provider/kinds/index.ts"))).engineFor(kind.resourceType);
  return { engine: engine as Engine, pool: sshPool() as Pool };
}

async function main(): Promise<void> {
  const host = readLabState().hosts.find((h) => h.name === values.host)!;
  if (values.persist && host.kind === "netns")
    throw new Error(`--persist writes boot-time files: ${host.name} shares this machine's /etc; use a lab VM (--host dvm1)`);
  const oneWayMs = Number(values["latency-ms"]);
  // With added latency the engines reach the host through a delaying relay on loopback.
  const proxy = oneWayMs > 0 ? await latencyProxy({ host: host.address, port: host.port }, oneWayMs) : undefined;
  const connection = connectionInput(host.name, proxy ? { host: "127.0.0.1", port: proxy.port } : {});
  const rows: string[] = [];
  if (values.baseline) rows.push(await measure(`baseline (${path.basename(values.baseline)})`, await engineFrom(path.resolve(values.baseline)), connection));
  const here = path.resolve(import.meta.dirname, "..");
  rows.push(await measure("this checkout", await engineFrom(here), connection));
  if (values.sudo) {
    if (proxy) throw new Error("--sudo reaches the host directly: leave out --latency-ms");
    const asSudoUser = connectionInput(host.name, sudoLogin(readLabState(), host, "nopasswd"));
    process.env.NETDEV_SUDO_SHELL = "off";
    rows.push(await measure("this checkout, sudo user, one sudo per exec", await engineFrom(here), asSudoUser));
    delete process.env.NETDEV_SUDO_SHELL;
    rows.push(await measure("this checkout, sudo user, root shells", await engineFrom(here), asSudoUser));
  }
  rows.push(await measureHostDevices(here, connection));
  const latency = oneWayMs > 0 ? `, ${2 * oneWayMs} ms added round-trip time` : "";
  console.log(
    [
      `${devices} ${values.kind === "veth" ? "veth pairs (peers in a namespace, announcing)" : "bridges"}${values.persist ? ' with persist: "networkd"' : ""} on ${host.name}, ${PARALLEL} operations at a time${latency}; each cell per device: commands / SSH execs (round trips) / wall time`,
      "",
      `| engine |${values.persist ? " check |" : ""} create | refresh (read) | update (mtu) | delete |`,
      `| --- |${values.persist ? " --- |" : ""} --- | --- | --- | --- |`,
      ...rows,
    ].join("\n"),
  );
  proxy?.close();
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
