import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { deviceEngine as engineFor } from "../../registry";
import { connectionInput } from "../../../test/support/lab-hosts";
import { expectRejected, hostLink, onHost, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

describe("TunDevice on a netns lab host", () => {
  it("goes through the whole lifecycle", async () => {
    await runLifecycle({
      type: "TunDevice",
      host: "h2",
      inputs: { name: "ndtap0", mode: "tap", owner: 1000, group: 1000, vnetHdr: true, mtu: 1400, addresses: ["192.168.78.1/24"] },
      verifyCreated(link, outs) {
        expect(link.linkinfo.info_data).toMatchObject({ type: "tap", vnet_hdr: true, multi_queue: false, pi: false, persist: true });
        expect(link.mtu).toBe(1400);
        expect(outs).toMatchObject({ owner: 1000, group: 1000, mode: "tap" });
      },
      inPlace: [
        { patch: { mtu: 1300, vnetHdr: true, owner: 1000, group: 1000 }, verify: (link) => expect(link.mtu).toBe(1300) },
        {
          patch: { mtu: 1300, vnetHdr: true, owner: 1000, group: 1000, macAddress: "02:00:00:00:78:01", addresses: [] },
          verify: (link) => {
            expect(link.address).toBe("02:00:00:00:78:01");
            expect(link.addr_info.filter((a: any) => a.scope !== "link")).toEqual([]);
          },
        },
      ],
      replace: {
        patch: { mode: "tun", packetInfo: true, multiQueue: true },
        verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ type: "tun", pi: true, multi_queue: true }),
      },
      outOfBandCreate: ["ip", "tuntap", "add", "dev", "ndtap0", "mode", "tun", "user", "1000", "group", "1000", "vnet_hdr", "pi", "multi_queue"],
    });
  });

  it("refuses to adopt a device whose fixed fields differ, naming them", async () => {
    const engine = engineFor("TunDevice");
    await onHost("h2", ["ip", "tuntap", "add", "dev", "ndtun2", "mode", "tap"]);
    try {
      const { inputs } = engine.check({ connection: connectionInput("h2"), name: "ndtun2", mode: "tun", adopt: true });
      await expect(engine.create(inputs)).rejects.toThrow(/cannot adopt .*mode is "tap" on the host, "tun" in the inputs/);
      expect((await hostLink("h2", undefined, "ndtun2")).ifalias).toBeUndefined();
    } finally {
      await onHost("h2", ["ip", "link", "del", "dev", "ndtun2"]);
    }
  });

  it("refuses bad inputs with the field named", () => {
    expectRejected("TunDevice", "h2", { name: "ndtun1", mode: "tun" }, [
      [{ mode: "tunnel" }, "mode"],
      [{ owner: -1 }, "owner"],
      [{ group: 1.5 }, "group"],
      [{ name: "tun0`id`" }, "name"],
    ]);
  });
});
