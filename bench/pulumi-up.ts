import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { readLabState, repoRoot, type LabHost } from "../lab/hosts";
import { labDown, labStatus, labUp } from "../lab/lab";
import { assertBuilt, labProgram } from "../lab/stack";
import { sshPool } from "../provider/ssh/pool";
import { acceptedConnections, connection } from "../test/support/lab-hosts";
import { ansibleRow } from "./ansible";
import { latencyProxy } from "./latency-proxy";
import { writeChart } from "./chart";
import { NETDEV_HOST_PROGRAM, NETDEV_PROGRAM, NOOP_HOST_PROGRAM, NOOP_PROGRAM, perConnectionProgram } from "./programs";
import { PHASES, timed, type BenchResults, type Phase, type Row } from "./results";

/**
 * `npm run bench -- [--devices 30,90] [--parallel 8] [--baseline DIR]`: a real `pulumi up`,
 * `refresh`, no-op `preview` and `destroy` of N bridges spread over the three lab hosts, for
 * netdev (and, with --baseline, another checkout of it, built), the remote.Command model (one
 * SSH connection per operation), Pulumi alone (a no-op dynamic provider of the same shape),
 * the limit (one `ip -batch -` per host, no Pulumi) and Ansible (bench/ansible.ts: a playbook
 * with pipelining and ControlPersist; installed from Debian when missing), all in one run, so
 * read the ratios. Counts the SSH connections each host's sshd accepted. Prints one table per
 * N and writes JSON and a PNG chart (bench/chart.ts) to bench-results/; --only picks rows;
 * `--chart-only FILE.json` redraws the chart of a saved run. Brings the lab up (and down)
 * itself unless one is up. `--latency-ms 0,5,25` repeats every row with each host behind a TCP
 * relay that delays each direction by that much (this kernel has no netem): every model, Ansible
 * included, reaches the hosts through it, so round trips cost what they would on such a link.
 */
const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "30,90" },
    parallel: { type: "string", default: "8" },
    baseline: { type: "string" },
    only: { type: "string" },
    "chart-only": { type: "string" },
    "latency-ms": { type: "string", default: "0" },
  },
});
/** --only netdev,netdev-host,netdev-host-nockpt,sudo,sudo-per-exec (with sudo),nockpt,command,noop,noop-host,noop-nockpt,limit,ansible (and baseline, with --baseline): a subset of the rows. */
const wanted = (key: string) => !values.only || values.only.split(",").includes(key);
const sizes = values.devices.split(",").map(Number);
/** --latency-ms 0,5,25: every row again with each host behind a relay adding that much each way (bench/latency-proxy.ts). */
const latencies = values["latency-ms"].split(",").map(Number);
const parallel = Number(values.parallel);

const names = (n: number) => Array.from({ length: n }, (_, i) => `ndpb${i}`);
// h.address/h.port: the host itself, or the latency relay in front of it (reachedThrough).
const connectionTo = (h: LabHost) => connection(h.name, { host: h.address, port: h.port, ...(h.username === "root" ? {} : { user: h.username, sudo: true }) });
const accepted = (hosts: LabHost[]) => hosts.reduce((sum, h) => sum + acceptedConnections(h.name), 0);

/** Sends each host its share of `line(name)` as one `ip -batch -` (-force: go on past errors). */
async function batchPerHost(hosts: LabHost[], n: number, line: (name: string) => string[], force = false): Promise<void> {
  await Promise.all(
    hosts.map(async (h, index) => {
      const mine = names(n).filter((_, i) => i % hosts.length === index);
      const result = await sshPool().exec(connectionTo(h), ["ip", ...(force ? ["-force"] : []), "-batch", "-"], {
        stdin: mine.flatMap(line).join("\n") + "\n",
      });
      if (result.exitCode !== 0 && !force) throw new Error(`${h.name}: ip -batch: ${result.stderr.trim()}`);
    }),
  );
}

const removeLeftovers = (hosts: LabHost[], n: number) => batchPerHost(hosts, n, (name) => [`link del dev ${name}`], true).catch(() => undefined);

/** PULUMI_SKIP_CHECKPOINTS=true: the CLI keeps the state in memory and saves it once, at the end of each run. */
const SKIP_CHECKPOINTS = { PULUMI_SKIP_CHECKPOINTS: "true" };

async function pulumiRow(
  model: string,
  program: string,
  hosts: LabHost[],
  n: number,
  netdevRoot?: string,
  extraEnv: Record<string, string> = {},
): Promise<Row> {
  const row: Row = { model, devices: n, seconds: {}, connections: 0 };
  await removeLeftovers(hosts, n);
  const { home, workDir, env } = labProgram(
    path.join(repoRoot, "bench"),
    [],
    {
      "Pulumi.yaml": "name: netdev-bench\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
      "package.json": JSON.stringify({ name: "netdev-bench-program", private: true }),
      "index.ts": program,
    },
    netdevRoot,
  );
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "bench", workDir }, { envVars: { ...env, ...extraEnv } });
  const connectionsBefore = accepted(hosts);
  try {
    await stack.setAllConfig({
      hosts: {
        value: JSON.stringify(
          hosts.map((h) => ({ host: h.address, port: h.port, hostKey: h.hostPublicKey, ...(h.username === "root" ? {} : { user: h.username, sudo: true }) })),
        ),
      },
      privateKey: { value: readFileSync(hosts[0]!.privateKeyPath, "utf8"), secret: true },
      devices: { value: String(n) },
    });
    row.seconds.up = await timed(() => stack.up({ parallel }));
    row.seconds.refresh = await timed(() => stack.refresh({ parallel }));
    row.seconds.preview = await timed(async () => {
      const preview = await stack.preview({ parallel });
      const changed = Object.entries(preview.changeSummary).filter(([op, count]) => op !== "same" && count > 0);
      if (changed.length) throw new Error(`preview after up is not a no-op: ${JSON.stringify(preview.changeSummary)}`);
    });
    row.seconds.destroy = await timed(() => stack.destroy({ parallel }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${model}, ${n} devices:\n${message}`);
    row.error =
      message
        .split("\n")
        .find((line) => /error:/i.test(line))
        ?.trim() ?? message.split("\n").slice(-3).join(" ");
    await stack.destroy({ parallel }).catch(() => undefined);
  } finally {
    row.connections = accepted(hosts) - connectionsBefore;
    await stack.workspace.removeStack("bench", { force: true }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    await removeLeftovers(hosts, n);
  }
  return row;
}

async function limitRow(hosts: LabHost[], n: number): Promise<Row> {
  await removeLeftovers(hosts, n);
  sshPool().closeAll();
  const connectionsBefore = accepted(hosts);
  const row: Row = { model: "limit: one `ip -batch -` per host, no Pulumi", devices: n, seconds: {}, connections: 0 };
  row.seconds.up = await timed(() => batchPerHost(hosts, n, (name) => [`link add ${name} type bridge`, `link set dev ${name} up`]));
  row.seconds.refresh = await timed(() =>
    Promise.all(hosts.map((h) => sshPool().run(connectionTo(h), ["ip", "-json", "-details", "addr", "show"], { idempotent: true }))),
  );
  row.seconds.destroy = await timed(() => batchPerHost(hosts, n, (name) => [`link del dev ${name}`]));
  row.connections = accepted(hosts) - connectionsBefore;
  return row;
}

/** The hosts as the models reach them: directly, or each through its own relay adding `latencyMs` each way. */
async function reachedThrough(hosts: LabHost[], latencyMs: number, relays: Array<{ close(): void }>): Promise<LabHost[]> {
  if (!latencyMs) return hosts;
  return Promise.all(
    hosts.map(async (h) => {
      const relay = await latencyProxy({ host: h.address, port: h.port }, latencyMs);
      relays.push(relay);
      return { ...h, address: "127.0.0.1", port: relay.port };
    }),
  );
}

function table(rows: Row[], n: number, latencyMs = 0): string {
  const netdev = rows.find((r) => r.model.startsWith("netdev (this")) ?? rows[0]!;
  const cell = (r: Row, phase: Phase) => {
    const s = r.seconds[phase];
    if (s === undefined) return "–";
    const base = netdev.seconds[phase];
    return r === netdev || base === undefined ? `${s.toFixed(2)} s` : `${s.toFixed(2)} s (${(s / base).toFixed(2)}×)`;
  };
  const noop = rows.find((r) => r.model.startsWith("Pulumi alone"));
  const added =
    noop?.seconds.up !== undefined && netdev.model.startsWith("netdev (this") && netdev.seconds.up !== undefined
      ? `; netdev's \`up\` adds ${(((netdev.seconds.up - noop.seconds.up) * 1000) / n).toFixed(1)} ms per device to Pulumi's own`
      : "";
  return [
    `${n} bridges over 3 hosts${latencyMs ? `, each ${latencyMs} ms away each way (relay)` : ""}, --parallel ${parallel}; in brackets: time ÷ netdev's (above 1: slower than netdev)${added}${rows.some((r) => r.model.startsWith("Ansible")) ? "; Ansible's refresh is a --check run and its preview the playbook run again (both must change nothing)" : ""}`,
    "",
    "| model | up | refresh | preview (no-op) | destroy | SSH connections |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.model} | ${PHASES.map((p) => cell(r, p)).join(" | ")} | ${r.connections} |${r.error ? ` failed: ${r.error}` : ""}`),
  ].join("\n");
}

async function main(): Promise<void> {
  if (values["chart-only"]) {
    const json = path.resolve(values["chart-only"]);
    console.log(`PNG: ${path.relative(process.cwd(), writeChart(json, JSON.parse(readFileSync(json, "utf8")) as BenchResults))}`);
    return;
  }
  const baseline = values.baseline ? path.resolve(values.baseline) : undefined;
  if (baseline) assertBuilt(baseline);
  // The programs import pulumi-netdev as a user does: through package.json's main, dist/.
  if (wanted("netdev") && !existsSync(path.join(repoRoot, "dist", "provider", "index.js")))
    throw new Error("no dist/: run `npm run build` first (the benchmark's programs import the built package)");
  const status = await labStatus().catch(() => "");
  const reuse = status.includes("h3 ") && !status.includes("DOWN") && !status.includes("DEAD");
  const labState = reuse ? readLabState() : await labUp({ hosts: 3 });
  const labHosts = labState.hosts.filter((h) => h.kind === "netns" && !h.via).slice(0, 3);
  const results: Row[] = [];
  const relays: Array<{ close(): void }> = [];
  try {
    for (const n of sizes)
      for (const latencyMs of latencies) {
        const hosts = await reachedThrough(labHosts, latencyMs, relays);
        const rows: Row[] = [];
        if (wanted("netdev")) rows.push(await pulumiRow("netdev (this checkout)", NETDEV_PROGRAM, hosts, n));
        if (wanted("sudo")) {
          // The same hosts, logged in as the lab's NOPASSWD sudo user where root is refused (lab/sudo-users.ts).
          const sudo = labState.sudo;
          if (!sudo) throw new Error("the lab has no sudo users: bring it up with this checkout's `npm run lab -- up`");
          const asSudoUser = labHosts.map((h) => ({ ...h, port: sudo.rootRefusedPort, username: sudo.users.nopasswd }));
          rows.push(await pulumiRow("netdev, logged in as a sudo user (NOPASSWD)", NETDEV_PROGRAM, await reachedThrough(asSudoUser, latencyMs, relays), n));
          if (wanted("sudo-per-exec"))
            rows.push(
              await pulumiRow(
                "netdev, sudo user, one sudo per exec (NETDEV_SUDO_SHELL=off)",
                NETDEV_PROGRAM,
                await reachedThrough(asSudoUser, latencyMs, relays),
                n,
                undefined,
                {
                  NETDEV_SUDO_SHELL: "off",
                },
              ),
            );
        }
        if (wanted("netdev-host")) rows.push(await pulumiRow("netdev, one HostDevices per host", NETDEV_HOST_PROGRAM, hosts, n));
        if (wanted("netdev-host-nockpt"))
          rows.push(
            await pulumiRow("netdev, one HostDevices per host, PULUMI_SKIP_CHECKPOINTS=true", NETDEV_HOST_PROGRAM, hosts, n, undefined, SKIP_CHECKPOINTS),
          );
        if (wanted("nockpt")) rows.push(await pulumiRow("netdev, PULUMI_SKIP_CHECKPOINTS=true", NETDEV_PROGRAM, hosts, n, undefined, SKIP_CHECKPOINTS));
        if (baseline && wanted("baseline")) rows.push(await pulumiRow(`netdev (${path.basename(baseline)})`, NETDEV_PROGRAM, hosts, n, baseline));
        if (wanted("command")) rows.push(await pulumiRow("one SSH connection per operation (remote.Command model)", perConnectionProgram(repoRoot), hosts, n));
        if (wanted("noop")) rows.push(await pulumiRow("Pulumi alone (no-op dynamic provider)", NOOP_PROGRAM, hosts, n));
        if (wanted("noop-host")) rows.push(await pulumiRow("Pulumi alone, one no-op resource per host", NOOP_HOST_PROGRAM, hosts, n));
        if (wanted("noop-nockpt"))
          rows.push(await pulumiRow("Pulumi alone, PULUMI_SKIP_CHECKPOINTS=true", NOOP_PROGRAM, hosts, n, undefined, SKIP_CHECKPOINTS));
        if (wanted("limit")) rows.push(await limitRow(hosts, n));
        if (wanted("ansible")) {
          await removeLeftovers(hosts, n);
          rows.push(await ansibleRow(hosts, n, parallel, names, () => accepted(hosts)));
        }
        for (const row of rows) if (latencyMs) row.latencyMs = latencyMs;
        console.log(`\n${table(rows, n, latencyMs)}`);
        results.push(...rows);
        sshPool().closeAll();
      }
  } finally {
    for (const relay of relays) relay.close();
    sshPool().closeAll();
    if (!reuse) await labDown();
  }
  const out = path.join(repoRoot, "bench-results", `pulumi-up-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const saved: BenchResults = { parallel, results };
  writeFileSync(out, JSON.stringify(saved, null, 2));
  console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
  console.log(`PNG: ${path.relative(process.cwd(), writeChart(out, saved))}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
