// Usage: NETDEV_BENCH_ENV='{"NODE_OPTIONS":"--require /abs/path/bench/preload/rpc-timeline.cjs","NETDEV_PROF_DIR":"/tmp/tl"}' npm run bench:overhead
// Writes <role>.<pid>.jsonl per node process: the program's RegisterResource calls (sent, answered), the
// provider's served RPCs (check, diff, create, ...) and netdev's SSH execs, each with absolute ms times.
// Logs every gRPC call the provider serves (check, diff, create, ...) and each netdev SSH exec, with absolute ms timestamps.
const Module = require("node:module");
const fs = require("node:fs");
// NETDEV_*: the SSH connection keeper (NETDEV_SSH_PERSIST) is started with those and few others.
const dir = process.env.NETDEV_PROF_DIR || process.env.PROF_DIR || "/tmp/prof";
fs.mkdirSync(dir, { recursive: true });
const args = process.argv.slice(1).join(" ");
const role = args.includes("dynamic-provider") ? "provider" : /keeper\/main\.[jt]s/.test(args) ? "keeper" : "program";
const out = `${dir}/${role}.${process.pid}.jsonl`;
const lines = [];
const now = () => performance.timeOrigin + performance.now();
let written = false;
// How long callbacks (an RPC, an SSH reply) waited for the event loop: an RPC's own time above excludes that wait.
const lag = require("node:perf_hooks").monitorEventLoopDelay({ resolution: 5 });
lag.enable();
const write = () => {
  if (written) return;
  written = true;
  const ms = (ns) => Number((ns / 1e6).toFixed(1));
  lines.push(
    JSON.stringify({
      op: "event-loop-delay",
      p50: ms(lag.percentile(50)),
      p90: ms(lag.percentile(90)),
      p99: ms(lag.percentile(99)),
      max: ms(lag.max),
      mean: ms(lag.mean),
    }),
  );
  fs.writeFileSync(out, lines.join("\n") + "\n");
};
process.on("exit", write);
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    write();
    process.exit(0);
  });
lines.push(JSON.stringify({ op: "start", t0: now() }));
const origLoad = Module._load;
let clientPatched = false,
  grpcPatched = false,
  poolPatched = false;
Module._load = function (request, ...rest) {
  const m = origLoad.call(this, request, ...rest);
  if (!grpcPatched && request === "@grpc/grpc-js" && m.Server) {
    grpcPatched = true;
    const addService = m.Server.prototype.addService;
    m.Server.prototype.addService = function (service, impl) {
      const wrapped = {};
      for (const name of Object.keys(service)) {
        const original = service[name].originalName || name;
        const fn = impl[original] || impl[name];
        if (typeof fn !== "function") continue;
        wrapped[original] = function (call, callback) {
          const t0 = now();
          let urn;
          try {
            urn = call.request?.getUrn?.();
          } catch {}
          return fn.call(impl, call, (...args) => {
            lines.push(JSON.stringify({ op: "rpc:" + original, urn: urn?.split("::").pop(), t0, t1: now() }));
            return callback(...args);
          });
        };
      }
      return addService.call(this, service, wrapped);
    };
  }
  if (!clientPatched && request === "@grpc/grpc-js" && m.Client) {
    clientPatched = true;
    const unary = m.Client.prototype.makeUnaryRequest;
    m.Client.prototype.makeUnaryRequest = function (method, ...rest) {
      const t0 = now();
      const i = rest.findIndex((a) => typeof a === "function" && rest.indexOf(a) >= 2);
      let urn;
      try {
        const req = rest[2];
        urn = req && (req.getName ? req.getName() : req.getUrn?.());
      } catch {}
      if (i >= 0) {
        const cb = rest[i];
        rest[i] = (...a) => {
          lines.push(JSON.stringify({ op: "call:" + method.split("/").pop(), urn, t0, t1: now() }));
          return cb(...a);
        };
      }
      return unary.call(this, method, ...rest);
    };
  }
  if (/resource_grpc_pb$/.test(request) && m.ResourceMonitorClient && !m.ResourceMonitorClient.__patched) {
    m.ResourceMonitorClient.__patched = true;
    const proto = m.ResourceMonitorClient.prototype;
    for (const method of ["registerResource", "registerResourceOutputs"]) {
      const orig = proto[method];
      proto[method] = function (req, ...rest) {
        const t0 = now();
        let urn;
        try {
          urn = req.getName ? req.getName() : undefined;
        } catch {}
        const i = rest.findIndex((a) => typeof a === "function");
        if (i >= 0) {
          const cb = rest[i];
          rest[i] = (...a) => {
            lines.push(JSON.stringify({ op: "call:" + method, urn, t0, t1: now() }));
            return cb(...a);
          };
        }
        return orig.call(this, req, ...rest);
      };
    }
  }
  if (request === "pulumi-netdev/runtime") lines.push(JSON.stringify({ op: "runtime-loaded", t0: now() }));
  if (!poolPatched && /(^|\/)pool(\.js)?$/.test(request) && typeof m.sshPool === "function") {
    poolPatched = true;
    const pool = m.sshPool();
    // Every exec the pool sends, whether this process runs it or its connection keeper does.
    const method = typeof pool.execHereOrKept === "function" ? "execHereOrKept" : "execAlone";
    const send = pool[method].bind(pool);
    pool[method] = (connection, argv, ...rest) => {
      const t0 = now();
      return send(connection, argv, ...rest).finally(() =>
        lines.push(JSON.stringify({ op: "exec", host: connection.host, t0, t1: now(), bytes: argv.join(" ").length, head: argv.join(" ").slice(0, 160) })),
      );
    };
  }
  return m;
};
