import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { expectRejected, hostLink, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

const addrs = (link: any) =>
  link.addr_info
    .filter((a: any) => a.scope !== "link")
    .map((a: any) => `${a.local}/${a.prefixlen}`)
    .sort();

describe("VethPair on a netns lab host", () => {
  it("goes through the whole lifecycle, with the peer in a container namespace", async () => {
    await runLifecycle({
      type: "VethPair",
      host: "h3",
      inputs: {
        name: "ndveth0",
        peerName: "eth0",
        peerNetns: "ndc1",
        peerMacAddress: "02:00:00:99:00:02",
        addresses: ["10.99.0.1/30"],
        peerAddresses: ["10.99.0.2/30"],
      },
      async verifyCreated(link) {
        expect(addrs(link)).toEqual(["10.99.0.1/30"]);
        const peer = await hostLink("h3", "ndc1", "eth0");
        expect(peer.linkinfo.info_kind).toBe("veth");
        expect(addrs(peer)).toEqual(["10.99.0.2/30"]);
        expect(peer.flags).toContain("UP");
        expect(peer.address).toBe("02:00:00:99:00:02");
      },
      inPlace: [
        {
          patch: { peerMtu: 1450, mtu: 1450, peerMacAddress: "02:00:00:99:00:03" },
          verify: async (link) => {
            expect(link.mtu).toBe(1450);
            const peer = await hostLink("h3", "ndc1", "eth0");
            expect(peer.mtu).toBe(1450);
            expect(peer.address).toBe("02:00:00:99:00:03");
          },
        },
        {
          patch: { mtu: 1450, peerMtu: 1450, peerAddresses: ["10.99.0.6/30"], addresses: ["10.99.0.5/30"], peerUp: false },
          verify: async (link) => {
            expect(addrs(link)).toEqual(["10.99.0.5/30"]);
            const peer = await hostLink("h3", "ndc1", "eth0");
            expect(addrs(peer)).toEqual(["10.99.0.6/30"]);
            expect(peer.flags).not.toContain("UP");
            expect(peer.address).toBe("02:00:00:99:00:02");
          },
        },
      ],
      replace: {
        patch: { peerName: "eth1" },
        verify: async () => {
          expect(await hostLink("h3", "ndc1", "eth1")).toBeDefined();
          expect(await hostLink("h3", "ndc1", "eth0")).toBeUndefined();
        },
      },
      outOfBandCreate: ["ip", "link", "add", "ndveth0", "type", "veth", "peer", "name", "eth1", "netns", "ndc1"],
    });
    expect(await hostLink("h3", "ndc1", "eth1")).toBeUndefined();
  });

  it("refuses bad inputs with the field named", () => {
    expectRejected("VethPair", "h3", { name: "ndveth1", peerName: "ndveth1p" }, [
      [{ peerName: "ndveth1" }, "peerName"],
      [{ peerName: "x".repeat(16) }, "peerName"],
      [{ peerNetns: "a/b" }, "peerNetns"],
      [{ peerAddresses: ["fe80::1"] }, "peerAddresses"],
      [{ peerMacAddress: "01:00:5e:00:00:01" }, "peerMacAddress"],
    ]);
  });
});
