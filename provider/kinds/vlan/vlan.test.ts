import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { runLifecycle, scratchParent } from "../../../test/support/lifecycle";

// Its own parent: a VLAN id can exist once per parent, and other tests use vm1's eth1.
let parentDevice: Awaited<ReturnType<typeof scratchParent>>;
beforeAll(async () => {
  parentDevice = await scratchParent("vm1", "ndvlpar");
});
afterAll(async () => {
  await parentDevice?.remove();
  sshPool().closeAll();
});

// 802.1Q needs the kernel's 8021q: the full-kernel VM lab host has it.
describe("Vlan on a VM lab host", () => {
  it.each([["802.1Q"], ["802.1ad"]])("goes through the whole lifecycle with protocol %s", async (protocol) => {
    const parent = parentDevice.name;
    const name = protocol === "802.1Q" ? "ndvl10" : "ndvlad10";
    await runLifecycle({
      type: "Vlan",
      host: "vm1",
      inputs: { name, parent, vlanId: 10, protocol, addresses: ["192.168.81.1/24"] },
      verifyCreated(link) {
        expect(link.link).toBe(parent);
        expect(link.linkinfo.info_data).toMatchObject({ protocol, id: 10 });
      },
      inPlace: [
        { patch: { mtu: 1400 }, verify: (link) => expect(link.mtu).toBe(1400) },
        { patch: { mtu: 1400, up: false }, verify: (link) => expect(link.flags).not.toContain("UP") },
      ],
      replace: { patch: { vlanId: 20 }, verify: (link) => expect(link.linkinfo.info_data.id).toBe(20) },
      outOfBandCreate: ["ip", "link", "add", name, "link", parent, "type", "vlan", "protocol", protocol, "id", "20"],
    });
  });
});
