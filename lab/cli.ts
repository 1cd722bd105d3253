import { parseArgs } from "node:util";
import { hostsFile, labDown, labStatus, labUp } from "./lab";

const usage = "usage: npm run lab -- up [--hosts N] [--vm N] [--debian-vm N] [--prefix P] | down [--prefix P] | status";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { hosts: { type: "string" }, vm: { type: "string" }, "debian-vm": { type: "string" }, prefix: { type: "string" } },
  });
  const command = positionals[0];
  const prefix = values.prefix ?? process.env.NETDEV_LAB_PREFIX;
  if (command === "up") {
    const started = Date.now();
    await labUp({ prefix, hosts: Number(values.hosts ?? 3), vms: Number(values.vm ?? 0), debianVms: Number(values["debian-vm"] ?? 0) });
    console.log(await labStatus());
    console.log(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s; hosts written to ${hostsFile}`);
  } else if (command === "down") {
    const started = Date.now();
    await labDown({ prefix });
    console.log(`lab down in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else if (command === "status") {
    console.log(await labStatus());
  } else {
    console.error(usage);
    process.exitCode = 2;
  }
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
