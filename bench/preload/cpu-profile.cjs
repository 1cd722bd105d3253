// Usage: NETDEV_BENCH_ENV='{"NODE_OPTIONS":"--require /abs/path/bench/preload/cpu-profile.cjs","NETDEV_PROF_DIR":"/tmp/prof"}' npm run bench:overhead
// A CPU profile per node process (program and dynamic provider), written even when Pulumi ends the provider
// with a signal (node --cpu-prof writes nothing then). Open in Chrome DevTools or speedscope.
// Starts a CPU profile at startup and writes it on SIGINT/SIGTERM/exit (dynamic provider processes get killed).
const inspector = require("node:inspector");
const fs = require("node:fs");
// NETDEV_*: the SSH connection keeper (NETDEV_SSH_PERSIST) is started with those and few others.
const dir = process.env.NETDEV_PROF_DIR || process.env.PROF_DIR || "/tmp/prof";
fs.mkdirSync(dir, { recursive: true });
const session = new inspector.Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 500 });
session.post("Profiler.start");
const args = process.argv.slice(1).join(" ");
const role = args.includes("dynamic-provider") ? "provider" : /keeper\/main\.[jt]s/.test(args) ? "keeper" : "program";
let written = false;
function write() {
  if (written) return;
  written = true;
  session.post("Profiler.stop", (err, { profile }) => {
    if (!err) fs.writeFileSync(`${dir}/${role}.${process.pid}.cpuprofile`, JSON.stringify(profile));
  });
}
process.on("exit", write);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
  process.on(sig, () => {
    write();
    process.exit(0);
  });
