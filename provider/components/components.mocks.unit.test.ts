import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { recordRegistrations, resolved } from "../../test/support/mocks";

/** The components' wiring under Pulumi's mocks: constructors run (and so do plans), provider methods never do. */
const registered = recordRegistrations();

const connection = { host: "10.0.0.1", user: "root", password: "x", hostKey: `SHA256:${"A".repeat(43)}` };

describe("components under mocks", () => {
  it("VxlanOverlay registers a bridge and a VTEP per host and one VxlanFloodLists; Attachment a namespace, veth and route; MacvlanNetwork per member", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const { Attachment } = await import("./attachment");
    const { MacvlanNetwork } = await import("./lower-network");
    const overlay = new VxlanOverlay("ov", {
      vni: 9,
      hosts: [
        { name: "a", connection, underlayAddress: "10.0.0.1" },
        { name: "b", connection: { ...connection, host: "10.0.0.2" }, underlayAddress: "10.0.0.2" },
      ],
    });
    new Attachment("att", { connection, namespace: "c1", bridge: "vxbr9", address: "192.168.0.1/24", gateway: "192.168.0.254" }, { dependsOn: [overlay] });
    new MacvlanNetwork("mv", { connection, parent: "eth0", members: [{ namespace: "m1" }] });
    expect(await resolved(overlay.mtu)).toBe(1450);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const names = registered.map((r) => `${r.type}:${r.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "netdev:index:VxlanOverlay:ov",
        "pulumi-nodejs:dynamic/netdev:Bridge:ov-a-bridge",
        "pulumi-nodejs:dynamic/netdev:VxlanTunnel:ov-b-vtep",
        "netdev:index:Attachment:att",
        "pulumi-nodejs:dynamic/netdev:NetworkNamespace:att-netns",
        "pulumi-nodejs:dynamic/netdev:VethPair:att-veth",
        "pulumi-nodejs:dynamic/netdev:Route:att-route",
        "pulumi-nodejs:dynamic/netdev:NetworkNamespace:mv-m1-netns",
        "pulumi-nodejs:dynamic/netdev:Macvlan:mv-m1-link",
      ]),
    );
    const vtep = registered.find((r) => r.name === "ov-a-vtep")!;
    expect(vtep.inputs).toMatchObject({ master: "vxbr9", mtu: 1450 });
    expect(vtep.inputs.peers).toBeUndefined();
    // The flood lists, after every VTEP: one resource for the whole membership.
    const flood = registered.find((r) => r.name === "ov-flood")!;
    expect(flood.type).toBe("pulumi-nodejs:dynamic/netdev:VxlanFloodLists");
    expect(flood.inputs.vteps).toEqual({ a: { name: "vxlan9", address: "10.0.0.1" }, b: { name: "vxlan9", address: "10.0.0.2" } });
  });

  it("an Attachment on an overlay host depends on that host's bridge only, not on every host's devices", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const { Attachment } = await import("./attachment");
    const hosts = ["a", "b", "c"].map((name, i) => ({ name, connection: { ...connection, host: `10.0.1.${i + 1}` }, underlayAddress: `10.0.1.${i + 1}` }));
    const overlay = new VxlanOverlay("dep", { vni: 12, hosts });
    new Attachment("dep-att", { overlay, host: "b", namespace: "c-b", address: "192.168.12.2/24" });
    expect(await resolved(overlay.mtuOf("b"))).toBe(1450);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Every resource also depends on the stack's identity (made first, deleted last): by design, one URN.
    const urnsOf = (name: string) =>
      new Set(
        Object.values(registered.find((r) => r.name === name)!.propertyDependencies)
          .flat()
          .filter((urn) => !urn.endsWith("::netdev-stack-identity")),
      );
    const bridgeUrn = (host: string) => [...urnsOf(`dep-att-veth`)].find((urn) => urn.endsWith(`::dep-${host}-bridge`));
    // The veth plugs into b's bridge, is sized by it, and is ordered after it; nothing of a's or c's.
    expect(bridgeUrn("b")).toBeDefined();
    expect([...urnsOf("dep-att-veth")]).toEqual([bridgeUrn("b")]);
    expect([...urnsOf("dep-att-netns")]).toEqual([bridgeUrn("b")]);
  });

  it("VxlanOverlay per host: one HostDevices per host with its containers' veths; an Attachment plugs into that host's HostDevices only", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const { Attachment } = await import("./attachment");
    const hosts = ["a", "b"].map((name, i) => ({
      name,
      connection: { ...connection, host: `10.0.2.${i + 1}` },
      underlayAddress: `10.0.2.${i + 1}`,
      containers: [{ namespace: `c-${name}`, address: `192.168.13.${i + 1}/24` }],
    }));
    const overlay = new VxlanOverlay("ph", { vni: 13, hosts, form: "per-host" });
    new Attachment("ph-att", { overlay, host: "b", namespace: "extra", address: "192.168.13.9/24" });
    expect(await resolved(overlay.bridgeOf("b"))).toBe("vxbr13");
    expect(await resolved(overlay.mtuOf("b"))).toBe(1450);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const mine = registered.filter((r) => r.name.startsWith("ph-")).map((r) => `${r.type.split(":").at(-1)}:${r.name}`);
    expect(mine).toEqual(expect.arrayContaining(["HostDevices:ph-a-devices", "HostDevices:ph-b-devices", "VxlanFloodLists:ph-flood", "VethPair:ph-att-veth"]));
    expect(mine.filter((name) => /Bridge|VxlanTunnel|ph-[ab]-.*(netns|veth)/.test(name))).toEqual([]);
    const hostDevices = registered.find((r) => r.name === "ph-a-devices")!;
    // A secret field the plan leaves out is absent, not a secret holding nothing (the provider would get null).
    expect(hostDevices.inputs).not.toHaveProperty("privateKeys");
    const devices = hostDevices.inputs.devices as Record<string, Record<string, unknown>>;
    expect(
      Object.values(devices)
        .map((d) => d.kind)
        .sort(),
    ).toEqual(["bridge", "veth", "vxlan"]);
    const attachmentDeps = new Set(
      Object.values(registered.find((r) => r.name === "ph-att-veth")!.propertyDependencies)
        .flat()
        .filter((urn) => !urn.endsWith("::netdev-stack-identity")),
    );
    expect([...attachmentDeps].map((urn) => urn.split("::").at(-1))).toEqual(["ph-b-devices"]);
  });

  it("VxlanOverlay per host with persist: each HostDevices and the flood list's member get the host's persist (a host's own first)", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const hosts = ["a", "b"].map((name, i) => ({
      name,
      connection: { ...connection, host: `10.0.4.${i + 1}` },
      underlayAddress: `10.0.4.${i + 1}`,
      ...(name === "b" ? { persist: "none" as const } : {}),
    }));
    new VxlanOverlay("pph", { vni: 15, hosts, form: "per-host", persist: pulumi.output("networkd" as const) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registered.find((r) => r.name === "pph-a-devices")!.inputs.persist).toBe("networkd");
    expect(registered.find((r) => r.name === "pph-b-devices")!.inputs.persist).toBe("none");
    const vteps = registered.find((r) => r.name === "pph-flood")!.inputs.vteps as Record<string, { persist?: string }>;
    expect(vteps.a!.persist).toBe("networkd");
    expect(vteps.b!.persist).toBe("none");
  });

  it("EncryptedOverlay per host: one HostDevices per host, its WireGuard interface inside with the private key a secret; an Attachment plugs into it", async () => {
    const { EncryptedOverlay } = await import("./encrypted-overlay");
    const { Attachment } = await import("./attachment");
    const keys = ["yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4="];
    const hosts = ["a", "b"].map((name, i) => ({
      name,
      connection: { ...connection, host: `10.0.3.${i + 1}` },
      underlayAddress: `10.0.3.${i + 1}`,
      privateKey: pulumi.secret(keys[i]!),
      containers: [{ namespace: `c-${name}`, address: `192.168.14.${i + 1}/24` }],
    }));
    const overlay = new EncryptedOverlay("eph", { vni: 14, wgSubnet: "10.250.14.0/24", hosts, form: "per-host" });
    new Attachment("eph-att", { overlay, host: "a", namespace: "extra", address: "192.168.14.9/24" });
    expect(await resolved(overlay.bridgeOf("a"))).toBe("vxbr14");
    expect(await resolved(overlay.mtuOf("a"))).toBe(1370);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const mine = registered.filter((r) => r.name.startsWith("eph-")).map((r) => `${r.type.split(":").at(-1)}:${r.name}`);
    expect(mine).toEqual(
      expect.arrayContaining(["HostDevices:eph-a-devices", "HostDevices:eph-b-devices", "WireguardPeerLists:eph-wg-peers", "VxlanFloodLists:eph-flood"]),
    );
    expect(mine.filter((name) => /WireguardInterface|Bridge|VxlanTunnel|eph-[ab]-.*(netns|veth)/.test(name))).toEqual([]);
    const devices = registered.find((r) => r.name === "eph-a-devices")!;
    const held = devices.inputs.devices as Record<string, { kind: string; local?: string; privateKey?: string }>;
    expect(held.vtep).toMatchObject({ kind: "vxlan", local: "10.250.14.1" });
    expect(held.wg).toMatchObject({ kind: "wireguard", name: "wgov14", addresses: ["10.250.14.1/24"] });
    expect(held.wg!.privateKey).toBeUndefined();
    // The key reaches the provider as a secret of its own field, not inside the readable devices.
    const privateKeys = devices.inputs.privateKeys as Record<string, unknown>;
    expect(privateKeys[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
    expect(privateKeys.value).toEqual({ wg: keys[0] });
    const peers = registered.find((r) => r.name === "eph-wg-peers")!;
    expect(peers.dependencies.filter((urn) => /::eph-[ab]-devices$/.test(urn))).toHaveLength(2);
  });

  it("VxlanOverlay refuses a form it does not know and a container namespace given as an Output, naming the field", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const hosts = [{ name: "a", connection, underlayAddress: "10.0.0.1" }];
    expect(() => new VxlanOverlay("bad-form", { vni: 1, hosts, form: "per-rack" as never })).toThrow(/form: "per-rack" is not a form/);
    expect(
      () => new VxlanOverlay("bad-ns", { vni: 1, hosts: [{ ...hosts[0]!, containers: [{ namespace: pulumi.output("x") as unknown as string }] }] }),
    ).toThrow(/containers\[0\]\.namespace/);
  });

  it("VxlanOverlay in multicast mode makes no flood lists; a mode given as an Output makes them empty", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const hosts = [
      { name: "a", connection, underlayAddress: "10.0.0.1", underlayDev: "eth0" },
      { name: "b", connection: { ...connection, host: "10.0.0.2" }, underlayAddress: "10.0.0.2", underlayDev: "eth0" },
    ];
    const plain = new VxlanOverlay("mc", { vni: 10, mode: { type: "multicast", group: "239.1.1.1" }, hosts });
    const late = new VxlanOverlay("mcl", { vni: 11, mode: pulumi.output({ type: "multicast" as const, group: "239.1.1.2" }), hosts });
    expect(await resolved(plain.mtu)).toBe(1450);
    expect(await resolved(late.mtu)).toBe(1450);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registered.filter((r) => r.name.startsWith("mc-")).map((r) => r.name)).not.toContain("mc-flood");
    const flood = registered.find((r) => r.name === "mcl-flood")!;
    expect(flood.inputs.vteps).toEqual({});
    expect(registered.find((r) => r.name === "mcl-a-vtep")!.inputs).toMatchObject({ group: "239.1.1.2", dev: "eth0" });
  });
});
