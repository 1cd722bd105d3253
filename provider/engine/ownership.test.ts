import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connectionInput } from "../../test/support/lab-hosts";
import { hostLink, onHost } from "../../test/support/lifecycle";
import { exec } from "../../test/support/components";

/**
 * Ownership under faults, on a netns lab host: a create retried after `pulumi up` died takes
 * back its own device; a failed adopt leaves the device as it was; a namespace made only for a
 * device goes with it, one made otherwise stays.
 */
const HOST = "h2";
const BRIDGE = "ndown0";
const VETH = "ndownv0";
const IMPLICIT = "ndown-impl";
const KEPT = "ndown-kept";

async function clean(): Promise<void> {
  for (const dev of [BRIDGE, VETH]) await exec(HOST, ["ip", "link", "del", "dev", dev]);
  for (const ns of [IMPLICIT, KEPT]) await exec(HOST, ["ip", "netns", "del", ns]);
}

const namespaces = async () => (await exec(HOST, ["ip", "netns", "list"])).stdout;

describe("ownership under faults", () => {
  beforeEach(clean, 60_000);
  afterAll(async () => {
    await clean();
    sshPool().closeAll();
  }, 60_000);

  it("a create retried after a crash (device made, state never written) takes back its own device; another resource's key still collides", async () => {
    const engine = engineFor("Bridge");
    const inputs = engine.check({ connection: connectionInput(HOST), name: BRIDGE, mtu: 1400, ownerKey: "0123456789ab" }).inputs;
    const first = await engine.create(inputs);
    expect(first.id).toMatch(/#0123456789ab$/);
    // The CLI died here: the device exists, the state does not know it. The next `up` creates again.
    const retried = await engine.create({ ...inputs, mtu: 1300 });
    expect(retried.id).toBe(first.id);
    expect(retried.outs.ifindex).toBe(first.outs.ifindex);
    expect((await hostLink(HOST, undefined, BRIDGE)).mtu).toBe(1300);
    const other = engine.check({ connection: connectionInput(HOST), name: BRIDGE, ownerKey: "ba9876543210" }).inputs;
    await expect(engine.create(other)).rejects.toThrow(/already exists/);
    await expect(engine.create({ ...other, adopt: true })).rejects.toThrow(/already managed by another netdev resource \(owner tag 0123456789ab\)/);
    await engine.delete(retried.id, retried.outs);
    expect(await hostLink(HOST, undefined, BRIDGE)).toBeUndefined();
  });

  it("a failed adopt leaves the device untagged, with the alias it had", async () => {
    await onHost(HOST, ["ip", "link", "add", "name", BRIDGE, "type", "bridge"]);
    await onHost(HOST, ["ip", "link", "set", "dev", BRIDGE, "alias", "someone's switch"]);
    const engine = engineFor("Bridge");
    // master: a device that does not exist, so converging fails after the adopt checks passed.
    const inputs = engine.check({ connection: connectionInput(HOST), name: BRIDGE, adopt: true, alias: "mine now", master: "ndnosuchbr" }).inputs;
    await expect(engine.create(inputs)).rejects.toThrow(/master/);
    expect((await hostLink(HOST, undefined, BRIDGE)).ifalias).toBe("someone's switch");
    const { master: _master, ...fixed } = inputs;
    const adopted = await engine.create(fixed);
    expect((await hostLink(HOST, undefined, BRIDGE)).ifalias).toBe(`netdev#${adopted.id.split("#")[1]} mine now`);
    await engine.delete(adopted.id, adopted.outs);
  });

  it("a namespace made only for a device goes with it (also when the create fails); one that existed stays", async () => {
    const engine = engineFor("VethPair");
    const base = { connection: connectionInput(HOST), name: VETH, peerName: "eth0" };
    const made = await engine.create(engine.check({ ...base, peerNetns: IMPLICIT }).inputs);
    expect(await namespaces()).toContain(IMPLICIT);
    await engine.delete(made.id, made.outs);
    expect(await namespaces()).not.toContain(IMPLICIT);

    await expect(engine.create(engine.check({ ...base, peerNetns: IMPLICIT, master: "ndnosuchbr" }).inputs)).rejects.toThrow(/master/);
    expect(await namespaces()).not.toContain(IMPLICIT);
    expect(await hostLink(HOST, undefined, VETH)).toBeUndefined();

    await onHost(HOST, ["ip", "netns", "add", KEPT]);
    const inKept = await engine.create(engine.check({ ...base, peerNetns: KEPT }).inputs);
    await engine.delete(inKept.id, inKept.outs);
    expect(await namespaces()).toContain(KEPT);
  });
});
