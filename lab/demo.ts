import { parseArgs } from "node:util";
import { execa } from "execa";
import { sshPool } from "../provider/ssh/pool";
import { readLabState, repoRoot } from "./hosts";
import { labDown, labStatus, labUp } from "./lab";
import { overlayStack, pingAcrossOverlay } from "./overlay";

/**
 * The main job, end to end on this machine: lab up, `pulumi up` of examples/overlay on three
 * lab hosts, pings between the containers on different hosts across the overlay, then
 * `pulumi destroy` and lab down (`--keep` leaves the stack and the lab up).
 */
const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });
const say = (line: string) => console.log(`\n==> ${line}`);

async function main(): Promise<void> {
  // A lab someone already has up (e.g. with VM hosts for the tests) is used as it is and left up.
  const existing = await labStatus();
  const reuse = existing.includes("h3 ") && !existing.includes("DOWN") && !existing.includes("DEAD");
  say(reuse ? "using the lab that is already up" : "lab up: 3 hosts (network namespaces running sshd on an underlay bridge)");
  const state = reuse ? readLabState() : await labUp({ hosts: 3 });
  const hosts = state.hosts.filter((h) => h.kind === "netns" && !h.via);

  say("Pulumi CLI (built from Go modules when not cached) and the package build");
  const { stdout: pulumiBin } = await execa("scripts/install-pulumi.sh", { cwd: repoRoot, stderr: "inherit" });
  process.env.PATH = `${pulumiBin.trim().split("\n").at(-1)}:${process.env.PATH}`;
  await execa("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });

  say("pulumi up: examples/overlay (VXLAN mesh, a bridge and a container per host)");
  const { stack, home } = await overlayStack(hosts);
  const up = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  console.log(`overlay MTU ${up.outputs.overlayMtu?.value}; state in ${home}`);

  say("ping between containers on different hosts, across the overlay");
  const pings = await pingAcrossOverlay(hosts);
  for (const p of pings) console.log(`  c-${p.from} -> c-${p.to} (${p.address}): ${p.ok ? "ok" : "FAILED"} ${p.detail}`);
  const failed = pings.filter((p) => !p.ok).length;
  console.log(`${pings.length - failed} passed, ${failed} failed`);

  if (values.keep) {
    say(`--keep: stack and lab left up (PULUMI_BACKEND_URL=file://${home}/state, npm run lab -- status)`);
  } else {
    say("pulumi destroy");
    await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
    if (!reuse) {
      say("lab down");
      await labDown();
    }
  }
  sshPool().closeAll();
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
