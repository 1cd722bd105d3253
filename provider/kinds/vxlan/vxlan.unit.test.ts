import { describe, expect, it } from "vitest";
import { placeholderLink } from "../../engine/host-snapshot";
import { FakeHost } from "../../../test/support/fake-host";
import { vxlanKind } from "./vxlan";

const desired = { name: "vx0", up: true, vni: 42, dstPort: 4789, learning: true } as const;

describe("VXLAN peer updates (FDB flood list), given what the host has", () => {
  it("appends missing peers and deletes extra ones, nothing else", () => {
    const steps = vxlanKind.update({ ...desired, peers: ["10.0.0.2", "10.0.0.3"] }, { peers: ["10.0.0.3", "10.0.0.9"] });
    expect(steps.map((s) => `${s.tool} ${s.args.join(" ")}`)).toEqual([
      "bridge fdb del 00:00:00:00:00:00 dev vx0 dst 10.0.0.9",
      "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2",
    ]);
  });

  it("omitting peers leaves every entry as it is (an overlay's VxlanFloodLists takes them over); [] removes them", () => {
    expect(vxlanKind.update({ ...desired }, { peers: ["10.0.0.2", "10.0.0.7"] }, { peers: ["10.0.0.2"] })).toEqual([]);
    const steps = vxlanKind.update({ ...desired, peers: [] }, { peers: ["10.0.0.2"] }, { peers: ["10.0.0.2"] });
    expect(steps.map((s) => s.args.join(" "))).toEqual(["fdb del 00:00:00:00:00:00 dev vx0 dst 10.0.0.2"]);
  });

  it("runs in the device's namespace", () => {
    const [step] = vxlanKind.update({ ...desired, netns: "c1", peers: ["10.0.0.2"] }, { peers: [] });
    expect(step).toMatchObject({ tool: "bridge", netns: "c1", field: "peers" });
  });
});

describe("VXLAN create arguments", () => {
  it("passes tos in hex, as ip reads it (16 is 0x10, not 0x16)", () => {
    const args = vxlanKind.createArgs!({ ...desired, tos: 16 });
    expect(args.slice(args.indexOf("tos"), args.indexOf("tos") + 2)).toEqual(["tos", "0x10"]);
  });
});

describe("VXLAN read", () => {
  const vtep = (host: FakeHost) => {
    host.addLink(undefined, "vx0", "vxlan", {
      fdb: [
        { mac: "00:00:00:00:00:00", dst: "10.0.0.3" },
        { mac: "00:00:00:00:00:00", dst: "10.0.0.2" },
      ],
    });
    return { ...placeholderLink("vx0", "vxlan"), infoData: { id: 42, port: 4789 } };
  };

  it("reads the flood list when peers are managed", async () => {
    const host = new FakeHost();
    const actual = await vxlanKind.read(vtep(host), host, undefined, { ...desired, peers: ["10.0.0.2"] });
    expect(actual.peers).toEqual(["10.0.0.2", "10.0.0.3"]);
    expect(host.commands.filter((command) => command.includes("fdb show"))).toHaveLength(1);
  });

  it("asks the host nothing for peers that are not managed (an overlay's VTEP: its VxlanFloodLists reads them)", async () => {
    const host = new FakeHost();
    const actual = await vxlanKind.read(vtep(host), host, undefined, { ...desired });
    expect(actual).toMatchObject({ vni: 42, dstPort: 4789, peers: undefined });
    expect(host.commands).toEqual([]);
  });
});
