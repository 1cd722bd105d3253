import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { readLabState, repoRoot, type LabHost } from "../lab/hosts";
import { labDown, labStatus, labUp } from "../lab/lab";
import { labProgram } from "../lab/stack";
import { CpuMeter, type CpuReading } from "./cpu";
import { NETDEV_PROGRAM, NOOP_PROGRAM } from "./programs";

/**
 * Where netdev's time over Pulumi's own goes, side by side with the no-op provider of the same
 * shape (bench/programs.ts), alternating the models round by round on this noisy machine.
 *
 *   npx tsx bench/overhead.ts [--devices 90] [--rounds 3]
 *     `pulumi preview` of a fresh stack (every resource a create: constructors, serialization,
 *     check) with made-up hosts: preview opens no SSH connection, so no lab is needed.
 *   npx tsx bench/overhead.ts --lab [--state-dir DIR]      (under flock /tmp/netdev-lab.lock)
 *     `up`, no-op `preview`, `destroy` on the lab's three hosts (brought up and down unless one
 *     is up); --state-dir keeps each model's exported state and config for --replay.
 *   --baseline DIR --only netdev,baseline,noop: also netdev from another checkout (built), same rounds.
 *   npx tsx bench/overhead.ts --replay DIR
 *     the no-op `preview` (check and diff of every resource) against states saved by --lab,
 *     with no lab: preview never connects.
 *
 * NETDEV_BENCH_ENV='{"K":"V"}' adds environment to the Pulumi CLI (NODE_OPTIONS to profile,
 * PULUMI_NODEJS_TRANSPILE_ONLY, …). Prints each time, the medians and netdev's added ms per device.
 */
const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "90" },
    rounds: { type: "string", default: "3" },
    parallel: { type: "string", default: "8" },
    only: { type: "string", default: "netdev,noop" },
    lab: { type: "boolean", default: false },
    up: { type: "boolean", default: false },
    "state-dir": { type: "string" },
    replay: { type: "string" },
    baseline: { type: "string" },
  },
});
const n = Number(values.devices);
const rounds = Number(values.rounds);
const parallel = Number(values.parallel);
/**
 * Variants of the no-op provider that isolate one trait of netdev's, for `--up` without a lab:
 * noop-pad stores as much per resource as netdev does (its state is ~2× the no-op's), noop-sleep
 * takes as long to create as netdev's create takes on the lab (one SSH round trip, ~150–250 ms
 * on this loaded machine).
 */
const programs: Record<string, string> = {
  netdev: NETDEV_PROGRAM,
  /** netdev from another checkout (--baseline DIR, built), side by side with this one. */
  baseline: NETDEV_PROGRAM,
  noop: NOOP_PROGRAM,
  "noop-pad": NOOP_PROGRAM.replace("return { id: inputs.name, outs: inputs };", 'return { id: inputs.name, outs: { ...inputs, pad: "x".repeat(4600) } };'),
  "noop-sleep": NOOP_PROGRAM.replace(
    "async create(inputs: any) {",
    `async create(inputs: any) { await new Promise((r) => setTimeout(r, ${Number(process.env.NETDEV_BENCH_SLEEP_MS ?? 200)}));`,
  ),
};
const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n";
const FAKE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBen";
type Hosts = Array<{ host: string; port: number; hostKey: string }>;

function extraEnv(): Record<string, string> {
  return JSON.parse(process.env.NETDEV_BENCH_ENV ?? "{}") as Record<string, string>;
}

/** The checkout the "baseline" model runs (--baseline DIR). */
function baselineRoot(): string {
  if (!values.baseline) throw new Error("--only baseline needs --baseline DIR, a checkout with dist/ built");
  return path.resolve(values.baseline);
}

async function withStack<T>(model: string, hosts: Hosts, privateKey: string, run: (stack: Stack) => Promise<T>): Promise<T> {
  const { home, workDir, env } = labProgram(
    path.join(repoRoot, "bench"),
    [],
    {
      "Pulumi.yaml": "name: netdev-bench\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
      "package.json": JSON.stringify({ name: "netdev-bench-program", private: true }),
      "index.ts": programs[model]!,
    },
    model === "baseline" ? baselineRoot() : undefined,
  );
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "bench", workDir }, { envVars: { ...env, ...extraEnv() } });
  try {
    await stack.setAllConfig({ hosts: { value: JSON.stringify(hosts) }, privateKey: { value: privateKey, secret: true }, devices: { value: String(n) } });
    return await run(stack);
  } finally {
    if (!process.env.KEEP) rmSync(home, { recursive: true, force: true });
  }
}

/** Set in --lab runs where cgroups allow: CPU seconds per phase and model, beside the wall time. */
let meter: CpuMeter | undefined;
const cpu: Record<string, Record<string, CpuReading[]>> = {};

/** Wall seconds of `run`; with `measured` (and a meter), its CPU too, filed under that phase and model. */
const seconds = async (run: () => Promise<unknown>, measured?: { phase: string; model: string }) => {
  const start = performance.now();
  const cpuStart = meter?.now();
  await run();
  if (meter && cpuStart && measured) ((cpu[measured.phase] ??= {})[measured.model] ??= []).push(CpuMeter.since(cpuStart, meter.now()));
  return (performance.now() - start) / 1000;
};

async function expectNoChanges(stack: Stack): Promise<void> {
  const preview = await stack.preview({ parallel });
  const changed = Object.entries(preview.changeSummary).filter(([op, count]) => op !== "same" && count > 0);
  if (changed.length) throw new Error(`preview is not a no-op: ${JSON.stringify(preview.changeSummary)}`);
}

/** One round of one model: phase → seconds. */
async function round(model: string, hosts: Hosts, privateKey: string, stateDir?: string): Promise<Record<string, number>> {
  if (values.replay) {
    const saved = path.join(values.replay, `${model}.json`);
    return withStack(model, hosts, privateKey, async (stack) => {
      await stack.importStack(JSON.parse(readFileSync(saved, "utf8")));
      return { preview: await seconds(() => expectNoChanges(stack)) };
    });
  }
  if (!values.lab && !values.up) {
    return withStack(model, hosts, privateKey, async (stack) => ({
      "fresh preview": await seconds(async () => {
        const result = await stack.preview({ parallel });
        if (result.changeSummary.create !== n + 1) throw new Error(`${model}: expected ${n + 1} creates, got ${JSON.stringify(result.changeSummary)}`);
      }),
    }));
  }
  return withStack(model, hosts, privateKey, async (stack) => {
    const times: Record<string, number> = {};
    try {
      times.up = await seconds(() => stack.up({ parallel }), { phase: "up", model });
      if (stateDir) writeFileSync(path.join(stateDir, `${model}.json`), JSON.stringify(await stack.exportStack()));
      times.preview = await seconds(() => expectNoChanges(stack), { phase: "preview", model });
    } finally {
      times.destroy = await seconds(() => stack.destroy({ parallel }), { phase: "destroy", model });
    }
    return times;
  });
}

async function main(): Promise<void> {
  const models = values.only.split(",");
  let hosts: Hosts = [1, 2, 3].map((i) => ({ host: `192.0.2.${i}`, port: 22, hostKey: FAKE_HOST_KEY }));
  let privateKey = FAKE_KEY;
  let bringDown = false;
  if (values.replay) {
    ({ hosts, privateKey } = JSON.parse(readFileSync(path.join(values.replay, "config.json"), "utf8")) as { hosts: Hosts; privateKey: string });
  } else if (values.lab) {
    const status = await labStatus().catch(() => "");
    const reuse = status.includes("h3 ") && !status.includes("DOWN") && !status.includes("DEAD");
    bringDown = !reuse;
    const lab: LabHost[] = (reuse ? readLabState() : await labUp({ hosts: 3 })).hosts.filter((h) => h.kind === "netns" && !h.via).slice(0, 3);
    hosts = lab.map((h) => ({ host: h.address, port: h.port, hostKey: h.hostPublicKey }));
    privateKey = readFileSync(lab[0]!.privateKeyPath, "utf8");
    meter = CpuMeter.open(lab.map((h) => h.pid).filter((pid): pid is number => pid !== undefined));
    if (values["state-dir"]) {
      mkdirSync(values["state-dir"], { recursive: true });
      writeFileSync(path.join(values["state-dir"], "config.json"), JSON.stringify({ hosts, privateKey }));
    }
  }
  const times: Record<string, Record<string, number[]>> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const model of models) {
        const result = await round(model, hosts, privateKey, values["state-dir"]);
        for (const [phase, s] of Object.entries(result)) ((times[phase] ??= {})[model] ??= []).push(s);
        console.log(
          `round ${r + 1} ${model}: ${Object.entries(result)
            .map(([p, s]) => `${p} ${s.toFixed(2)} s`)
            .join(", ")}`,
        );
      }
    }
  } finally {
    meter?.close();
    if (bringDown) await labDown();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n${n} devices, --parallel ${parallel}, medians of ${rounds}:`);
  for (const [phase, byModel] of Object.entries(times)) {
    const cells = Object.entries(byModel).map(([m, xs]) => `${m} ${median(xs).toFixed(2)} s (${xs.map((s) => s.toFixed(2)).join(", ")})`);
    const added =
      byModel.netdev && byModel.noop
        ? `; netdev/noop ${(median(byModel.netdev) / median(byModel.noop)).toFixed(2)}×, netdev adds ${(((median(byModel.netdev) - median(byModel.noop)) * 1000) / n).toFixed(1)} ms per device`
        : "";
    const versus = byModel.netdev && byModel.baseline ? `; netdev/baseline ${(median(byModel.netdev) / median(byModel.baseline)).toFixed(2)}×` : "";
    console.log(`${phase}: ${cells.join("; ")}${added}${versus}`);
    for (const [m, readings] of Object.entries(cpu[phase] ?? {})) {
      const per = (pick: (r: CpuReading) => number) => `${((median(readings.map(pick)) * 1000) / n).toFixed(1)}`;
      console.log(
        `  ${m} CPU ms per device (medians): hosts (sshd, sh, ip, kernel) ${per((r) => r.hostsS)}, Pulumi side (CLI, program, providers) ${per((r) => r.pulumiS)}, whole machine ${per((r) => r.machineS)}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
