import { parseArgs } from "node:util";
import { sshPool } from "../provider/ssh/pool";
import { readLabState } from "./hosts";
import { labDown, labStatus, labUp } from "./lab";
import { byHandCommands, overlayStack, pingAcrossOverlay } from "./overlay";

/**
 * The main job, end to end on this machine (scripts/demo.sh installs what it needs first):
 * lab up, `pulumi up` of the repository's root program (index.ts: a VXLAN overlay, a bridge
 * and a container per host) on three lab hosts, pings between the containers on different
 * hosts across the overlay, then `pulumi destroy` and lab down. `--keep` leaves the stack and
 * the lab up and prints how to drive the stack with `pulumi` by hand.
 */
const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });
const started = Date.now();
const say = (line: string) => console.log(`\n==> [${Math.round((Date.now() - started) / 1000)}s] ${line}`);

async function main(): Promise<void> {
  // A lab someone already has up (e.g. with VM hosts for the tests) is used as it is and left up.
  const existing = await labStatus().catch(() => "");
  const reuse = existing.includes("h3 ") && !existing.includes("DOWN") && !existing.includes("DEAD");
  say(reuse ? "using the lab that is already up" : "lab up: 3 hosts (network namespaces running sshd on an underlay bridge)");
  const state = reuse ? readLabState() : await labUp({ hosts: 3 });
  // The last host as a cloud image has it: root refused, an admin user with NOPASSWD sudo.
  const hosts = state.hosts
    .filter((h) => h.kind === "netns" && !h.via)
    .map((h, i, all) => (i === all.length - 1 && state.sudo ? { ...h, port: state.sudo.rootRefusedPort, username: state.sudo.users.nopasswd } : h));

  const logins = hosts.map((h) => (h.username === "root" ? h.name : `${h.name} (as ${h.username}, through sudo)`));
  say(`pulumi up of the root program (index.ts): a VXLAN mesh, a bridge and a container per host, on ${logins.join(", ")}`);
  const { stack } = await overlayStack(hosts, { inPlace: true });
  const up = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  console.log(`overlay MTU ${up.outputs.overlayMtu?.value}`);

  say("ping between containers on different hosts, across the overlay");
  const pings = await pingAcrossOverlay(hosts);
  for (const p of pings) console.log(`  c-${p.from} -> c-${p.to} (${p.address}): ${p.ok ? "ok" : "FAILED"} ${p.detail}`);
  const failed = pings.filter((p) => !p.ok).length;
  console.log(`${pings.length - failed} passed, ${failed} failed`);

  if (values.keep) {
    say("--keep: the stack and the lab stay up. Drive the stack by hand from the repository root:");
    console.log(byHandCommands());
  } else {
    say("pulumi destroy");
    await stack.destroy({ onOutput: (out) => process.stdout.write(out) });
    if (!reuse) {
      say("lab down");
      await labDown();
    }
  }
  sshPool().closeAll();
  say(failed ? "demo failed" : "demo done");
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
