import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { expectRejected, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has no geneve module; the full-kernel VM lab host has it.
describe("Geneve on a VM lab host", () => {
  it("goes through the whole lifecycle: remote, ttl, tos and df in place, VNI and port replace", async () => {
    await runLifecycle({
      type: "Geneve",
      host: "vm1",
      inputs: { name: "ndgnv0", vni: 5000, remote: "10.247.0.12", ttl: 64, df: "set", mtu: 1450 },
      verifyCreated(link) {
        expect(link.linkinfo.info_data).toMatchObject({ id: 5000, remote: "10.247.0.12", port: 6081, ttl: 64, df: "set" });
        expect(link.mtu).toBe(1450);
      },
      inPlace: [
        {
          patch: { remote: "10.247.0.13", ttl: "inherit", tos: 16 },
          verify: (link) => {
            expect(link.linkinfo.info_data).toMatchObject({ id: 5000, remote: "10.247.0.13", tos: "0x10", df: "set" });
            expect(link.linkinfo.info_data.ttl).toBeUndefined(); // `ip -json` leaves out an inherited ttl
          },
        },
        { patch: { remote: "10.247.0.13", ttl: 9, df: "inherit" }, verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ ttl: 9, df: "inherit" }) },
        // Dropping fields puts the kernel's defaults back.
        {
          patch: { remote: "10.247.0.13", ttl: undefined, df: undefined },
          verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ remote: "10.247.0.13", ttl: 0, df: "unset" }),
        },
      ],
      replace: {
        patch: { vni: 5001, dstPort: 6082 },
        verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ id: 5001, port: 6082, remote: "10.247.0.12", ttl: 64, df: "set" }),
      },
      outOfBandCreate: ["ip", "link", "add", "ndgnv0", "type", "geneve", "id", "5001", "remote", "10.247.0.12", "dstport", "6082"],
    });
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Geneve", "vm1", { name: "ndgnv1", vni: 1, remote: "10.247.0.12" }, [
      [{ vni: 16_777_216 }, "vni"],
      [{ vni: -1 }, "vni"],
      [{ remote: undefined }, "remote"],
      [{ remote: "10.0.0.300" }, "remote"],
      [{ remote: "239.1.1.1" }, "remote"],
      [{ remote: "0.0.0.0" }, "remote"],
      [{ dstPort: 0 }, "dstPort"],
      [{ ttl: 256 }, "ttl"],
      [{ ttl: "auto" }, "ttl"],
      [{ tos: 300 }, "tos"],
      [{ df: "maybe" }, "df"],
    ]);
  });
});
