import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { sshPool } from "../provider/ssh/pool";
import type { LabHost } from "./hosts";
import { labDown, labUp } from "./lab";
import { overlayStack } from "./overlay";

/**
 * `npm run soak -- [--cycles 30]`: `pulumi up` then `pulumi destroy` of the root program (the
 * overlay) on the three lab hosts, over and over. After each cycle it counts what the hosts
 * hold (links, namespaces, sshd session processes and their open descriptors) and samples the
 * provider process during the run (peak memory, open descriptors), then prints one table: a
 * leak shows as a count that grows. Brings the lab up and down itself. Not a CI step.
 */
const { values } = parseArgs({ options: { cycles: { type: "string", default: "30" } } });
const cycles = Number(values.cycles);

interface HostCounts {
  links: number;
  namespaces: number;
  sshdSessions: number;
  sshdFds: number;
}

async function countOn(h: LabHost): Promise<HostCounts> {
  const inNs = (args: string[]) => execa("ip", ["netns", "exec", h.netns!, ...args], { reject: false }).then((r) => String(r.stdout));
  const links = (await inNs(["ip", "-br", "link"])).split("\n").filter(Boolean).length;
  // Each lab host's sshd has a private /run/netns: list it the way the host itself does.
  const namespaces = (await execa("nsenter", ["-t", String(h.pid), "-m", "ip", "netns", "list"], { reject: false })).stdout.split("\n").filter(Boolean).length;
  const children = (await execa("pgrep", ["-P", String(h.pid)], { reject: false })).stdout.split("\n").filter(Boolean);
  let sshdFds = readdirSync(`/proc/${h.pid}/fd`).length;
  for (const pid of children)
    sshdFds += (() => {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return 0;
      }
    })();
  return { links, namespaces, sshdSessions: children.length, sshdFds };
}

/** Samples the dynamic-provider processes while `run` goes: peak RSS (MiB) and open descriptors. */
async function sampleProvider<T>(run: () => Promise<T>): Promise<{ result: T; rssMiB: number; fds: number }> {
  let rssMiB = 0;
  let fds = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const ps = await execa("pgrep", ["-f", "dynamic-provider"], { reject: false });
      for (const pid of ps.stdout.split("\n").filter(Boolean)) {
        try {
          const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
          rssMiB = Math.max(rssMiB, rss);
          fds = Math.max(fds, readdirSync(`/proc/${pid}/fd`).length);
        } catch {
          // exited meanwhile
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return { result: await run(), rssMiB, fds };
  } finally {
    done = true;
    await sampler;
  }
}

async function main(): Promise<void> {
  const state = await labUp({ hosts: 3 });
  const hosts = state.hosts.filter((h) => h.kind === "netns" && !h.via);
  const total = async () => {
    const all = await Promise.all(hosts.map(countOn));
    return all.reduce((a, b) => ({
      links: a.links + b.links,
      namespaces: a.namespaces + b.namespaces,
      sshdSessions: a.sshdSessions + b.sshdSessions,
      sshdFds: a.sshdFds + b.sshdFds,
    }));
  };
  const baseline = await total();
  const { stack } = await overlayStack(hosts);
  const rows: string[] = [];
  console.log(`soak: ${cycles} cycles of up + destroy of the overlay on ${hosts.length} hosts; baseline ${JSON.stringify(baseline)}`);
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const t0 = Date.now();
    const up = await sampleProvider(() => stack.up());
    if (up.result.summary.result !== "succeeded") throw new Error(`cycle ${cycle}: up ${up.result.summary.result}`);
    const t1 = Date.now();
    const destroy = await sampleProvider(() => stack.destroy());
    const t2 = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the pool's idle close, then count
    const now = await total();
    rows.push(
      `| ${cycle} | ${((t1 - t0) / 1000).toFixed(1)} | ${((t2 - t1) / 1000).toFixed(1)} | ${now.links - baseline.links} | ${now.namespaces - baseline.namespaces} | ${now.sshdSessions} | ${now.sshdFds - baseline.sshdFds} | ${Math.max(up.rssMiB, destroy.rssMiB).toFixed(0)} | ${Math.max(up.fds, destroy.fds)} |`,
    );
    console.log(rows.at(-1));
  }
  console.log(
    [
      "",
      "| cycle | up s | destroy s | links left | namespaces left | sshd sessions | sshd fds vs baseline | provider peak RSS MiB | provider peak fds |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
  sshPool().closeAll();
  await labDown();
}

main().catch((error: unknown) => {
  console.error(`soak failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
