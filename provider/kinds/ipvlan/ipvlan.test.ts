import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { deviceEngine as engineFor } from "../../registry";
import { connectionInput } from "../../../test/support/lab-hosts";
import { hostLink, runLifecycle, scratchParent } from "../../../test/support/lifecycle";

let parentDevice: Awaited<ReturnType<typeof scratchParent>>;
beforeAll(async () => {
  parentDevice = await scratchParent("vm1", "ndipvpar");
});
afterAll(async () => {
  await parentDevice?.remove();
  sshPool().closeAll();
});

// ipvlan needs a kernel with the module: the full-kernel VM lab host has it.
describe("Ipvlan on a VM lab host", () => {
  it.each([
    ["l2", "bridge"],
    ["l3", "private"],
    ["l3s", "vepa"],
  ])("goes through the whole lifecycle in mode %s (%s)", async (mode, flag) => {
    const parent = parentDevice.name;
    await runLifecycle({
      type: "Ipvlan",
      host: "vm1",
      inputs: { name: `ndipv${mode}`, parent, mode, flag, addresses: ["192.168.80.1/24"] },
      async verifyCreated(link) {
        expect(link.link).toBe(parent);
        expect(link.linkinfo.info_data.mode).toBe(mode);
        // ipvlan shares the parent's MAC
        expect(link.address).toBe((await hostLink("vm1", undefined, parent)).address);
      },
      inPlace: [
        { patch: { mtu: 1400 }, verify: (link) => expect(link.mtu).toBe(1400) },
        {
          patch: { mtu: 1400, addresses: ["192.168.80.2/24"], alias: "ipvlan test" },
          verify: (link) => {
            expect(link.addr_info.filter((a: any) => a.scope !== "link").map((a: any) => a.local)).toEqual(["192.168.80.2"]);
            expect(link.ifalias).toMatch(/ ipvlan test$/);
          },
        },
      ],
      replace: {
        patch: { mode: mode === "l2" ? "l3" : "l2", flag: "bridge" },
        verify: (link) => expect(link.linkinfo.info_data.mode).toBe(mode === "l2" ? "l3" : "l2"),
      },
      outOfBandCreate: ["ip", "link", "add", `ndipv${mode}`, "link", parent, "type", "ipvlan", "mode", mode === "l2" ? "l3" : "l2", "bridge"],
    });
  });

  it("refuses a second ipvlan on the same parent in another mode, naming the sibling", async () => {
    const engine = engineFor("Ipvlan");
    const parent = parentDevice.name;
    const first = engine.check({ connection: connectionInput("vm1"), name: "ndipvsib1", parent, mode: "l2" });
    const made = await engine.create(first.inputs);
    try {
      const second = engine.check({ connection: connectionInput("vm1"), name: "ndipvsib2", parent, mode: "l3" });
      await expect(engine.create(second.inputs)).rejects.toThrow(/ipvlan ndipvsib1 on ndipvpar runs in mode l2 \(bridge\).*cannot be l3/);
      expect(await hostLink("vm1", undefined, "ndipvsib2")).toBeUndefined();
      expect((await hostLink("vm1", undefined, "ndipvsib1")).linkinfo.info_data.mode).toBe("l2");
    } finally {
      await engine.delete(made.id, made.outs);
    }
  });
});
