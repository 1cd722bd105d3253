import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { expectRejected, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has no dummy module; the full-kernel VM lab host has it.
describe("Dummy on a VM lab host", () => {
  it("goes through the whole lifecycle", async () => {
    await runLifecycle({
      type: "Dummy",
      host: "vm1",
      inputs: { name: "nddum0", addresses: ["192.168.90.1/32"], alias: "router id" },
      verifyCreated(link, outs) {
        expect(link.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("192.168.90.1/32");
        expect(link.flags).toContain("UP");
        expect(outs.alias).toBe("router id");
      },
      inPlace: [
        { patch: { mtu: 9000 }, verify: (link) => expect(link.mtu).toBe(9000) },
        {
          patch: { mtu: 9000, addresses: ["192.168.90.2/32", "fd90::1/128"], macAddress: "02:00:00:00:90:01" },
          verify: (link) => {
            expect(
              link.addr_info
                .filter((a: any) => a.scope !== "link")
                .map((a: any) => `${a.local}/${a.prefixlen}`)
                .sort(),
            ).toEqual(["192.168.90.2/32", "fd90::1/128"]);
            expect(link.address).toBe("02:00:00:00:90:01");
          },
        },
        { patch: { mtu: 9000, up: false }, verify: (link) => expect(link.flags).not.toContain("UP") },
      ],
      replace: { patch: { name: "nddum1" }, verify: (link) => expect(link.linkinfo.info_kind).toBe("dummy") },
      outOfBandCreate: ["ip", "link", "add", "nddum1", "type", "dummy"],
    });
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Dummy", "vm1", { name: "nddum2" }, [
      [{ name: "dum;reboot" }, "name"],
      [{ mtu: 10 }, "mtu"],
      [{ addresses: ["192.168.90.1"] }, "addresses"],
      [{ master: "nddum2" }, "master"],
      [{ mode: "tap" }, "mode"],
    ]);
  });
});
