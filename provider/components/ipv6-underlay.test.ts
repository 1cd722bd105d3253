import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { appliedOverlay } from "../../test/support/applied-overlay";
import { exec, floodPeers, pingEventually } from "../../test/support/components";
import { planAttachment } from "./attachment";
import { planEncryptedOverlay } from "./encrypted-overlay";
import { planVxlanOverlay } from "./vxlan-overlay";

/**
 * Both overlays over an IPv6-only underlay: every host is named to the overlay by its lab IPv6
 * address (fd00:247::/64 on the same underlay link), so the VTEPs and WireGuard endpoints talk
 * IPv6 only. The VXLAN overlay runs on h1 and h2, whose iputils ping can set DF; the encrypted
 * one on the VMs (this machine's kernel has no WireGuard).
 */
function address6(name: string): string {
  const address = host(name).underlayAddress6;
  if (!address) throw new Error(`lab host ${name} has no IPv6 underlay address: bring the lab down and up again`);
  return address;
}

describe("VxlanOverlay over an IPv6 underlay (h1, h2)", () => {
  const HOSTS = ["h1", "h2"];
  const BRIDGE = "nd6br";
  const VTEP = "nd6vx";
  const NETNS = "nd6-ov";
  const containerIp = (i: number) => `192.168.130.${i + 1}`;
  const plan = planVxlanOverlay({
    overlayId: "nd6-test",
    vni: 4716,
    bridgeName: BRIDGE,
    vtepName: VTEP,
    hosts: HOSTS.map((name) => ({ name, connection: connectionInput(name), underlayAddress: address6(name) })),
  });
  const attachmentOf = (name: string, i: number) =>
    planAttachment({
      connection: connectionInput(name),
      namespace: NETNS,
      bridge: BRIDGE,
      address: `${containerIp(i)}/24`,
      mtu: plan.mtu,
      macSeed: `nd6-test-${name}`,
    });
  const applied = appliedOverlay({
    hosts: HOSTS,
    items: plan.items,
    container: attachmentOf,
    leftovers: { links: [VTEP, BRIDGE], namespaces: [NETNS] },
    timeoutMs: 120_000,
  });

  it("the MTU leaves room for IPv6's larger header (1500 - 70), and each VTEP floods to the other's IPv6 address", async () => {
    expect(plan.mtu).toBe(1430);
    for (const [i, name] of HOSTS.entries()) {
      expect(applied.devices.find((d) => d.item.key === `${name}-vtep`)!.outs.linkMtu).toBe(1430);
      expect(await floodPeers(name, VTEP)).toEqual([address6(HOSTS[1 - i]!)]);
      const details = JSON.parse((await exec(name, ["ip", "-json", "-details", "link", "show", "dev", VTEP])).stdout) as Array<{
        linkinfo: { info_data: { local6?: string; local?: string } };
      }>;
      expect(details[0]!.linkinfo.info_data.local6 ?? details[0]!.linkinfo.info_data.local).toBe(address6(name));
    }
  });

  it("containers ping across; with DF a packet of exactly the overlay MTU passes and one byte more does not", async () => {
    expect(await pingEventually("h1", NETNS, containerIp(1), 5)).toBe(true);
    expect(await pingEventually("h2", NETNS, containerIp(0), 5)).toBe(true);
    const dfPing = async (payload: number) =>
      (await exec("h1", ["ip", "netns", "exec", NETNS, "ping", "-c1", "-W3", "-M", "do", "-s", String(payload), containerIp(1)])).exitCode === 0;
    // 28 bytes of IPv4 and ICMP headers: a payload of MTU - 28 fills the MTU exactly.
    expect(await dfPing(plan.mtu - 28)).toBe(true);
    expect(await dfPing(plan.mtu - 27)).toBe(false);
  }, 60_000);
});

describe("EncryptedOverlay over an IPv6 underlay (vm1, vm2)", () => {
  const VMS = ["vm1", "vm2"];
  const WG = "nd6wg";
  const BRIDGE = "nd6ebr";
  const VTEP = "nd6evx";
  const NETNS = "nd6-eov";
  const WG_PORT = 51906;
  const containerIp = (i: number) => `192.168.131.${i + 1}`;
  const genkey = () => Buffer.from(generateKeyPairSync("x25519").privateKey.export({ format: "jwk" }).d!, "base64url").toString("base64");
  const plan = planEncryptedOverlay({
    overlayId: "nd6e-test",
    vni: 4717,
    wgSubnet: "10.252.0.0/24",
    wgPort: WG_PORT,
    wgName: WG,
    bridgeName: BRIDGE,
    vtepName: VTEP,
    hosts: VMS.map((name) => ({ name, connection: connectionInput(name), underlayAddress: address6(name), privateKey: genkey() })),
  });
  const attachmentOf = (name: string, i: number) =>
    planAttachment({
      connection: connectionInput(name),
      namespace: NETNS,
      bridge: BRIDGE,
      address: `${containerIp(i)}/24`,
      mtu: plan.mtu,
      macSeed: `nd6e-test-${name}`,
    });
  appliedOverlay({ hosts: VMS, items: plan.items, container: attachmentOf, leftovers: { links: [VTEP, BRIDGE, WG], namespaces: [NETNS] }, timeoutMs: 240_000 });

  it("WireGuard peers each other at [IPv6]:port, and containers ping across at the overlay MTU", async () => {
    expect([plan.wgMtu, plan.mtu]).toEqual([1420, 1370]);
    for (const [i, name] of VMS.entries()) {
      const other = 1 - i;
      expect((await exec(name, ["wg", "show", WG, "endpoints"])).stdout.trim()).toBe(`${plan.hosts[other]!.publicKey}\t[${address6(VMS[other]!)}]:${WG_PORT}`);
    }
    expect(await pingEventually("vm1", NETNS, containerIp(1), 5)).toBe(true);
    expect(await pingEventually("vm2", NETNS, containerIp(0), 5)).toBe(true);
    // The VMs' busybox ping cannot set DF; a packet filling the overlay MTU still crosses both encapsulations.
    expect((await exec("vm1", ["ip", "netns", "exec", NETNS, "ping", "-c1", "-W3", "-s", String(plan.mtu - 28), containerIp(1)])).exitCode).toBe(0);
  }, 120_000);
});
