import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { readLabState, repoRoot, type LabHost } from "../lab/hosts";
import { labDown, labStatus, labUp } from "../lab/lab";
import { run } from "../lab/run";
import { planAttachment } from "../provider/components/attachment";
import type { PlanItem } from "../provider/components/plan";
import { planVxlanOverlay } from "../provider/components/vxlan-overlay";
import { sshPool } from "../provider/ssh/pool";
import { applyPlan, destroyApplied, removeLeftovers, type Applied } from "../test/support/components";
import { connection, connectionInput } from "../test/support/lab-hosts";
import { ensureCommands } from "./install";

/**
 * `npm run bench:dataplane -- [--seconds 10] [--pings 200] [--rounds 1]`: what traffic gets
 * through the devices netdev makes, beside the bare underlay, in one run on the lab (3 netns
 * hosts on one underlay bridge, all on this machine's cores): iperf3 TCP throughput and ping
 * RTT (median, p99; `--pings` at 10 ms intervals) between
 *   (a) two hosts' underlay addresses (h1 → h2),
 *   (b) two containers (namespaces) on h1 joined by one veth pair,
 *   (c) two containers on h1 and h2 through a VXLAN overlay (planVxlanOverlay + planAttachment,
 *       applied through the engines as the component tests do),
 * and (c) again under offload and MTU variants of the underlay and the VTEPs, each applied,
 * measured and undone in turn. With --rounds R every path is measured R times, interleaved,
 * and the medians reported. Prints a table with ratios to the underlay and writes JSON to
 * bench-results/. Installs iperf3, ethtool and ping from Debian when missing. Brings the lab
 * up (and down) itself unless one is up.
 */
const { values } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, pings: { type: "string", default: "200" }, rounds: { type: "string", default: "1" } },
});
const SECONDS = Number(values.seconds);
const PINGS = Number(values.pings);
const ROUNDS = Number(values.rounds);
const PORT = 5299;

const VETH_NS = ["ndp-a", "ndp-b"] as const;
const VETH_IP = ["192.168.211.1", "192.168.211.2"] as const;
const OVERLAY_NS = "ndp-o";
const OVERLAY_IP = ["192.168.212.1", "192.168.212.2"] as const;
const BRIDGE = "ndpvbr";
const VTEP = "ndpvx";
const OVERLAY_ID = "ndp-dataplane";

/** One end of a measured path: a lab host, and a namespace on it (undefined: the host's own). */
interface End {
  host: string;
  netns?: string;
  address: string;
}
interface Measurement {
  path: string;
  gbps: number;
  retransmits: number;
  senderCpu: number;
  receiverCpu: number;
  rttMedianMs: number;
  rttP99Ms: number;
  lost: number;
}

const inNs = (netns: string | undefined, argv: string[]) => (netns ? ["ip", "netns", "exec", netns, ...argv] : argv);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function onHost(host: string, argv: string[], timeoutMs = 30_000): Promise<string> {
  const result = await sshPool().exec(connection(host), argv, { timeoutMs });
  if (result.exitCode !== 0) throw new Error(`${host}: ${argv.join(" ")}: exit ${result.exitCode}: ${result.stderr.trim()}`);
  return result.stdout;
}

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const i = (sorted.length - 1) * q;
  return sorted[Math.floor(i)]! + (sorted[Math.ceil(i)]! - sorted[Math.floor(i)]!) * (i - Math.floor(i));
}

async function measure(label: string, from: End, to: End): Promise<Measurement> {
  // Neighbour and FDB entries first, so the first pings do not pay for learning.
  await onHost(from.host, inNs(from.netns, ["ping", "-c", "3", "-i", "0.2", "-W", "1", to.address]));
  const pings = await onHost(from.host, inNs(from.netns, ["ping", "-c", String(PINGS), "-i", "0.01", "-W", "1", to.address]), 60_000).catch(
    (error: Error) => error.message,
  );
  const rtts = [...pings.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const server = inNs(to.netns, ["setsid", "-f", "timeout", String(SECONDS + 30), "iperf3", "-s", "-1", "-B", to.address, "-p", String(PORT)])
    .map(quote)
    .join(" ");
  await onHost(to.host, ["sh", "-c", `${server} </dev/null >/dev/null 2>&1`]);
  for (let i = 0; ; i++) {
    if ((await onHost(to.host, inNs(to.netns, ["ss", "-Hltn", `sport = :${PORT}`]))).trim()) break;
    if (i > 50) throw new Error(`${label}: iperf3 server on ${to.host} did not listen`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const report = JSON.parse(
    await onHost(from.host, inNs(from.netns, ["iperf3", "-c", to.address, "-p", String(PORT), "-t", String(SECONDS), "-J"]), (SECONDS + 30) * 1000),
  ) as {
    end: {
      sum_received: { bits_per_second: number };
      sum_sent: { retransmits?: number };
      cpu_utilization_percent: { host_total: number; remote_total: number };
    };
  };
  return {
    path: label,
    gbps: report.end.sum_received.bits_per_second / 1e9,
    retransmits: report.end.sum_sent.retransmits ?? 0,
    senderCpu: report.end.cpu_utilization_percent.host_total,
    receiverCpu: report.end.cpu_utilization_percent.remote_total,
    rttMedianMs: median(rtts),
    rttP99Ms: quantile(rtts, 0.99),
    lost: PINGS - rtts.length,
  };
}

/** A device whose offloads a variant changes: on a lab host (over SSH), or in the lab's underlay namespace (here). */
interface Dev {
  host?: string;
  underlayNs?: string;
  netns?: string;
  dev: string;
}
const devCommand = (d: Dev, argv: string[]) => (d.host ? onHost(d.host, inNs(d.netns, argv)) : run("ip", ["netns", "exec", d.underlayNs!, ...argv]));

async function features(d: Dev): Promise<Record<string, string>> {
  const out = await devCommand(d, ["ethtool", "-k", d.dev]);
  return Object.fromEntries([...out.matchAll(/^\s*([\w-]+): (on|off)/gm)].map((m) => [m[1]!, m[2]!]));
}
async function setFeatures(devs: Dev[], wanted: Record<string, "on" | "off">): Promise<void> {
  for (const d of devs) await devCommand(d, ["ethtool", "-K", d.dev, ...Object.entries(wanted).flat()]);
}
async function setMtu(devs: Dev[], mtu: number): Promise<void> {
  for (const d of devs) await devCommand(d, ["ip", "link", "set", "dev", d.dev, "mtu", String(mtu)]);
}

interface Variant {
  name: string;
  apply(): Promise<void>;
  revert(): Promise<void>;
}

async function main(): Promise<void> {
  ensureCommands({ iperf3: "iperf3", ethtool: "ethtool", ping: "iputils-ping", ss: "iproute2" });
  const status = await labStatus().catch(() => "");
  const reuse = status.includes("h3 ") && !status.includes("DOWN") && !status.includes("DEAD");
  const state = reuse ? readLabState() : await labUp({ hosts: 3 });
  const [h1, h2] = state.hosts.filter((h) => h.kind === "netns" && !h.via) as [LabHost, LabHost];
  const underlayNs = `${state.prefix}-ul`;
  const hostEnds = [h1, h2].map((_h) => planAttachment({ connection: null, namespace: OVERLAY_NS, bridge: BRIDGE }).hostEnd);
  const cleanup = async () => {
    for (const h of [h1, h2]) await removeLeftovers(h.name, [VTEP, BRIDGE, ...hostEnds], [OVERLAY_NS, ...(h === h1 ? VETH_NS : [])]);
  };
  await cleanup();
  const made: Applied[] = [];
  const measurements: Measurement[] = [];
  const notes: Record<string, unknown> = {};
  try {
    // (b) two containers on h1, one veth pair between them.
    made.push(
      ...(await applyPlan([
        { key: "ns-a", type: "NetworkNamespace", dependsOn: [], inputs: { connection: connectionInput(h1.name), name: VETH_NS[0] } },
        { key: "ns-b", type: "NetworkNamespace", dependsOn: [], inputs: { connection: connectionInput(h1.name), name: VETH_NS[1] } },
        {
          key: "veth",
          type: "VethPair",
          dependsOn: ["ns-a", "ns-b"],
          inputs: {
            connection: connectionInput(h1.name),
            netns: VETH_NS[0],
            name: "eth0",
            addresses: [`${VETH_IP[0]}/24`],
            peerName: "eth0",
            peerNetns: VETH_NS[1],
            peerAddresses: [`${VETH_IP[1]}/24`],
          },
        },
      ] as PlanItem[])),
    );
    // (c) the overlay between h1 and h2, and a container on each.
    const plan = planVxlanOverlay({
      overlayId: OVERLAY_ID,
      vni: 4799,
      hosts: [h1, h2].map((h) => ({ name: h.name, connection: connectionInput(h.name), underlayAddress: h.underlayAddress, underlayDev: h.underlayInterface })),
      bridgeName: BRIDGE,
      vtepName: VTEP,
    });
    const overlay = await applyPlan(plan.items);
    made.push(...overlay);
    for (const [i, h] of [h1, h2].entries()) {
      made.push(
        ...(await applyPlan(
          planAttachment({
            connection: connectionInput(h.name),
            namespace: OVERLAY_NS,
            bridge: BRIDGE,
            address: `${OVERLAY_IP[i]}/24`,
            mtu: plan.mtu,
            macSeed: `${OVERLAY_ID}-${h.name}`,
          }).items,
        )),
      );
    }

    const hostNics: Dev[] = [h1, h2].map((h) => ({ host: h.name, dev: h.underlayInterface }));
    const bridgePorts: Dev[] = [h1, h2].map((h) => ({ underlayNs, dev: h.name })); // the underlay bridge's port for host hN is named hN
    const underlayDevs = [...hostNics, ...bridgePorts];
    const vteps: Dev[] = [h1, h2].map((h) => ({ host: h.name, dev: VTEP }));
    const overlayBridges: Dev[] = [h1, h2].map((h) => ({ host: h.name, dev: BRIDGE }));
    const overlayDevs: Dev[] = [
      ...vteps,
      ...overlayBridges,
      ...[h1, h2].flatMap((h, i) => [
        { host: h.name, dev: hostEnds[i]! },
        { host: h.name, netns: OVERLAY_NS, dev: "eth0" },
      ]),
    ];
    const vtepLink = JSON.parse(await onHost(h1.name, ["ip", "-json", "-details", "link", "show", "dev", VTEP])) as Array<{
      linkinfo: { info_data: Record<string, unknown> };
    }>;
    const udpCsum = vtepLink[0]!.linkinfo.info_data.udp_csum === true;
    const nic = { hostNic: await features(hostNics[0]!), bridgePort: await features(bridgePorts[0]!), vtep: await features(vteps[0]!) };
    notes.defaults = { ...nic, vtepUdpCsum: udpCsum, overlayMtu: plan.mtu };

    /** Re-creates both VTEPs through the engine with other inputs (udpCsum cannot change in place). */
    const recreateVteps = async (extra: Record<string, unknown>) => {
      for (const [k, a] of made.entries()) {
        if (a.item.type !== "VxlanTunnel") continue;
        await destroyApplied([a]);
        const [again] = await applyPlan([{ ...a.item, inputs: { ...(a.item.inputs as Record<string, unknown>), ...extra } } as PlanItem]);
        made[k] = again!;
      }
    };
    const toggle = (name: string, devs: Dev[], wanted: Record<string, "on" | "off">, before: Record<string, string>): Variant => ({
      name,
      apply: () => setFeatures(devs, wanted),
      revert: () =>
        setFeatures(devs, Object.fromEntries(Object.keys(wanted).map((f) => [f, before[f] === "on" ? "on" : "off"])) as Record<string, "on" | "off">),
    });
    const variants: Variant[] = [
      { name: "as netdev makes it", apply: async () => {}, revert: async () => {} },
      toggle("GRO on the underlay (hosts' NICs and bridge ports)", underlayDevs, { "generic-receive-offload": "on" }, nic.hostNic),
      toggle("GRO + rx-udp-gro-forwarding on the underlay", underlayDevs, { "generic-receive-offload": "on", "rx-udp-gro-forwarding": "on" }, nic.hostNic),
      toggle(
        `tx-udp_tnl-segmentation ${nic.hostNic["tx-udp_tnl-segmentation"] === "on" ? "off" : "on"} on the hosts' NICs`,
        hostNics,
        {
          "tx-udp_tnl-segmentation": nic.hostNic["tx-udp_tnl-segmentation"] === "on" ? "off" : "on",
          "tx-udp_tnl-csum-segmentation": nic.hostNic["tx-udp_tnl-segmentation"] === "on" ? "off" : "on",
        },
        nic.hostNic,
      ),
      toggle(
        `GRO ${nic.vtep["generic-receive-offload"] === "on" ? "off" : "on"} on the VTEPs and overlay bridges`,
        [...vteps, ...overlayBridges],
        { "generic-receive-offload": nic.vtep["generic-receive-offload"] === "on" ? "off" : "on" },
        nic.vtep,
      ),
      {
        name: `VTEPs with ${udpCsum ? "noudpcsum" : "udpcsum"} (VxlanTunnel udpCsum: ${!udpCsum})`,
        apply: () => recreateVteps({ udpCsum: !udpCsum }),
        revert: () => recreateVteps({ udpCsum }),
      },
      {
        name: `jumbo underlay: MTU 9000, overlay ${9000 - 50}`,
        apply: async () => {
          await setMtu(underlayDevs, 9000);
          await setMtu(overlayDevs, 9000 - 50);
        },
        revert: async () => {
          await setMtu(overlayDevs, plan.mtu);
          await setMtu(underlayDevs, 1500);
        },
      },
    ];

    const underlay = { from: { host: h1.name, address: h1.underlayAddress }, to: { host: h2.name, address: h2.underlayAddress } };
    const veth = { from: { host: h1.name, netns: VETH_NS[0], address: VETH_IP[0] }, to: { host: h1.name, netns: VETH_NS[1], address: VETH_IP[1] } };
    const across = { from: { host: h1.name, netns: OVERLAY_NS, address: OVERLAY_IP[0] }, to: { host: h2.name, netns: OVERLAY_NS, address: OVERLAY_IP[1] } };
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}: ${2 + variants.length} paths, ${SECONDS} s of iperf3 each`);
      measurements.push(await measure("(a) underlay, h1 → h2 (host to host)", underlay.from, underlay.to));
      measurements.push(await measure("(b) veth pair, two containers on h1", veth.from, veth.to));
      for (const v of variants) {
        await v.apply();
        try {
          measurements.push(await measure(`(c) VXLAN overlay h1 → h2, ${v.name}`, across.from, across.to));
        } finally {
          await v.revert();
        }
      }
    }
  } finally {
    await destroyApplied(made).catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
    await cleanup().catch(() => undefined);
    sshPool().closeAll();
    if (!reuse) await labDown();
  }

  const paths = [...new Set(measurements.map((m) => m.path))];
  const summary = paths.map((p) => {
    const ms = measurements.filter((m) => m.path === p);
    const pick = (f: (m: Measurement) => number) => median(ms.map(f));
    return {
      path: p,
      gbps: pick((m) => m.gbps),
      retransmits: pick((m) => m.retransmits),
      senderCpu: pick((m) => m.senderCpu),
      receiverCpu: pick((m) => m.receiverCpu),
      rttMedianMs: pick((m) => m.rttMedianMs),
      rttP99Ms: pick((m) => m.rttP99Ms),
      lost: pick((m) => m.lost),
    };
  });
  const base = summary[0]!;
  console.log(
    [
      "",
      `iperf3 TCP, ${SECONDS} s, one stream; ping × ${PINGS} at 10 ms; ${ROUNDS > 1 ? `medians of ${ROUNDS} interleaved rounds; ` : ""}all on this machine's cores (sender, receiver and the "wire" share them), so read the ratios`,
      "",
      "| path | TCP throughput | ÷ underlay | retransmits | RTT median | RTT p99 | median ÷ underlay |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...summary.map(
        (s) =>
          `| ${s.path} | ${s.gbps.toFixed(2)} Gbit/s | ${(s.gbps / base.gbps).toFixed(2)} | ${s.retransmits} | ${(s.rttMedianMs * 1000).toFixed(0)} µs | ${(s.rttP99Ms * 1000).toFixed(0)} µs | ${(s.rttMedianMs / base.rttMedianMs).toFixed(2)} |${s.lost ? ` ${s.lost} pings lost` : ""}`,
      ),
    ].join("\n"),
  );
  const out = path.join(repoRoot, "bench-results", `dataplane-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ seconds: SECONDS, pings: PINGS, rounds: ROUNDS, summary, measurements, ...notes }, null, 2));
  console.log(`\nJSON: ${path.relative(process.cwd(), out)}`);
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
