import { afterAll, describe, expect, it } from "vitest";
import { sshPool } from "../../ssh/pool";
import { deviceEngine as engineFor } from "../../registry";
import { connection, connectionInput } from "../../../test/support/lab-hosts";
import { expectRejected, hostLink, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

describe("Bridge on a netns lab host", () => {
  it("goes through the whole lifecycle", async () => {
    await runLifecycle({
      type: "Bridge",
      host: "h1",
      inputs: { name: "ndbr0", stp: false, forwardDelay: 1500, addresses: ["192.168.77.1/24"], alias: "lab bridge" },
      verifyCreated(link, outs) {
        expect(link.linkinfo.info_data.stp_state).toBe(0);
        expect(link.linkinfo.info_data.forward_delay).toBe(1500);
        expect(link.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("192.168.77.1/24");
        expect(link.ifalias).toMatch(/ lab bridge$/);
        expect(link.flags).toContain("UP");
        expect(outs.alias).toBe("lab bridge");
        expect(outs.kindInfo, "kindInfo only when asked for").toBeUndefined();
      },
      inPlace: [
        { patch: { mtu: 1400 }, verify: (link) => expect(link.mtu).toBe(1400) },
        {
          patch: { mtu: 1400, stp: true, forwardDelay: 1000, helloTime: 300 },
          verify: (link) => expect(link.linkinfo.info_data).toMatchObject({ stp_state: 1, forward_delay: 1000, hello_time: 300 }),
        },
        {
          patch: { mtu: 1400, addresses: ["192.168.77.2/24", "fd77::1/64"] },
          verify: (link) =>
            expect(
              link.addr_info
                .filter((a: any) => a.scope !== "link")
                .map((a: any) => `${a.local}/${a.prefixlen}`)
                .sort(),
            ).toEqual(["192.168.77.2/24", "fd77::1/64"]),
        },
        {
          patch: { mtu: 1400, up: false, alias: "renamed" },
          verify: (link) => {
            expect(link.flags).not.toContain("UP");
            expect(link.ifalias).toMatch(/ renamed$/);
          },
        },
        {
          patch: { macAddress: "02:00:00:00:77:01", multicastSnooping: false, ageingTime: 6000, reportKindInfo: true },
          verify: (link, outs) => {
            expect(link.address).toBe("02:00:00:00:77:01");
            expect(link.linkinfo.info_data).toMatchObject({ mcast_snooping: 0, ageing_time: 6000 });
            expect(outs.kindInfo).toMatchObject({ mcast_snooping: 0, ageing_time: 6000, stp_state: 0 });
            // Running timers would make every refresh a change.
            expect(Object.keys(outs.kindInfo as object).filter((key) => key.endsWith("_timer"))).toEqual([]);
          },
        },
        {
          patch: { macAddress: "02:00:00:00:77:01", multicastSnooping: false, ageingTime: 6000 },
          verify: (_link, outs) => expect(outs.kindInfo).toBeUndefined(),
        },
      ],
      replace: { patch: { name: "ndbr0", netns: "ndtest" }, verify: (link) => expect(link.linkinfo.info_kind).toBe("bridge") },
      outOfBandCreate: ["ip", "-n", "ndtest", "link", "add", "ndbr0", "type", "bridge"],
    });
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Bridge", "h1", { name: "ndbr1" }, [
      [{ name: "" }, "name"],
      [{ name: "a-very-long-name0" }, "name"],
      [{ name: "br/0" }, "name"],
      [{ name: "br0;reboot" }, "name"],
      [{ name: "$(reboot)" }, "name"],
      [{ name: ".." }, "name"],
      [{ name: "br 0" }, "name"],
      [{ mtu: 10 }, "mtu"],
      [{ macAddress: "01:00:5e:00:00:01" }, "macAddress"],
      [{ macAddress: "zz:00:00:00:00:00" }, "macAddress"],
      [{ addresses: ["10.0.0.1"] }, "addresses"],
      [{ addresses: ["300.0.0.1/24"] }, "addresses"],
      [{ master: "ndbr1" }, "master"],
      [{ alias: "line\nbreak" }, "alias"],
      [{ netns: "../etc" }, "netns"],
      [{ vlanDefaultPvid: 5000 }, "vlanDefaultPvid"],
      [{ stpp: true }, "stpp"],
      [{ connection: { ...connectionInput("h1"), host: "-oProxyCommand=x" } }, "connection"],
      [{ connection: { ...connectionInput("h1"), hostKey: "not a key" } }, "connection"],
    ]);
  });

  it("create with invalid inputs fails before any command is sent", async () => {
    const before = sshPool().commandsStarted;
    await expect(engineFor("Bridge").create({ connection: connectionInput("h1"), name: "bad name" })).rejects.toThrow(/name/);
    expect(sshPool().commandsStarted).toBe(before);
  });

  it("a create that fails half-way removes the device and names the field", async () => {
    const engine = engineFor("Bridge");
    const { inputs } = engine.check({ connection: connectionInput("h2"), name: "ndbr2", master: "no-such-br" });
    await expect(engine.create(inputs)).rejects.toThrow(/setting master failed.*no-such-br/);
    expect(await hostLink("h2", undefined, "ndbr2")).toBeUndefined();
  });

  it("keeps the MTU it was made with when a port of a larger MTU joins: no drift on the first refresh", async () => {
    const engine = engineFor("Bridge");
    const h2 = connection("h2");
    await sshPool().exec(h2, ["ip", "link", "del", "dev", "ndbrm0"]);
    const { inputs } = engine.check({ connection: connectionInput("h2"), name: "ndbrm", mtu: 1400 });
    const { id, outs } = await engine.create(inputs);
    try {
      // Without the bridge's MTU marked as set, the kernel moves it to its ports' smallest (1500).
      const port = await sshPool().exec(h2, ["sh", "-c", "ip link add ndbrm0 mtu 1500 type veth peer name ndbrm1 && ip link set ndbrm0 master ndbrm up"]);
      expect(port.exitCode, port.stderr).toBe(0);
      expect((await hostLink("h2", undefined, "ndbrm")).mtu).toBe(1400);
      expect(engine.diff((await engine.read(id, outs)).props, inputs).changes).toBe(false);
    } finally {
      await sshPool().exec(h2, ["ip", "link", "del", "dev", "ndbrm0"]);
      await engine.delete(id, outs);
    }
    expect(await hostLink("h2", undefined, "ndbrm")).toBeUndefined();
  });

  it("refuses to delete a device it did not create", async () => {
    const engine = engineFor("Bridge");
    const { inputs } = engine.check({ connection: connectionInput("h2"), name: "ndbr3" });
    const { id, outs } = await engine.create(inputs);
    await expect(engine.delete(`${id.split("#")[0]}#000000000000`, outs)).rejects.toThrow(/refusing to delete.*run `pulumi refresh`/);
    await engine.delete(id, outs);
    expect(await hostLink("h2", undefined, "ndbr3")).toBeUndefined();
  });
});

// This machine's kernel lacks CONFIG_BRIDGE_VLAN_FILTERING; Debian's (the VM host) has it.
describe("Bridge VLAN filtering on the VM lab host", () => {
  it("creates with filtering and a default PVID, and switches filtering off in place", async () => {
    const engine = engineFor("Bridge");
    await sshPool().exec(connection("vm1"), ["ip", "link", "del", "dev", "ndbrvf"]);
    const created = engine.check({ connection: connectionInput("vm1"), name: "ndbrvf", vlanFiltering: true, vlanDefaultPvid: 10 });
    expect(created.failures).toEqual([]);
    const { id, outs } = await engine.create(created.inputs);
    try {
      const link = await hostLink("vm1", undefined, "ndbrvf");
      expect(link.linkinfo.info_data).toMatchObject({ vlan_filtering: 1, vlan_default_pvid: 10 });
      expect(engine.diff((await engine.read(id, outs)).props, created.inputs).changes).toBe(false);
      const off = engine.check({ connection: connectionInput("vm1"), name: "ndbrvf", vlanFiltering: false, vlanDefaultPvid: 10 });
      expect(engine.diff(outs, off.inputs)).toMatchObject({ changes: true, replaces: [] });
      await engine.update(id, outs, off.inputs);
      const after = await hostLink("vm1", undefined, "ndbrvf");
      expect(after.linkinfo.info_data.vlan_filtering).toBe(0);
      expect(after.ifindex).toBe(link.ifindex);
    } finally {
      await engine.delete(id, outs);
    }
    expect(await hostLink("vm1", undefined, "ndbrvf")).toBeUndefined();
  });
});
