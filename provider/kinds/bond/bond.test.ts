import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { deviceEngine as engineFor } from "../../registry";
import { connection, connectionInput } from "../../../test/support/lab-hosts";
import { expectRejected, hostLink, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

// This machine's kernel has no bonding module; the full-kernel VM lab host has it.
describe("Bond on a VM lab host", () => {
  it("goes through the whole lifecycle: monitoring, hash policy and mode in place", async () => {
    await runLifecycle({
      type: "Bond",
      host: "vm1",
      inputs: { name: "ndbond0", mode: "active-backup", miimon: 100, updelay: 200 },
      verifyCreated(link) {
        expect(link.linkinfo.info_data).toMatchObject({ mode: "active-backup", miimon: 100, updelay: 200, downdelay: 0 });
        expect(link.flags).toContain("UP");
      },
      inPlace: [
        // A new miimon rescales the delays (kept in miimon ticks): they are sent with it.
        {
          patch: { miimon: 50, updelay: 200, downdelay: 150, xmitHashPolicy: "layer3+4" },
          verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ miimon: 50, updelay: 200, downdelay: 150, xmit_hash_policy: "layer3+4" }),
        },
        {
          patch: { mode: "balance-xor", miimon: 50, updelay: 200, xmitHashPolicy: "layer2+3" },
          verify: (link) => {
            expect(link.linkinfo.info_data).toMatchObject({ mode: "balance-xor", miimon: 50, updelay: 200, xmit_hash_policy: "layer2+3" });
            expect(link.flags).toContain("UP");
          },
        },
        // Left out (xmitHashPolicy), an option stays as it is, as with a Bridge.
        {
          patch: { mode: "802.3ad", miimon: 0, updelay: 0, up: false },
          verify: (link) => {
            expect(link.linkinfo.info_data).toMatchObject({ mode: "802.3ad", miimon: 0, updelay: 0, xmit_hash_policy: "layer2+3" });
            expect(link.flags).not.toContain("UP");
          },
        },
      ],
      replace: {
        patch: { name: "ndbond1" },
        verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ mode: "active-backup", miimon: 100, updelay: 200 }),
      },
      // Adopting a bond in another mode changes the mode in place.
      outOfBandCreate: ["ip", "link", "add", "ndbond1", "type", "bond", "mode", "balance-rr"],
    });
  });

  it("enslaves Dummy members by their master field, and keeps them through a mode change", async () => {
    const bond = engineFor("Bond");
    const dummy = engineFor("Dummy");
    const vm1 = connection("vm1");
    const names = ["ndbm0", "ndbm1", "ndbm2", "ndbond2"];
    for (const name of names) await sshPool().exec(vm1, ["ip", "link", "del", "dev", name]);
    const bondInputs = bond.check({ connection: connectionInput("vm1"), name: "ndbond2", mode: "active-backup", miimon: 100, addresses: ["192.168.120.1/24"] });
    expect(bondInputs.failures).toEqual([]);
    const madeBond = await bond.create(bondInputs.inputs);
    const members: Array<{ id: string; outs: Record<string, unknown>; inputs: Record<string, unknown> }> = [];
    try {
      for (const name of ["ndbm0", "ndbm1"]) {
        const checked = dummy.check({ connection: connectionInput("vm1"), name, master: "ndbond2" });
        expect(checked.failures).toEqual([]);
        // A new device is down when it is enslaved (the kernel refuses an up one), then brought up.
        members.push({ ...(await dummy.create(checked.inputs)), inputs: checked.inputs });
      }
      for (const member of members) {
        const link = await hostLink("vm1", undefined, member.outs.name as string);
        expect(link.master).toBe("ndbond2");
        expect(link.linkinfo.info_slave_kind).toBe("bond");
        expect(link.flags).toContain("UP");
        expect(dummy.diff((await dummy.read(member.id, member.outs)).props, member.inputs).changes).toBe(false);
      }
      const before = await hostLink("vm1", undefined, "ndbond2");
      expect(before.linkinfo.info_data.active_slave).toBe("ndbm0");

      // The kernel sets a mode only on a bond that is down and has no members: the members are
      // released and enslaved again around it, in the same update.
      const xor = bond.check({ connection: connectionInput("vm1"), name: "ndbond2", mode: "balance-xor", miimon: 100, addresses: ["192.168.120.1/24"] });
      expect(bond.diff(madeBond.outs, xor.inputs)).toMatchObject({ changes: true, replaces: [] });
      const updated = await bond.update(madeBond.id, madeBond.outs, xor.inputs);
      const after = await hostLink("vm1", undefined, "ndbond2");
      expect(after.ifindex).toBe(before.ifindex);
      expect(after.linkinfo.info_data.mode).toBe("balance-xor");
      expect(after.flags).toContain("UP");
      expect(after.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("192.168.120.1/24");
      expect(bond.diff(updated.outs, xor.inputs).changes).toBe(false);
      for (const member of members) {
        const link = await hostLink("vm1", undefined, member.outs.name as string);
        expect(link.master, `${member.outs.name} still in the bond`).toBe("ndbond2");
        expect(link.flags).toContain("UP");
        expect(dummy.diff((await dummy.read(member.id, member.outs)).props, member.inputs).changes).toBe(false);
      }
      // A device that is already up joins by an update: the engine takes it down just before
      // its master step (the kernel refuses an up member) and brings it up again after.
      const late = dummy.check({ connection: connectionInput("vm1"), name: "ndbm2" });
      const lateMade = await dummy.create(late.inputs);
      members.push({ ...lateMade, inputs: late.inputs });
      expect((await hostLink("vm1", undefined, "ndbm2")).flags).toContain("UP");
      const joining = dummy.check({ connection: connectionInput("vm1"), name: "ndbm2", master: "ndbond2" });
      expect(dummy.diff(lateMade.outs, joining.inputs)).toMatchObject({ changes: true, replaces: [] });
      const joined = await dummy.update(lateMade.id, lateMade.outs, joining.inputs);
      members[members.length - 1] = { id: lateMade.id, outs: joined.outs, inputs: joining.inputs };
      const lateLink = await hostLink("vm1", undefined, "ndbm2");
      expect(lateLink.master).toBe("ndbond2");
      expect(lateLink.flags).toContain("UP");
      expect(dummy.diff((await dummy.read(lateMade.id, joined.outs)).props, joining.inputs).changes).toBe(false);
      for (const member of members.splice(0)) await dummy.delete(member.id, member.outs);
    } finally {
      for (const member of members) await dummy.delete(member.id, member.outs).catch(() => undefined);
      await bond.delete(madeBond.id, madeBond.outs);
      for (const name of names) await sshPool().exec(vm1, ["ip", "link", "del", "dev", name]);
    }
    for (const name of names) expect(await hostLink("vm1", undefined, name)).toBeUndefined();
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Bond", "vm1", { name: "ndbond3" }, [
      [{ mode: "round-robin" }, "mode"],
      [{ miimon: -1 }, "miimon"],
      [{ updelay: 200 }, "updelay"],
      [{ miimon: 100, updelay: 150 }, "updelay"],
      [{ miimon: 0, downdelay: 100 }, "downdelay"],
      [{ xmitHashPolicy: "layer4" }, "xmitHashPolicy"],
    ]);
  });
});
