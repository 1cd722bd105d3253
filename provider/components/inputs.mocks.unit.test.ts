import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { collectRejections, recordRegistrations, resolved } from "../../test/support/mocks";
import { planAttachment } from "./attachment";
import { planEncryptedOverlay } from "./encrypted-overlay";
import { planMacvlanNetwork } from "./lower-network";
import type { PlanItem } from "./plan";
import { planVxlanOverlay } from "./vxlan-overlay";

/**
 * The components under Pulumi's mocks with every per-host value an Output (of a stand-in for a
 * cloud VM made in the same program, or pulumi.output/secret): each child holds exactly what the
 * pure planner gives for the plain values, and a bad value fails with one error naming the
 * component, the host and the field.
 */
const registered = recordRegistrations();

/** A resource of another provider whose output is an address, as a cloud VM's would be. */
class Vm extends pulumi.CustomResource {
  declare readonly address: pulumi.Output<string>;
  constructor(name: string, address: string) {
    super("test:index:Vm", name, { address });
  }
}

const conn = (host: string) => ({ host, user: "root", password: "x", hostKey: `SHA256:${"A".repeat(43)}` });
const keys = ["yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4="];
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

function secretValue(value: unknown): unknown {
  expect((value as Record<string, unknown>)[pulumi.runtime.specialSigKey], "a secret input").toBe(pulumi.runtime.specialSecretSig);
  return (value as { value: unknown }).value;
}

/** Each registered child of `prefix` against the planned item of its key: the same inputs, connection (and given secrets) as given. */
function expectChildrenAsPlanned(prefix: string, items: PlanItem<unknown>[], connectionOf: (item: PlanItem<unknown>) => unknown) {
  const children = registered.filter((r) => r.name.startsWith(`${prefix}-`) && r.type.startsWith("pulumi-nodejs:dynamic/netdev:"));
  expect(children.map((r) => r.name).sort()).toEqual(items.map((item) => `${prefix}-${item.key}`).sort());
  for (const item of items) {
    const child = children.find((r) => r.name === `${prefix}-${item.key}`)!;
    expect(child.type).toBe(`pulumi-nodejs:dynamic/netdev:${item.type}`);
    const { __provider: _provider, ownerKey: _ownerKey, connection, connections, privateKey, ...rest } = child.inputs;
    const { connection: _planned, connections: plannedConnections, privateKey: plannedKey, ...expected } = item.inputs as Record<string, unknown>;
    expect(rest, item.key).toEqual(JSON.parse(JSON.stringify(expected)));
    // A resource that spans the hosts (the flood lists) holds every host's connection, sealed as one secret.
    if (plannedConnections !== undefined) expect(secretValue(connections), item.key).toEqual(plannedConnections);
    else expect(secretValue(connection), item.key).toEqual(connectionOf(item));
    if (plannedKey !== undefined) expect(secretValue(privateKey), item.key).toBe(plannedKey);
  }
}

describe("every per-host value may be an Output", () => {
  it("VxlanOverlay: connection, underlayAddress, underlayDev, underlayMtu, overlayAddress, persist (and vni, names, mode) from Outputs", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const vms = [new Vm("vm-a", "10.0.0.1"), new Vm("vm-b", "10.0.0.2")];
    const overlay = new VxlanOverlay("ov-out", {
      vni: pulumi.output(9),
      bridgeName: pulumi.output("br9"),
      mode: pulumi.output({ type: "unicast" as const }),
      hosts: vms.map((vm, i) => ({
        name: `h${i}`,
        connection: { ...conn("x"), host: vm.address },
        underlayAddress: vm.address,
        underlayDev: pulumi.output("eth0"),
        underlayMtu: pulumi.output(9000 - i),
        overlayAddress: pulumi.output(`192.168.9.${i + 1}/24`),
        persist: pulumi.output(i === 0 ? ("networkd" as const) : ("none" as const)),
      })),
    });
    await settle();
    const plan = planVxlanOverlay({
      overlayId: "ov-out",
      vni: 9,
      bridgeName: "br9",
      hosts: [0, 1].map((i) => ({
        name: `h${i}`,
        connection: conn(`10.0.0.${i + 1}`),
        underlayAddress: `10.0.0.${i + 1}`,
        underlayDev: "eth0",
        underlayMtu: 9000 - i,
        overlayAddress: `192.168.9.${i + 1}/24`,
        persist: i === 0 ? ("networkd" as const) : ("none" as const),
      })),
    });
    expectChildrenAsPlanned("ov-out", plan.items, (item) => (item.inputs as { connection?: unknown }).connection);
    expect(await resolved(overlay.mtu)).toBe(8949);
    expect(Object.keys(await resolved(overlay.hosts))).toEqual(["h0", "h1"]);
    expect(await resolved(overlay.bridgeOf("h1"))).toBe("br9");
    // What takes the overlay's outputs is made after its children: Pulumi orders a resource after the resources of its input Outputs.
    const resourcesOf = (output: pulumi.Output<unknown>) => (output as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();
    for (const output of [overlay.mtu, overlay.hosts])
      expect([...(await resourcesOf(output))]).toEqual(expect.arrayContaining(Object.values(overlay.resources)));
    expect([...(await resourcesOf(overlay.bridgeOf("h1")))]).toContain(overlay.resources["h1-bridge"]);
  });

  it("a secret value keeps what is planned from it secret; what the plan leaves out stays absent", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    new VxlanOverlay("ov-secret", { vni: 10, hosts: [{ name: "a", connection: conn("10.0.0.9"), underlayAddress: pulumi.secret("10.0.0.9") }] });
    await settle();
    const vtep = registered.find((r) => r.name === "ov-secret-a-vtep")!;
    expect(secretValue(vtep.inputs.local)).toBe("10.0.0.9");
    for (const absent of ["netns", "dev", "group", "alias", "addresses"]) expect(vtep.inputs, absent).not.toHaveProperty(absent);
  });

  it("EncryptedOverlay: underlay addresses from VMs, private keys as secret Outputs, wgAddress and overlayAddress from Outputs", async () => {
    const { EncryptedOverlay } = await import("./encrypted-overlay");
    const vms = [new Vm("evm-a", "10.0.1.1"), new Vm("evm-b", "10.0.1.2")];
    const overlay = new EncryptedOverlay("eo-out", {
      vni: 11,
      wgSubnet: pulumi.output("10.250.0.0/24"),
      hosts: vms.map((vm, i) => ({
        name: `h${i}`,
        connection: pulumi.output(conn(`10.0.1.${i + 1}`)),
        underlayAddress: vm.address,
        underlayMtu: pulumi.output(1500),
        privateKey: pulumi.secret(keys[i]!),
        wgAddress: pulumi.output(`10.250.0.${10 + i}`),
        overlayAddress: pulumi.output(`192.168.11.${i + 1}/24`),
      })),
    });
    await settle();
    const plan = planEncryptedOverlay({
      overlayId: "eo-out",
      vni: 11,
      wgSubnet: "10.250.0.0/24",
      hosts: [0, 1].map((i) => ({
        name: `h${i}`,
        connection: conn(`10.0.1.${i + 1}`),
        underlayAddress: `10.0.1.${i + 1}`,
        privateKey: keys[i]!,
        wgAddress: `10.250.0.${10 + i}`,
        overlayAddress: `192.168.11.${i + 1}/24`,
      })),
    });
    expectChildrenAsPlanned("eo-out", plan.items, (item) => (item.inputs as { connection?: unknown }).connection);
    const hosts = await resolved(overlay.hosts);
    expect(hosts.h0!.publicKey).toBe("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
    expect(hosts.h1!.wgAddress).toBe("10.250.0.11");
    expect([await resolved(overlay.wgMtu), await resolved(overlay.mtu)]).toEqual([1420, 1370]);
  });

  it("Attachment: on an overlay's host by reference (connection, bridge and MTU from the overlay), and on a bridge given as an Output", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const { Attachment } = await import("./attachment");
    const vm = new Vm("avm", "10.0.2.1");
    const overlay = new VxlanOverlay("aov", {
      vni: 12,
      bridgeName: "br12",
      hosts: [{ name: "a", connection: { ...conn("x"), host: vm.address }, underlayAddress: vm.address }],
    });
    const byRef = new Attachment("att-ref", {
      overlay,
      host: "a",
      namespace: pulumi.output("web"),
      address: pulumi.output("192.168.12.1/24"),
      gateway: pulumi.output("192.168.12.254"),
    });
    new Attachment("att-out", {
      connection: pulumi.output(conn("10.0.2.9")),
      bridge: overlay.bridgeOf("a"),
      namespace: pulumi.output("db"),
      hostEnd: pulumi.output("vedb"),
      peerName: pulumi.output("eth1"),
      address: pulumi.output("192.168.12.2/24"),
      gateway: pulumi.output("192.168.12.254"),
      mtu: overlay.mtu,
      macAddress: pulumi.output("02:00:00:00:00:12"),
      persist: pulumi.output("networkd" as const),
    });
    await settle();
    const seed = (name: string) => `project\0stack\0${name}`;
    const ref = planAttachment({
      connection: conn("10.0.2.1"),
      namespace: "web",
      bridge: "br12",
      address: "192.168.12.1/24",
      gateway: "192.168.12.254",
      mtu: 1450,
      macSeed: seed("att-ref"),
    });
    expectChildrenAsPlanned("att-ref", ref.items, () => conn("10.0.2.1"));
    const out = planAttachment({
      connection: conn("10.0.2.9"),
      namespace: "db",
      bridge: "br12",
      hostEnd: "vedb",
      peerName: "eth1",
      address: "192.168.12.2/24",
      gateway: "192.168.12.254",
      mtu: 1450,
      macAddress: "02:00:00:00:00:12",
      persist: "networkd",
      macSeed: seed("att-out"),
    });
    expectChildrenAsPlanned("att-out", out.items, () => conn("10.0.2.9"));
    expect(await resolved(byRef.hostEnd)).toBe(ref.hostEnd);
  });

  it("MacvlanNetwork: connection, parent and every member value but its namespace name from Outputs", async () => {
    const { MacvlanNetwork } = await import("./lower-network");
    const vm = new Vm("mvm", "10.0.3.1");
    new MacvlanNetwork("mv-out", {
      connection: { ...conn("x"), host: vm.address },
      parent: pulumi.output("eth0"),
      mode: pulumi.output("private" as const),
      members: [
        { namespace: "m1", name: pulumi.output("eth1"), address: pulumi.output("10.3.0.2/24"), gateway: pulumi.output("10.3.0.1"), mtu: pulumi.output(1400) },
        { namespace: "m2" },
      ],
    });
    await settle();
    const items = planMacvlanNetwork({
      connection: conn("10.0.3.1"),
      parent: "eth0",
      mode: "private",
      members: [{ namespace: "m1", name: "eth1", address: "10.3.0.2/24", gateway: "10.3.0.1", mtu: 1400 }, { namespace: "m2" }],
    });
    expectChildrenAsPlanned("mv-out", items, () => conn("10.0.3.1"));
  });
});

/** The one error a component raised, however many children it failed: a ResourceError on the component, its message naming component, host and field, shown without a stack. */
function theOneError(rejections: unknown[]): pulumi.ResourceError {
  expect(rejections.length).toBeGreaterThan(0);
  expect(new Set(rejections).size, "every failed registration rejects with the same error, which Pulumi reports once").toBe(1);
  const error = rejections[0] as pulumi.ResourceError;
  expect(pulumi.ResourceError.isInstance(error)).toBe(true);
  expect(error.hideStack).toBe(true);
  expect(error.message).not.toMatch(/error serializing|asn1|OpenSSL|ERR_|\.ts:\d|node_modules/);
  return error;
}

describe("errors name the component, the host and the field", () => {
  it("EncryptedOverlay: a malformed private key (an Output) is refused before any derivation, never quoted", async () => {
    const { EncryptedOverlay } = await import("./encrypted-overlay");
    let overlay: InstanceType<typeof EncryptedOverlay> | undefined;
    const badKey = "bm90LWEta2V5";
    const rejections = await collectRejections(() => {
      overlay = new EncryptedOverlay("eo-badkey", {
        vni: 13,
        wgSubnet: "10.250.0.0/24",
        hosts: [
          { name: "a", connection: conn("10.0.4.1"), underlayAddress: "10.0.4.1", privateKey: keys[0]! },
          { name: "b", connection: conn("10.0.4.2"), underlayAddress: pulumi.output("10.0.4.2"), privateKey: pulumi.secret(badKey) },
        ],
      });
    });
    const error = theOneError(rejections);
    expect(error.message).toMatch(/^EncryptedOverlay "eo-badkey": host "b": privateKey: is not a WireGuard private key/);
    expect(error.message).not.toContain(badKey);
    expect(error.resource).toBe(overlay);
  });

  it("VxlanOverlay: hosts that mix IPv4 and IPv6 (from Outputs) are refused naming both groups", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const rejections = await collectRejections(() => {
      new VxlanOverlay("ov-mixed", {
        vni: 14,
        hosts: [
          { name: "a", connection: conn("10.0.5.1"), underlayAddress: new Vm("vm-mixed-a", "10.0.5.1").address },
          { name: "b", connection: conn("10.0.5.2"), underlayAddress: new Vm("vm-mixed-b", "fd00::2").address },
        ],
      });
    });
    expect(theOneError(rejections).message).toBe(
      'VxlanOverlay "ov-mixed": underlayAddress: the hosts mix IPv4 (a) and IPv6 (b); a VTEP talks to one family, so give every host an address of the same family',
    );
  });

  it("VxlanOverlay: an underlay address that is not an IP address, and one used twice", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const bad = await collectRejections(() => {
      new VxlanOverlay("ov-badaddr", { vni: 15, hosts: [{ name: "a", connection: conn("10.0.6.1"), underlayAddress: pulumi.output("10.0.6.300") }] });
    });
    expect(theOneError(bad).message).toBe('VxlanOverlay "ov-badaddr": host "a": underlayAddress: "10.0.6.300" is not an IPv4 or IPv6 address');
    const twice = await collectRejections(() => {
      new VxlanOverlay("ov-twice", {
        vni: 15,
        hosts: ["a", "b"].map((name) => ({ name, connection: conn("10.0.6.1"), underlayAddress: pulumi.output("10.0.6.1") })),
      });
    });
    expect(theOneError(twice).message).toBe(
      `VxlanOverlay "ov-twice": host "b": underlayAddress: 10.0.6.1 is also host "a"'s; every host needs its own underlay address`,
    );
  });

  it("Attachment: a bad address from an Output names the host by its connection; an unknown overlay host is refused at once", async () => {
    const { Attachment } = await import("./attachment");
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const rejections = await collectRejections(() => {
      new Attachment("att-bad", { connection: pulumi.secret(conn("10.0.7.1")), bridge: "br0", namespace: "web", address: pulumi.output("192.168.0.1") });
    });
    expect(theOneError(rejections).message).toBe(
      'Attachment "att-bad": host "10.0.7.1": address: "192.168.0.1" is not an address in CIDR form like 10.0.0.1/24 or fd00::1/64',
    );
    const overlay = new VxlanOverlay("ov-for-att", { vni: 16, hosts: [{ name: "a", connection: conn("10.0.7.1"), underlayAddress: "10.0.7.1" }] });
    let thrown: unknown;
    try {
      new Attachment("att-nohost", { overlay, host: "z", namespace: "web" });
    } catch (error) {
      thrown = error;
    }
    expect(theOneError([thrown]).message).toBe(`Attachment "att-nohost": host: "z" is not one of the overlay's hosts (a)`);
    await settle();
  });

  it("a host name that is not a plain string is refused when the component is made", async () => {
    const { VxlanOverlay } = await import("./vxlan-overlay");
    const make = () =>
      new VxlanOverlay("ov-noname", {
        vni: 17,
        hosts: [{ name: pulumi.output("a") as unknown as string, connection: conn("10.0.8.1"), underlayAddress: "10.0.8.1" }],
      });
    expect(make).toThrow(/^VxlanOverlay "ov-noname": hosts\[0\]\.name: .* is not a host name: a plain, non-empty string/);
    await settle();
  });
});
