import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { execa } from "execa";
import { hostsFile, readLabState, repoRoot, type LabHost } from "../lab/hosts";
import { stopBuiltKeeper } from "../lab/keeper";
import { LAB_MAX_HOSTS, labDown, labForgetNeighbours, labStatus, labUp } from "../lab/lab";
import { configureOverlay } from "../lab/overlay";
import { labProgram } from "../lab/stack";
import { sshPool } from "../provider/ssh/pool";
import { CpuMeter } from "./cpu";
import { type OverlayForm, parseOverlayBenchOptions } from "./overlay-options";
import { pingOverlayPairs } from "./overlay-pings";
import { type Checkpoints, type OverlayResults, type OverlayRow, type OverlayStep, overlayTable, type StepMeasure } from "./overlay-table";
import { pairsToPing } from "./ping-pairs";
import { OVERLAY_FLOOR_ONE_PROGRAM, OVERLAY_FLOOR_PROGRAM } from "./programs";
import { timed } from "./results";

/**
 * `npm run bench:overlay -- [--hosts 30,80] [--runs 3] [--forms per-device,per-host,floor]
 * [--checkpoints saved,skipped] [--parallel P]`: the
 * repository's root program (index.ts: a VxlanOverlay with a container wired by veth per host;
 * per device: an Attachment per host; per host: the container inside the host's one resource;
 * floor: the per-host form's resources with a provider that does nothing, Pulumi's own cost;
 * floor-one, asked for by name: the same with every host's devices as one resource;
 * per-host-kept, asked for by name: the per-host form with logins kept between commands),
 * driven as a user drives it, at each overlay size N: `up` of N−1 lab hosts (their neighbour
 * caches emptied first, as on a freshly made lab), host N joining, the same host
 * leaving, `refresh`, `destroy`; in each form, each with checkpoints saved and skipped
 * (`PULUMI_SKIP_CHECKPOINTS=true`), the runs of both settings alternating. Per step: seconds,
 * CPU seconds of the lab hosts and of the Pulumi side (bench/cpu.ts: this machine's two cores
 * run both, where real hosts would each run their own share), the resources and bytes of
 * `pulumi stack export`, and after up/join/leave every container
 * pair pinged (all pairs up to 30 hosts, 200 sampled above): how many answered their first
 * ping within 1 s, and how many within the retry window. Prints one table per N (medians, the
 * runs' values in brackets) and writes it as markdown and JSON to bench-results/. Brings a lab
 * of max(N) hosts up (and down) itself unless one that large is up; a smaller lab it rebuilds
 * only with NETDEV_LAB_RESHAPE=1, and makes again afterwards. Not a CI step.
 */
const { values } = parseArgs({
  options: { hosts: { type: "string" }, runs: { type: "string" }, forms: { type: "string" }, checkpoints: { type: "string" }, parallel: { type: "string" } },
});
const options = parseOverlayBenchOptions(values, LAB_MAX_HOSTS);

const PING_RETRY_SECONDS = 30;
const ALL_PAIRS_UP_TO = 30;
const SAMPLED_PAIRS = 200;
const CHECKPOINT_ENV: Record<Checkpoints, Record<string, string>> = { saved: {}, skipped: { PULUMI_SKIP_CHECKPOINTS: "true" } };
/**
 * `per-host-kept`: one keeper for the whole benchmark, in a runtime directory of its own, ended
 * at the end. Its logins outlive each run: a run's `up` finds the hosts the previous run's
 * commands logged in to, as a user's next command within the persistence time does.
 */
const KEPT_LOGINS_MS = 600_000;
/** That keeper's runtime directory, made by the form's first run. */
let keptLoginsDir: string | undefined;
function keptLoginsEnv(): Record<string, string> {
  keptLoginsDir ??= mkdtempSync(path.join(os.tmpdir(), "netdev-bench-keeper-"));
  return { NETDEV_SSH_PERSIST: String(KEPT_LOGINS_MS / 1000), XDG_RUNTIME_DIR: keptLoginsDir };
}

/** The state as `pulumi stack export` prints it (secrets stay encrypted): its length and its resources. */
async function exportedState(stack: Stack, env: Record<string, string>, saveAs: string): Promise<{ resources: number; stateBytes: number }> {
  const result = await execa("pulumi", ["stack", "export", "--stack", stack.name, "--cwd", stack.workspace.workDir], { env: { ...process.env, ...env } });
  // NETDEV_BENCH_STATE_DIR keeps each step's export, for `npm run bench:state-size -- --from FILE`.
  const stateDir = process.env.NETDEV_BENCH_STATE_DIR;
  if (stateDir) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, `${saveAs}.json`), result.stdout);
  }
  const exported = JSON.parse(result.stdout) as { deployment?: { resources?: unknown[] } };
  return { resources: exported.deployment?.resources?.length ?? 0, stateBytes: Buffer.byteLength(result.stdout) };
}

/** One run of every step at overlay size `n` in one form with one checkpoint setting; a failing step ends the run (its stack destroyed). */
async function overlayRun(
  hosts: LabHost[],
  n: number,
  form: OverlayForm,
  checkpoints: Checkpoints,
  meter: CpuMeter | undefined,
): Promise<{ measures: Partial<Record<OverlayStep, StepMeasure>>; failure?: string }> {
  const floor = form === "floor" || form === "floor-one";
  const overlayForm = form === "per-host-kept" || form === "per-host" ? "per-host" : "per-device";
  const { home, workDir, env } = labProgram(repoRoot, floor ? ["Pulumi.yaml"] : ["Pulumi.yaml", "index.ts"], {
    // Not the repo's package.json: its name would make `pulumi-netdev` resolve to the copy itself.
    "package.json": JSON.stringify({ name: "netdev-overlay-bench", private: true }),
    ...(floor ? { "index.ts": form === "floor" ? OVERLAY_FLOOR_PROGRAM : OVERLAY_FLOOR_ONE_PROGRAM } : {}),
  });
  // NETDEV_BENCH_ENV='{"K":"V"}' adds environment to the Pulumi CLI (a bench/preload profiler in NODE_OPTIONS).
  const stackEnv = {
    ...env,
    ...CHECKPOINT_ENV[checkpoints],
    ...(form === "per-host-kept" ? keptLoginsEnv() : {}),
    ...(JSON.parse(process.env.NETDEV_BENCH_ENV ?? "{}") as Record<string, string>),
  };
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "bench", workDir }, { envVars: stackEnv });
  const measures: Partial<Record<OverlayStep, StepMeasure>> = {};
  const parallel = options.parallel !== undefined ? { parallel: options.parallel } : {};
  const before = hosts.slice(0, n - 1);
  const all = hosts.slice(0, n);
  const step = async (name: OverlayStep, work: () => Promise<unknown>, members?: LabHost[]) => {
    const cpuStart = meter?.now();
    const seconds = await timed(work);
    const cpu = meter && cpuStart ? CpuMeter.since(cpuStart, meter.now()) : undefined;
    // Right after the step, before anything else: the overlay as a user finds it.
    const pings =
      members && !floor
        ? await pingOverlayPairs(
            members,
            pairsToPing(members.length, { allUpTo: ALL_PAIRS_UP_TO, sampleSize: SAMPLED_PAIRS, seed: members.length }),
            PING_RETRY_SECONDS,
          )
        : undefined;
    measures[name] = {
      seconds,
      ...(cpu ? { cpu: { hostsS: cpu.hostsS, pulumiS: cpu.pulumiS } } : {}),
      ...(await exportedState(stack, stackEnv, `${form}-${n}-${checkpoints}-${name}`)),
      ...(pings ? { pings } : {}),
    };
    console.log(`  ${n} hosts, ${form}, checkpoints ${checkpoints}, ${name}: ${JSON.stringify(measures[name])}`);
  };
  let current: OverlayStep = "up";
  try {
    // The floor program reads no form: it is the per-host shape.
    await configureOverlay(stack, before, floor ? undefined : overlayForm);
    // Every run's `up` as on a freshly made lab: no host knows another's underlay address yet.
    await labForgetNeighbours();
    await step("up", () => stack.up(parallel), before);
    current = "join";
    await configureOverlay(stack, all);
    await step("join", () => stack.up(parallel), all);
    current = "leave";
    await configureOverlay(stack, before);
    await step("leave", () => stack.up(parallel), before);
    current = "refresh";
    await step("refresh", () => stack.refresh(parallel));
    current = "destroy";
    await step("destroy", () => stack.destroy(parallel));
    return { measures };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${n} hosts, ${form}, checkpoints ${checkpoints}, ${current} failed:\n${message}`);
    await stack.destroy(parallel).catch(() => undefined);
    const line = message.split("\n").find((text) => /error:/i.test(text)) ?? message.split("\n").slice(-3).join(" ");
    return { measures, failure: `${n} hosts, ${form}, checkpoints ${checkpoints}, ${current}: ${line.trim()}` };
  } finally {
    await stack.workspace.removeStack("bench", { force: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    sshPool().closeAll();
  }
}

/** How many hosts of each kind a lab has: what `labUp` needs to make it again. */
function labShape(): { hosts: number; vms: number; debianVms: number } {
  const hosts = readLabState().hosts;
  return {
    hosts: hosts.filter((h) => h.kind === "netns" && !h.via).length,
    vms: hosts.filter((h) => h.kind === "vm" && h.flavour !== "debian").length,
    debianVms: hosts.filter((h) => h.kind === "vm" && h.flavour === "debian").length,
  };
}

/**
 * The lab's namespace hosts, from a lab of at least `needed` that is up, or from one this run
 * brings up; `putBack` then leaves the machine as it was: no lab, or (NETDEV_LAB_RESHAPE=1) a
 * lab of the shape found, made again.
 */
async function labWith(needed: number): Promise<{ hosts: LabHost[]; putBack: () => Promise<void> }> {
  const reserved = path.join(repoRoot, "lab", ".reserved");
  if (existsSync(reserved)) throw new Error(`this machine's lab is reserved for another run: remove ${reserved} once it is done`);
  const netns = () => readLabState().hosts.filter((h) => h.kind === "netns" && !h.via);
  let putBack = () => labDown();
  if (existsSync(hostsFile)) {
    const status = await labStatus();
    const healthy = !status.includes("DOWN") && !status.includes("DEAD");
    if (healthy && netns().length >= needed) return { hosts: netns(), putBack: async () => undefined };
    const found = labShape();
    if (process.env.NETDEV_LAB_RESHAPE !== "1")
      throw new Error(
        `a lab of another shape is up (${JSON.stringify(found)}) and this run needs ${needed} hosts: bring it down with \`npm run lab -- down\` first, or set NETDEV_LAB_RESHAPE=1 to let this run rebuild it (and make it again at the end)`,
      );
    putBack = async () => {
      await labUp(found);
      console.log(`lab made again as found: ${JSON.stringify(found)}`);
    };
  }
  const started = performance.now();
  await labUp({ hosts: needed });
  console.log(`lab of ${needed} hosts up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { hosts: netns(), putBack };
}

async function main(): Promise<void> {
  if (!existsSync(path.join(repoRoot, "dist", "provider", "index.js")))
    throw new Error("no dist/: run `npm run build` first (the overlay program imports the built package)");
  const benchStarted = performance.now();
  const lab = await labWith(Math.max(...options.hostCounts));
  // Each step's CPU, the lab hosts' apart from the Pulumi side's (this process's children).
  const meter = CpuMeter.open(lab.hosts.flatMap((host) => (host.pid === undefined ? [] : [host.pid])));
  const rows: OverlayRow[] = [];
  const failures: string[] = [];
  const rowOf = (hosts: number, form: OverlayForm, checkpoints: Checkpoints, step: OverlayStep) => {
    let row = rows.find((r) => r.hosts === hosts && r.form === form && r.checkpoints === checkpoints && r.step === step);
    if (!row) rows.push((row = { hosts, form, checkpoints, step, runs: [] }));
    return row;
  };
  const tables: string[] = [];
  try {
    for (const n of options.hostCounts) {
      for (let run = 1; run <= options.runs; run++)
        for (const form of options.forms)
          for (const checkpoints of options.checkpoints) {
            console.log(`${n} hosts, run ${run} of ${options.runs}, ${form}, checkpoints ${checkpoints}`);
            const outcome = await overlayRun(lab.hosts, n, form, checkpoints, meter);
            for (const [step, measure] of Object.entries(outcome.measures)) rowOf(n, form, checkpoints, step as OverlayStep).runs.push(measure);
            if (outcome.failure) failures.push(outcome.failure);
          }
      tables.push(overlayTable(rows, n, PING_RETRY_SECONDS));
      console.log(`\n${tables.at(-1)}\n`);
    }
  } finally {
    sshPool().closeAll();
    if (keptLoginsDir) {
      await stopBuiltKeeper(keptLoginsDir, KEPT_LOGINS_MS).catch(() => undefined);
      rmSync(keptLoginsDir, { recursive: true, force: true });
    }
    meter?.close();
    await lab.putBack();
  }
  const minutes = (performance.now() - benchStarted) / 60_000;
  const heading = `\`npm run bench:overlay -- --hosts ${options.hostCounts.join(",")} --runs ${options.runs} --forms ${options.forms.join(",")} --checkpoints ${options.checkpoints.join(",")}${options.parallel !== undefined ? ` --parallel ${options.parallel}` : ""}\`, ${new Date().toISOString()}, ${minutes.toFixed(1)} min in all; seconds and sizes are medians of ${options.runs} run${options.runs > 1 ? "s" : ""}${options.runs > 1 ? ", each run's value in brackets" : ""}`;
  const markdown = [
    heading,
    "",
    ...tables.flatMap((table) => [table, ""]),
    ...(failures.length ? ["Failed runs:", "", ...failures.map((f) => `- ${f}`), ""] : []),
  ].join("\n");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = path.join(repoRoot, "bench-results", `overlay-${stamp}`);
  mkdirSync(path.dirname(out), { recursive: true });
  const saved: OverlayResults = { hostCounts: options.hostCounts, runs: options.runs, pingRetrySeconds: PING_RETRY_SECONDS, rows, failures };
  writeFileSync(`${out}.json`, `${JSON.stringify(saved, null, 2)}\n`);
  writeFileSync(`${out}.md`, markdown);
  console.log(`${heading}\n\nmarkdown: ${path.relative(process.cwd(), `${out}.md`)}\nJSON: ${path.relative(process.cwd(), `${out}.json`)}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench:overlay failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
