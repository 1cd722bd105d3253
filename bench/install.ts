import { execFileSync, spawnSync } from "node:child_process";

/**
 * Installs the Debian packages a benchmark needs when their commands are missing, and says
 * so: `{ iperf3: "iperf3" }` maps a command to the package that provides it. The benchmarks
 * are npm scripts run as root on a Debian lab machine (scripts/install.sh installs what CI
 * needs; these tools only the benchmarks use).
 */
export function ensureCommands(commands: Record<string, string>): void {
  const missing = Object.entries(commands).filter(([command]) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status !== 0);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  console.log(`installing ${packages.join(", ")} from Debian (apt-get install -y ${packages.join(" ")}): ${missing.map(([c]) => c).join(", ")} missing`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], { stdio: ["ignore", "ignore", "inherit"], env });
  try {
    install();
  } catch {
    execFileSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"], env });
    install();
  }
}
