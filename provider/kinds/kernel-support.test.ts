import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../ssh/pool";
import { deviceEngine as engineFor } from "../registry";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { expectRejected, hostLink } from "../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has neither ipvlan, 8021q nor wireguard; netns lab hosts share it.
describe("kinds the netns hosts' kernel lacks", () => {
  it.each([
    ["Ipvlan", { name: "ndipv0", mode: "l2" }, /kernel on root@10\.247\.0\.11:22 lacks ipvlan support/],
    ["Vlan", { name: "ndvl0", vlanId: 10 }, /kernel on root@10\.247\.0\.11:22 lacks 802\.1Q VLAN \(8021q\) support/],
    // The add fails first: the `wg set` that reads the key from stdin never runs.
    ["WireguardInterface", { name: "ndwg0", privateKey: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", listenPort: 51820 }, /kernel on root@10\.247\.0\.11:22 lacks wireguard support/],
  ])("%s fails with a clear error and leaves nothing", async (type, inputs, message) => {
    const engine = engineFor(type);
    const parent = engine.kind.hasParent ? { parent: host("h1").underlayInterface } : {};
    const checked = engine.check({ connection: connectionInput("h1"), ...parent, ...inputs });
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
