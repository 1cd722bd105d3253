import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../ssh/pool";
import { deviceEngine as engineFor } from "../registry";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { expectRejected, hostLink } from "../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has neither ipvlan, 8021q, dummy, geneve, ip_gre, bonding nor vrf; netns lab hosts share it.
describe("kinds the netns hosts' kernel lacks", () => {
  it.each([
    ["Ipvlan", { name: "ndipv0", mode: "l2" }, /kernel on root@10\.247\.0\.11:22 lacks ipvlan support/],
    ["Vlan", { name: "ndvl0", vlanId: 10 }, /kernel on root@10\.247\.0\.11:22 lacks 802\.1Q VLAN \(8021q\) support/],
  ])("%s fails with a clear error and leaves nothing", async (type, inputs, message) => {
    const engine = engineFor(type);
    const checked = engine.check({ connection: connectionInput("h1"), parent: host("h1").underlayInterface, ...inputs });
    expect(checked.failures).toEqual([]);
    await expect(engine.create(checked.inputs)).rejects.toThrow(message);
    expect(await hostLink("h1", undefined, inputs.name)).toBeUndefined();
  });

  it.each([
    ["Dummy", { name: "nddum0" }, /kernel on root@10\.247\.0\.11:22 lacks dummy support/],
    ["Geneve", { name: "ndgnv0", vni: 10, remote: "10.247.0.12" }, /kernel on root@10\.247\.0\.11:22 lacks geneve support/],
    ["Gre", { name: "ndgre0", remote: "10.247.0.12" }, /kernel on root@10\.247\.0\.11:22 lacks GRE \(ip_gre\) support/],
    ["Gre", { name: "ndgtap0", mode: "gretap", remote: "10.247.0.12" }, /kernel on root@10\.247\.0\.11:22 lacks GRE \(ip_gre\) support/],
    ["Bond", { name: "ndbond0", mode: "active-backup" }, /kernel on root@10\.247\.0\.11:22 lacks bonding support/],
    ["Vrf", { name: "ndvrf0", table: 10 }, /kernel on root@10\.247\.0\.11:22 lacks vrf support/],
  ])("%s (no parent) fails with a clear error and leaves nothing", async (type, inputs, message) => {
    const engine = engineFor(type);
    const checked = engine.check({ connection: connectionInput("h1"), ...inputs });
    expect(checked.failures).toEqual([]);
    await expect(engine.create(checked.inputs)).rejects.toThrow(message);
    expect(await hostLink("h1", undefined, inputs.name)).toBeUndefined();
  });

  it("Ipvlan and Vlan refuse bad inputs with the field named", () => {
    expectRejected("Vlan", "h1", { name: "ndvl1", parent: "eth0", vlanId: 10 }, [
      [{ vlanId: 0 }, "vlanId"],
      [{ vlanId: 4095 }, "vlanId"],
      [{ protocol: "802.1x" }, "protocol"],
    ]);
    expectRejected("Ipvlan", "h1", { name: "ndipv1", parent: "eth0" }, [
      [{ mode: "l4" }, "mode"],
      [{ flag: "promisc" }, "flag"],
    ]);
  });
});
