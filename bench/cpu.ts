import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * CPU seconds spent during a phase, split by who spent them: the lab hosts (each host's sshd and
 * everything it starts: login shells, `sh`, `ip`, the kernel work they ask for) and the Pulumi
 * side (this process's children: the CLI, the program, the dynamic providers). On a 2-core
 * machine wall time follows CPU once both cores are busy, so this says which side to make cheaper.
 *
 * Uses a cpuacct cgroup (v1) or a cgroup v2 directory per side; without either (no root, no
 * cgroupfs) every reading is undefined and the benchmark prints wall time only.
 */
export type CpuReading = { hostsS: number; pulumiS: number; machineS: number };

const V1 = "/sys/fs/cgroup/cpuacct";
const V2 = "/sys/fs/cgroup";

function usageSeconds(dir: string): number {
  if (existsSync(path.join(dir, "cpuacct.usage"))) return Number(readFileSync(path.join(dir, "cpuacct.usage"), "utf8")) / 1e9;
  const line = readFileSync(path.join(dir, "cpu.stat"), "utf8")
    .split("\n")
    .find((l) => l.startsWith("usage_usec "));
  return Number(line?.split(" ")[1] ?? 0) / 1e6;
}

/** Busy CPU seconds of the whole machine since boot (every core; idle and iowait left out). */
function machineSeconds(): number {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

export class CpuMeter {
  private constructor(
    private readonly hostsDir: string,
    private readonly pulumiDir: string,
    private readonly root: string,
  ) {}

  /** Moves the hosts' sshd processes and this process into their own cgroups; undefined where that is impossible. */
  static open(hostPids: number[]): CpuMeter | undefined {
    const root = existsSync(path.join(V1, "cgroup.procs")) ? V1 : existsSync(path.join(V2, "cgroup.controllers")) ? V2 : undefined;
    if (!root || hostPids.length === 0) return undefined;
    try {
      const hostsDir = path.join(root, "netdev-bench-hosts");
      const pulumiDir = path.join(root, "netdev-bench-pulumi");
      mkdirSync(hostsDir, { recursive: true });
      mkdirSync(pulumiDir, { recursive: true });
      for (const pid of hostPids) writeFileSync(path.join(hostsDir, "cgroup.procs"), String(pid));
      writeFileSync(path.join(pulumiDir, "cgroup.procs"), String(process.pid));
      return new CpuMeter(hostsDir, pulumiDir, root);
    } catch (error) {
      console.error(`CPU accounting off: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  now(): CpuReading {
    return { hostsS: usageSeconds(this.hostsDir), pulumiS: usageSeconds(this.pulumiDir), machineS: machineSeconds() };
  }

  static since(start: CpuReading, end: CpuReading): CpuReading {
    return { hostsS: end.hostsS - start.hostsS, pulumiS: end.pulumiS - start.pulumiS, machineS: end.machineS - start.machineS };
  }

  /** Puts every process back in the root cgroup and removes the two (best effort: a lab torn down has no sshd left). */
  close(): void {
    for (const dir of [this.hostsDir, this.pulumiDir]) {
      for (const pid of readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
        try {
          writeFileSync(path.join(this.root, "cgroup.procs"), pid);
        } catch {
          // exited meanwhile
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        // a process is still exiting; the empty cgroup is harmless and reused next time
      }
    }
  }
}
