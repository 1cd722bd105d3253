import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { host } from "../../../test/support/lab-hosts";
import { expectRejected, onHost, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

async function floodList(hostName: string, dev: string): Promise<string[]> {
  const fdb = JSON.parse(await onHost(hostName, ["bridge", "-json", "fdb", "show", "dev", dev])) as Array<{ mac: string; dst?: string }>;
  return fdb
    .filter((e) => e.mac === "00:00:00:00:00:00")
    .map((e) => e.dst!)
    .sort();
}

describe("VxlanTunnel on a netns lab host", () => {
  it("goes through the whole lifecycle with unicast peers changed in place", async () => {
    const h2 = host("h2");
    await runLifecycle({
      type: "VxlanTunnel",
      host: "h2",
      inputs: {
        name: "ndvx0",
        vni: 4242,
        local: h2.underlayAddress,
        dev: h2.underlayInterface,
        peers: ["10.247.0.11", "10.247.0.13"],
        learning: false,
        mtu: 1450,
      },
      async verifyCreated(link) {
        expect(link.linkinfo.info_data).toMatchObject({ id: 4242, port: 4789, local: h2.underlayAddress, learning: false });
        expect(link.mtu).toBe(1450);
        expect(await floodList("h2", "ndvx0")).toEqual(["10.247.0.11", "10.247.0.13"]);
      },
      inPlace: [
        {
          patch: { peers: ["10.247.0.11", "10.247.0.13", "10.247.0.14"], mtu: 1450 },
          verify: async () => expect(await floodList("h2", "ndvx0")).toEqual(["10.247.0.11", "10.247.0.13", "10.247.0.14"]),
        },
        {
          patch: { peers: ["10.247.0.13"], mtu: 1450, addresses: ["172.30.0.2/24"] },
          verify: async () => expect(await floodList("h2", "ndvx0")).toEqual(["10.247.0.13"]),
        },
      ],
      replace: {
        patch: { vni: 4343, dstPort: 8472, peers: ["10.247.0.11"], mtu: 1450 },
        verify: async (link) => {
          expect(link.linkinfo.info_data).toMatchObject({ id: 4343, port: 8472 });
          expect(await floodList("h2", "ndvx0")).toEqual(["10.247.0.11"]);
        },
      },
      outOfBandCreate: [
        "sh",
        "-c",
        "ip link add ndvx0 type vxlan id 4343 dstport 8472 local 10.247.0.12 dev eth0 nolearning && bridge fdb append 00:00:00:00:00:00 dev ndvx0 dst 10.247.0.11",
      ],
    });
  });

  it("refuses bad inputs with the field named", () => {
    expectRejected("VxlanTunnel", "h2", { name: "ndvx1", vni: 1 }, [
      [{ vni: 16_777_216 }, "vni"],
      [{ vni: -1 }, "vni"],
      [{ dstPort: 0 }, "dstPort"],
      [{ remote: "10.0.0.300" }, "remote"],
      [{ remote: "10.247.0.11", group: "239.1.1.1", dev: "eth0" }, "group"],
      [{ group: "239.1.1.1" }, "dev"],
      [{ group: "10.1.1.1", dev: "eth0" }, "group"],
      [{ peers: ["10.247.0.11", "not-an-ip"] }, "peers"],
      [{ remote: "10.247.0.11", peers: ["10.247.0.13"] }, "peers"],
      [{ ttl: 256 }, "ttl"],
    ]);
  });
});
