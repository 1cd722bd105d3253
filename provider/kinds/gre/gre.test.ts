import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { host } from "../../../test/support/lab-hosts";
import { expectRejected, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has no ip_gre module; the full-kernel VM lab host has it.
describe("Gre on a VM lab host", () => {
  it("goes through the whole lifecycle: local, remote, key and ttl in place, gre to gretap replaces", async () => {
    const local = host("vm1").underlayAddress;
    await runLifecycle({
      type: "Gre",
      host: "vm1",
      inputs: { name: "ndgre0", local, remote: "10.247.0.12", key: 5, ttl: 64 },
      verifyCreated(link) {
        expect(link.linkinfo.info_kind).toBe("gre");
        expect(link.linkinfo.info_data).toMatchObject({ local, remote: "10.247.0.12", ikey: "0.0.0.5", okey: "0.0.0.5", ttl: 64 });
      },
      inPlace: [
        {
          patch: { remote: "10.247.0.13", key: 260, ttl: 0 },
          verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ local, remote: "10.247.0.13", ikey: "0.0.1.4", okey: "0.0.1.4", ttl: 0 }),
        },
        // Dropping fields puts back what a new device would have: no key, any local address.
        {
          patch: { remote: "10.247.0.13", local: undefined, key: undefined, ttl: undefined, mtu: 1400 },
          verify: (link) => {
            expect(link.linkinfo.info_data).toMatchObject({ local: "any", remote: "10.247.0.13", ttl: 0 });
            expect(link.linkinfo.info_data.ikey).toBeUndefined();
            expect(link.mtu).toBe(1400);
          },
        },
      ],
      replace: {
        patch: { mode: "gretap" },
        verify: (link) => {
          expect(link.linkinfo.info_kind).toBe("gretap");
          expect(link.linkinfo.info_data).toMatchObject({ local, remote: "10.247.0.12", ikey: "0.0.0.5", ttl: 64 });
        },
      },
      outOfBandCreate: ["ip", "link", "add", "ndgre0", "type", "gretap", "remote", "10.247.0.12", "key", "5"],
    });
  });

  it("a gretap changes its endpoints in place too", async () => {
    await runLifecycle({
      type: "Gre",
      host: "vm1",
      inputs: { name: "ndgtap0", mode: "gretap", remote: "10.247.0.21" },
      verifyCreated: (link) => expect(link.linkinfo).toMatchObject({ info_kind: "gretap", info_data: { remote: "10.247.0.21", local: "any" } }),
      inPlace: [
        {
          patch: { remote: "10.247.0.22", key: 7 },
          verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ remote: "10.247.0.22", ikey: "0.0.0.7" }),
        },
      ],
      replace: { patch: { mode: "gre" }, verify: (link) => expect(link.linkinfo.info_kind).toBe("gre") },
      outOfBandCreate: ["ip", "link", "add", "ndgtap0", "type", "gre", "remote", "10.247.0.21"],
    });
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Gre", "vm1", { name: "ndgre1", remote: "10.247.0.12" }, [
      [{ mode: "ip6gre" }, "mode"],
      [{ remote: undefined }, "remote"],
      [{ remote: "fd00::1" }, "remote"],
      [{ remote: "239.1.1.1" }, "remote"],
      [{ local: "0.0.0.0" }, "local"],
      [{ key: 4_294_967_296 }, "key"],
      [{ key: -1 }, "key"],
      [{ ttl: 256 }, "ttl"],
    ]);
  });
});
