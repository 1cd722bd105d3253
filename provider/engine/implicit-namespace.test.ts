import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { hostLink } from "../../test/support/lifecycle";
import { exec } from "../../test/support/components";
import { parseConnection } from "../ssh/connection";
import { HostShell } from "./host";
import { hostFacts } from "./preflight";

/**
 * The delete of the last device of an implicit namespace (made for a device's `netns`, no
 * NetworkNamespace resource) removes the namespace; a create of another device in that
 * namespace at the same moment must either keep it or make it again, never report success for
 * a device that then dies with the namespace. The two sides run as two stacks would: separate
 * SSH connections (another host-key pin is another pool entry), so only the host can order them.
 * On a netns host (util-linux flock) and a busybox VM (no flock: the mkdir lock).
 */
const ROUNDS = 40;
/** The VM runs under TCG (a round costs ~15 s there): enough for the lock's other implementation. */
const VM_ROUNDS = 6;
const NETNS = "ndrace-impl";
const FIRST = "ndracea";
const SECOND = "ndraceb";

/** The host key as an OpenSSH SHA256 fingerprint: the same host, another connection pool. */
function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1]!, "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

async function clean(hostName: string): Promise<void> {
  await exec(hostName, ["ip", "netns", "del", NETNS]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Devices a create reported made that were gone right after, and creates that failed. */
async function race(hostName: string, rounds: number): Promise<{ lost: string[]; failed: string[] }> {
  const engine = engineFor("Bridge");
  const stackA = connectionInput(hostName);
  const stackB = connectionInput(hostName, { hostKey: fingerprint(host(hostName).hostPublicKey) });
  const first = engine.check({ connection: stackA, name: FIRST, netns: NETNS }).inputs;
  const second = engine.check({ connection: stackB, name: SECOND, netns: NETNS }).inputs;
  // How long a delete takes here, so the create's start can be spread across it.
  const probe = await engine.create(first);
  const started = Date.now();
  await engine.delete(probe.id, probe.outs);
  const span = Math.max(20, Date.now() - started);
  const lost: string[] = [];
  const failed: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const made = await engine.create(first);
    // From a little before the delete starts to its end: every point of its two steps is hit.
    const sweep = Math.min(rounds, 20);
    const offset = Math.round(((round % sweep) / (sweep - 1)) * span * 1.2 - span * 0.1);
    const deleting = sleep(Math.max(0, -offset)).then(() => engine.delete(made.id, made.outs));
    const creating = sleep(Math.max(0, offset)).then(() => engine.create(second).catch((error: Error) => error));
    const [, created] = await Promise.all([deleting, creating]);
    const when = `round ${round}, create ${offset} ms after the delete began`;
    if (created instanceof Error) failed.push(`${when}: ${created.message}`);
    else if (!(await hostLink(hostName, NETNS, SECOND))) lost.push(when);
    else await engine.delete(created.id, created.outs);
    await exec(hostName, ["ip", "-n", NETNS, "link", "del", "dev", SECOND]);
    await clean(hostName);
  }
  return { lost, failed };
}

describe("implicit namespace: removing it with its last device vs a create in it", () => {
  afterAll(async () => {
    for (const name of ["h2", "vm1"]) await clean(name).catch(() => undefined);
    sshPool().closeAll();
  }, 60_000);

  it("a create in a namespace that does not exist yet is one command; the delete of its last device, two", async () => {
    await clean("h2");
    const engine = engineFor("Bridge");
    const pool = sshPool();
    await exec("h2", ["true"]);
    // The host's capabilities are probed once per process (preflight.ts): done here, so what follows is the create's own.
    await hostFacts(new HostShell(parseConnection(connectionInput("h2"))), ["bridge"]);
    const before = pool.commandsStarted;
    const made = await engine.create(engine.check({ connection: connectionInput("h2"), name: FIRST, netns: NETNS }).inputs);
    expect(pool.commandsStarted - before, "namespace, lock, device and read-back in one script").toBe(1);
    const deleting = pool.commandsStarted;
    await engine.delete(made.id, made.outs);
    expect(pool.commandsStarted - deleting, "the owned delete, then the locked check-and-remove").toBe(2);
    expect((await exec("h2", ["ip", "netns", "list"])).stdout).not.toContain(NETNS);
  }, 60_000);

  it(`${ROUNDS} interleavings on a netns host (flock): every create succeeds and no device it made is lost`, async () => {
    await clean("h2");
    const { lost, failed } = await race("h2", ROUNDS);
    expect({ lost, failed }).toEqual({ lost: [], failed: [] });
  }, 300_000);

  it(`${VM_ROUNDS} interleavings on a busybox VM (mkdir lock): every create succeeds and no device it made is lost`, async () => {
    await clean("vm1");
    expect((await exec("vm1", ["sh", "-c", "command -v flock || echo none"])).stdout.trim()).toBe("none");
    const { lost, failed } = await race("vm1", VM_ROUNDS);
    expect({ lost, failed }).toEqual({ lost: [], failed: [] });
  }, 600_000);

  it("a mkdir lock left by a holder that was killed (its pid gone) does not block the next create", async () => {
    await clean("vm1");
    const lock = `/run/netdev/netns-${NETNS}.lock.d`;
    // A pid that is not running: a shell that has exited.
    await exec("vm1", ["sh", "-c", `mkdir -p ${lock} && sh -c 'echo $$' >${lock}/pid`]);
    const engine = engineFor("Bridge");
    const started = Date.now();
    const made = await engine.create(engine.check({ connection: connectionInput("vm1"), name: FIRST, netns: NETNS }).inputs);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(await hostLink("vm1", NETNS, FIRST)).toBeDefined();
    await engine.delete(made.id, made.outs);
    expect((await exec("vm1", ["ip", "netns", "list"])).stdout).not.toContain(NETNS);
    expect((await exec("vm1", ["ls", "/run/netdev"])).stdout).not.toContain(`${NETNS}.lock.d`);
  }, 120_000);
});
