import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { deviceEngine } from "../../registry";
import { sshPool } from "../../ssh/pool";
import { connectionInput, host } from "../../../test/support/lab-hosts";
import { hostLink } from "../../../test/support/lifecycle";
import { exec } from "../../../test/support/components";
import { namespaceEngine } from "./namespace";

/**
 * A NetworkNamespace's delete checks that nothing but lo is in it, then deletes it. A device
 * that another stack creates in it by name (`netns: "<name>"`) at that moment must not die
 * with it: either the delete sees it and refuses, or the create comes after and makes the
 * namespace again. The two sides use separate SSH connections, as two stacks would.
 */
const HOST = "h2";
const ROUNDS = 24;
const NETNS = "ndrace-owned";
const DEVICE = "ndraceo";

function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1]!, "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NetworkNamespace delete vs a device created in it by another stack", () => {
  afterAll(async () => {
    await exec(HOST, ["ip", "netns", "del", NETNS]);
    sshPool().closeAll();
  }, 60_000);

  it(`${ROUNDS} interleavings: every create succeeds, and no device it made is deleted with the namespace`, async () => {
    await exec(HOST, ["ip", "netns", "del", NETNS]);
    const bridge = deviceEngine("Bridge");
    const owner = namespaceEngine.check({ connection: connectionInput(HOST), name: NETNS }).inputs;
    const other = bridge.check({ connection: connectionInput(HOST, { hostKey: fingerprint(host(HOST).hostPublicKey) }), name: DEVICE, netns: NETNS }).inputs;
    const probe = await namespaceEngine.create(owner);
    const started = Date.now();
    await namespaceEngine.delete(probe.id, probe.outs);
    const span = Math.max(20, Date.now() - started);
    const lost: string[] = [];
    const failed: string[] = [];
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ns = await namespaceEngine.create(owner);
      const offset = Math.round(((round % 12) / 11) * span * 1.2 - span * 0.1);
      const deleting = sleep(Math.max(0, -offset)).then(() =>
        namespaceEngine.delete(ns.id, ns.outs).then(
          () => true,
          (error: Error) => error,
        ),
      );
      const creating = sleep(Math.max(0, offset)).then(() => bridge.create(other).catch((error: Error) => error));
      const [deleted, created] = await Promise.all([deleting, creating]);
      const when = `round ${round}, create ${offset} ms after the delete began`;
      if (deleted instanceof Error) {
        expect(deleted.message, when).toMatch(/still holds ndraceo/);
        refused++;
      }
      if (created instanceof Error) failed.push(`${when}: ${created.message}`);
      else if (!(await hostLink(HOST, NETNS, DEVICE))) lost.push(when);
      else await bridge.delete(created.id, created.outs);
      if (deleted instanceof Error) await namespaceEngine.delete(ns.id, ns.outs);
      await exec(HOST, ["ip", "netns", "del", NETNS]);
    }
    expect({ lost, failed }).toEqual({ lost: [], failed: [] });
    console.log(`${refused} of ${ROUNDS} deletes saw the device and refused; the others came first`);
  }, 300_000);
});
