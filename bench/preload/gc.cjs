// Usage: NETDEV_BENCH_ENV='{"NODE_OPTIONS":"--require /abs/path/bench/preload/gc.cjs","PROF_DIR":"/tmp/gc"}' npm run bench:overhead -- --lab
// Appends one line per node process (the program, each dynamic provider) to <PROF_DIR>/gc.jsonl at
// exit: its garbage collections by kind (count, main-thread pause ms), the heap used at the end,
// and the process's CPU: how much of a program's CPU its heap costs.
const fs = require("node:fs");
const { PerformanceObserver, constants } = require("node:perf_hooks");
const dir = process.env.PROF_DIR || "/tmp/prof";
fs.mkdirSync(dir, { recursive: true });
const role = process.argv.slice(1).join(" ").includes("dynamic-provider") ? "provider" : "program";
const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: "major", [constants.NODE_PERFORMANCE_GC_MINOR]: "minor", [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental", [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb" };
const gc = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = kinds[entry.detail?.kind] ?? String(entry.detail?.kind);
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
  fs.appendFileSync(`${dir}/gc.jsonl`, JSON.stringify({ role, pid: process.pid, at: Date.now(), cpuMs: Math.round((user + system) / 1000), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6), gc }) + "\n");
}
process.on("exit", write);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { write(); process.exit(0); });
