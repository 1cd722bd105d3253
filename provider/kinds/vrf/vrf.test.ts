import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { deviceEngine as engineFor } from "../../registry";
import { connection, connectionInput } from "../../../test/support/lab-hosts";
import { expectRejected, hostLink, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has no vrf module; the full-kernel VM lab host has it.
describe("Vrf on a VM lab host", () => {
  it("goes through the whole lifecycle; a new table replaces it", async () => {
    await runLifecycle({
      type: "Vrf",
      host: "vm1",
      inputs: { name: "ndvrf0", table: 100 },
      verifyCreated(link) {
        expect(link.linkinfo.info_data).toEqual({ table: 100 });
        expect(link.flags).toContain("UP");
      },
      inPlace: [
        { patch: { mtu: 1500 }, verify: (link) => expect(link.mtu).toBe(1500) },
        {
          patch: { mtu: 1500, up: false, alias: "blue" },
          verify: (link) => {
            expect(link.flags).not.toContain("UP");
            expect(link.ifalias).toMatch(/ blue$/);
          },
        },
      ],
      // A VRF's own MTU (65575) is above what the mtu field takes: the drift step needs one it can set back.
      replace: { patch: { table: 101, mtu: 1500 }, verify: (link) => expect(link.linkinfo.info_data.table).toBe(101) },
      outOfBandCreate: ["ip", "link", "add", "ndvrf0", "type", "vrf", "table", "101"],
    });
  });

  it("enslaves a Dummy whose master is the VRF, and releases it with the VRF gone", async () => {
    const vrf = engineFor("Vrf");
    const dummy = engineFor("Dummy");
    for (const name of ["ndvrfm0", "ndvrf1"]) await sshPool().exec(connection("vm1"), ["ip", "link", "del", "dev", name]);
    const vrfInputs = vrf.check({ connection: connectionInput("vm1"), name: "ndvrf1", table: 110 });
    const member = dummy.check({ connection: connectionInput("vm1"), name: "ndvrfm0", master: "ndvrf1", addresses: ["192.168.110.1/24"] });
    expect([...vrfInputs.failures, ...member.failures]).toEqual([]);
    const madeVrf = await vrf.create(vrfInputs.inputs);
    try {
      const madeMember = await dummy.create(member.inputs);
      const link = await hostLink("vm1", undefined, "ndvrfm0");
      expect(link.master).toBe("ndvrf1");
      expect(link.linkinfo.info_slave_kind).toBe("vrf");
      expect(madeMember.outs.master).toBe("ndvrf1");
      // The member's connected route lives in the VRF's table.
      expect(await sshPool().run(connection("vm1"), ["ip", "route", "show", "table", "110"])).toContain("192.168.110.0/24");
      expect(dummy.diff((await dummy.read(madeMember.id, madeMember.outs)).props, member.inputs).changes).toBe(false);
      // Released by hand: refresh shows the drift, update enslaves it again.
      await sshPool().run(connection("vm1"), ["ip", "link", "set", "dev", "ndvrfm0", "nomaster"]);
      const drifted = await dummy.read(madeMember.id, madeMember.outs);
      expect(drifted.props.master).toBeNull();
      expect(dummy.diff(drifted.props, member.inputs)).toMatchObject({ changes: true, replaces: [] });
      await dummy.update(madeMember.id, drifted.props, member.inputs);
      expect((await hostLink("vm1", undefined, "ndvrfm0")).master).toBe("ndvrf1");
      await dummy.delete(madeMember.id, madeMember.outs);
    } finally {
      await vrf.delete(madeVrf.id, madeVrf.outs);
      await sshPool().exec(connection("vm1"), ["ip", "link", "del", "dev", "ndvrfm0"]);
    }
    expect(await hostLink("vm1", undefined, "ndvrf1")).toBeUndefined();
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Vrf", "vm1", { name: "ndvrf2", table: 100 }, [
      [{ table: 0 }, "table"],
      [{ table: 4_294_967_296 }, "table"],
      [{ table: 254 }, "table"],
      [{ table: "main" }, "table"],
    ]);
  });
});
