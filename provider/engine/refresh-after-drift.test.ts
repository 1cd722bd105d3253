import { generateKeyPairSync } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { HOST_KEY_DIFFERS } from "../kinds/wireguard/wireguard";
import { deviceEngine } from "../registry";
import { sshPool } from "../ssh/pool";
import { connection, connectionInput } from "../../test/support/lab-hosts";
import { onHost } from "../../test/support/lifecycle";

/**
 * A refresh stores what it found on the host, drift included, as the resource's outputs; the
 * next refresh starts from those. They are not inputs and need not pass input validation: a
 * persisted resource's second refresh after drift must read the device as the first did.
 * (State says persist "networkd"; these hosts have none of its boot files, so the first refresh
 * finds them "drifted", which the second keeps.)
 */
afterAll(() => sshPool().closeAll());

function genkey(): string {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("base64");
}

describe("a second refresh after drift", () => {
  it("WireguardInterface on vm1 whose key was changed by hand: privateKey reads (host key differs) both times", async () => {
    const engine = deviceEngine("WireguardInterface");
    const name = "ndwgdrift0";
    await sshPool().exec(connection("vm1"), ["ip", "link", "del", "dev", name]);
    const desired = engine.check({ connection: connectionInput("vm1"), name, privateKey: genkey() });
    expect(desired.failures).toEqual([]);
    const { id, outs } = await engine.create(desired.inputs);
    try {
      await sshPool().run(connection("vm1"), ["wg", "set", name, "private-key", "/proc/self/fd/0"], { stdin: `${genkey()}\n` });
      const first = await engine.read(id, { ...outs, persist: "networkd" });
      expect(first.props.privateKey).toBe(HOST_KEY_DIFFERS);
      expect(first.props.persist).toBe("drifted");
      const second = await engine.read(id, first.props);
      expect(second).toEqual(first);
    } finally {
      await engine.delete(id, outs);
    }
  }, 120_000);

  it("Bridge on h2 whose alias was set by hand to one that ends in a backslash", async () => {
    const engine = deviceEngine("Bridge");
    const name = "ndbrdrift0";
    await sshPool().exec(connection("h2"), ["ip", "link", "del", "dev", name]);
    const desired = engine.check({ connection: connectionInput("h2"), name, alias: "note" });
    expect(desired.failures).toEqual([]);
    const { id, outs } = await engine.create(desired.inputs);
    try {
      const tagged = (await onHost("h2", ["cat", `/sys/class/net/${name}/ifalias`])).trim();
      await onHost("h2", ["ip", "link", "set", "dev", name, "alias", tagged.replace(/ note$/, " by hand\\")]);
      const first = await engine.read(id, { ...outs, persist: "networkd" });
      expect(first.props.alias).toBe("by hand\\");
      const second = await engine.read(id, first.props);
      expect(second).toEqual(first);
    } finally {
      await engine.delete(id, outs);
    }
  }, 60_000);
});
