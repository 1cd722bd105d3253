// Usage: NETDEV_BENCH_ENV='{"NODE_OPTIONS":"--require /abs/path/bench/preload/cpu-usage.cjs","NETDEV_PROF_DIR":"/tmp/cpu"}' npm run bench:overhead -- --lab
// Appends one line per node process (the program, each dynamic provider) to <NETDEV_PROF_DIR>/cpu.jsonl at exit:
// its role and CPU ms (user, system), so the Pulumi side's CPU splits into CLI (the rest), program and providers;
// and its garbage collections by kind (count, main-thread pause ms) and heap used at exit: how much of a
// process's CPU its heap costs (under ts-node's type check, the checker's heap stays alive).
const fs = require("node:fs");
const { PerformanceObserver, constants } = require("node:perf_hooks");
// NETDEV_*: the SSH connection keeper (NETDEV_SSH_PERSIST) is started with those and few others.
const dir = process.env.NETDEV_PROF_DIR || process.env.PROF_DIR || "/tmp/prof";
fs.mkdirSync(dir, { recursive: true });
const args = process.argv.slice(1).join(" ");
const role = args.includes("dynamic-provider") ? "provider" : /keeper\/main\.[jt]s/.test(args) ? "keeper" : "program";
const gcKinds = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
const gc = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = gcKinds[entry.detail?.kind] ?? String(entry.detail?.kind);
    gc[kind] ??= { count: 0, pauseMs: 0 };
    gc[kind].count++;
    gc[kind].pauseMs += entry.duration;
  }
}).observe({ entryTypes: ["gc"] });
let written = false;
function write() {
  if (written) return;
  written = true;
  const { user, system } = process.cpuUsage();
  for (const v of Object.values(gc)) v.pauseMs = Math.round(v.pauseMs);
  const heapUsedMb = Math.round(process.memoryUsage().heapUsed / 1e6);
  fs.appendFileSync(
    `${dir}/cpu.jsonl`,
    JSON.stringify({ role, pid: process.pid, at: Date.now(), userMs: user / 1000, systemMs: system / 1000, heapUsedMb, gc }) + "\n",
  );
}
process.on("exit", write);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
  process.on(sig, () => {
    write();
    process.exit(0);
  });
