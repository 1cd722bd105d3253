import { labDown, labUp } from "../../lab/lab";

/**
 * Brings the lab up once for the whole run and down at the end, unless a healthy lab of the
 * same shape was already up (a developer's `npm run lab -- up`), which is then left alone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // Serialized providers and the e2e stacks load the built package (dist/), as users' programs do.
  const { execa } = await import("execa");
  await execa("npm", ["run", "--silent", "build"], { cwd: new URL("../..", import.meta.url).pathname, stdio: "inherit" });
  const vms = Number(process.env.NETDEV_TEST_VMS ?? 1);
  const started = Date.now();
  const { existsSync } = await import("node:fs");
  const { hostsFile } = await import("../../lab/hosts");
  const wasUp = existsSync(hostsFile);
  await labUp({ hosts: 3, vms });
  console.log(`[lab] up in ${((Date.now() - started) / 1000).toFixed(1)} s (${vms} VM hosts)${wasUp ? ", reusing an existing lab when healthy" : ""}`);
  return async () => {
    if (wasUp && process.env.CI !== "true") return;
    const stopping = Date.now();
    await labDown();
    console.log(`[lab] down in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  };
}
