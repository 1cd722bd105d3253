// Usage: NETDEV_BENCH_ENV='{"NODE_OPTIONS":"--require /abs/path/bench/preload/cpu-usage.cjs","PROF_DIR":"/tmp/cpu"}' npm run bench:overhead -- --lab
// Appends one line per node process (the program, each dynamic provider) to <PROF_DIR>/cpu.jsonl at exit:
// its role and CPU ms (user, system), so the Pulumi side's CPU splits into CLI (the rest), program and providers.
const fs = require("node:fs");
const dir = process.env.PROF_DIR || "/tmp/prof";
fs.mkdirSync(dir, { recursive: true });
const role = process.argv.slice(1).join(" ").includes("dynamic-provider") ? "provider" : "program";
let written = false;
function write() {
  if (written) return;
  written = true;
  const { user, system } = process.cpuUsage();
  fs.appendFileSync(`${dir}/cpu.jsonl`, JSON.stringify({ role, pid: process.pid, at: Date.now(), userMs: user / 1000, systemMs: system / 1000 }) + "\n");
}
process.on("exit", write);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { write(); process.exit(0); });
