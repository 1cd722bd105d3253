import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { planAttachment } from "./attachment";
import { applyPlan, destroyApplied, exec, pingEventually, removeLeftovers, type Applied } from "../../test/support/components";
import { planVxlanOverlay } from "./vxlan-overlay";

/**
 * Multicast mode on the netns underlay: the lab's underlay is a Linux bridge in this machine's
 * root namespace, the hosts' eth0 are veths on it. Whether the VTEPs' IGMP joins and the
 * group's traffic get through that bridge is what this test shows (see README).
 */
const VNI = 4712;
const BRIDGE = "ndobr4712";
const VTEP = "ndovx4712";
const NETNS = "ndo-mc";
const GROUP = "239.1.47.12";
const hosts = ["h1", "h2"];

describe("VxlanOverlay (multicast) on the netns underlay", () => {
  let applied: Applied[] = [];
  const cleanup = async () => {
    await destroyApplied(applied).catch(() => undefined);
    for (const h of hosts) await removeLeftovers(h, [VTEP, BRIDGE, planAttachment({ connection: null, namespace: NETNS, bridge: BRIDGE }).hostEnd], [NETNS]);
  };
  beforeAll(cleanup);
  afterAll(cleanup, 60_000);

  it("VTEPs join the group on eth0 and namespaces on two hosts reach each other", async () => {
    const plan = planVxlanOverlay({
      overlayId: "ndo-mc-test",
      vni: VNI,
      bridgeName: BRIDGE,
      vtepName: VTEP,
      mode: { type: "multicast", group: GROUP },
      hosts: hosts.map((name) => ({
        name,
        connection: connectionInput(name),
        underlayAddress: host(name).underlayAddress,
        underlayDev: host(name).underlayInterface,
      })),
    });
    applied = await applyPlan(plan.items);
    for (const [i, name] of hosts.entries()) {
      applied.push(
        ...(await applyPlan(
          planAttachment({ connection: connectionInput(name), namespace: NETNS, bridge: BRIDGE, address: `192.168.103.${i + 1}/24`, mtu: plan.mtu }).items,
        )),
      );
      const link = JSON.parse((await exec(name, ["ip", "-json", "-details", "link", "show", "dev", VTEP])).stdout)[0];
      expect(link.linkinfo.info_data).toMatchObject({ group: GROUP, link: host(name).underlayInterface });
      const maddr = (await exec(name, ["ip", "maddr", "show", "dev", host(name).underlayInterface])).stdout;
      expect(maddr, "the VTEP joined the group on the underlay dev").toContain(GROUP);
    }
    expect(await pingEventually("h1", NETNS, "192.168.103.2", 5)).toBe(true);
    expect(await pingEventually("h2", NETNS, "192.168.103.1", 5)).toBe(true);
  });
});
