import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { host } from "../../../test/support/lab-hosts";
import { expectRejected, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

describe("Macvlan on a netns lab host", () => {
  it("goes through the whole lifecycle, and becomes a macvtap on replace", async () => {
    const parent = host("h1").underlayInterface;
    await runLifecycle({
      type: "Macvlan",
      host: "h1",
      inputs: { name: "ndmv0", parent, mode: "bridge", addresses: ["192.168.79.1/24"] },
      verifyCreated(link) {
        expect(link.link).toBe(parent);
        expect(link.linkinfo.info_data.mode).toBe("bridge");
      },
      inPlace: [
        { patch: { mode: "private" }, verify: (link) => expect(link.linkinfo.info_data.mode).toBe("private") },
        {
          patch: { mode: "vepa", mtu: 1400 },
          verify: (link) => {
            expect(link.linkinfo.info_data.mode).toBe("vepa");
            expect(link.mtu).toBe(1400);
          },
        },
      ],
      replace: { patch: { tap: true, mode: "bridge" }, verify: (link) => expect(link.linkinfo.info_kind).toBe("macvtap") },
      outOfBandCreate: ["ip", "link", "add", "ndmv0", "link", parent, "type", "macvtap", "mode", "bridge"],
    });
  });

  it("refuses bad inputs with the field named", () => {
    expectRejected("Macvlan", "h1", { name: "ndmv1", parent: "eth0" }, [
      [{ mode: "bridged" }, "mode"],
      [{ parent: "eth0 " }, "parent"],
      [{ parent: undefined }, "parent"],
    ]);
  });
});
