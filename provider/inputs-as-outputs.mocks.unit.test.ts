import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { recordRegistrations } from "../test/support/mocks";
import { resourceFields } from "./generated/fields";

/**
 * Every input is readable as an output of the resource (`bridge.mtu`, `vxlan.vni`): each class
 * registers every input and output name, so each is an Output whether or not the program set
 * it. Under Pulumi's mocks a resource's outputs are its inputs; against a host they are what
 * the engine returns (its outs carry every input as applied: engine.ts observe).
 */
const registered = recordRegistrations();
const connection = { host: "10.0.0.1", privateKey: "k", hostKey: `SHA256:${"A".repeat(43)}` };

function resolvedValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return (output as unknown as { isSecret: Promise<boolean> }).isSecret;
}

describe("inputs as outputs", () => {
  it("are typed outputs of each resource, set or not", async () => {
    const { Bridge, NetworkNamespace, VxlanTunnel, WireguardInterface } = await import("./index");
    const bridge = new Bridge("io-br", { connection, name: "br0", mtu: 1400, stp: true });
    const vxlan = new VxlanTunnel("io-vx", { connection, name: "vx0", vni: 42, peers: ["10.0.0.2"] });
    const namespace = new NetworkNamespace("io-ns", { connection, name: "web" });
    const wireguard = new WireguardInterface("io-wg", {
      connection,
      name: "wg0",
      privateKey: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
      listenPort: 51820,
    });

    // The declared types (a wrong one fails the type check).
    const mtu: pulumi.Output<number | undefined> = bridge.mtu;
    const stp: pulumi.Output<boolean | undefined> = bridge.stp;
    const vni: pulumi.Output<number> = vxlan.vni;
    const peers: pulumi.Output<string[] | undefined> = vxlan.peers;
    const name: pulumi.Output<string> = namespace.name;
    const listenPort: pulumi.Output<number | undefined> = wireguard.listenPort;

    expect(await resolvedValue(mtu)).toBe(1400);
    expect(await resolvedValue(stp)).toBe(true);
    expect(await resolvedValue(vni)).toBe(42);
    expect(await resolvedValue(peers)).toEqual(["10.0.0.2"]);
    expect(await resolvedValue(name)).toBe("web");
    expect(await resolvedValue(listenPort)).toBe(51820);
    // Not set, and still an Output the program can use.
    expect(pulumi.Output.isInstance(bridge.macAddress)).toBe(true);
    expect(await resolvedValue(bridge.macAddress)).toBeUndefined();

    // Secrets stay secret outputs.
    expect(await isSecret(bridge.connection)).toBe(true);
    expect(await isSecret(wireguard.privateKey)).toBe(true);
    expect(await isSecret(bridge.name)).toBe(false);
  });

  it("every class has an Output for each of its inputs and outputs", async () => {
    const index = await import("./index");
    const examples: Record<string, Record<string, unknown>> = {
      TunDevice: { name: "tun0", mode: "tap" },
      VethPair: { name: "ve0", peerName: "ve1" },
      Bridge: { name: "br1" },
      Macvlan: { name: "mv0", parent: "eth0" },
      Ipvlan: { name: "ipv0", parent: "eth0" },
      Vlan: { name: "vlan5", parent: "eth0", vlanId: 5 },
      VxlanTunnel: { name: "vx1", vni: 1 },
      Dummy: { name: "dummy0" },
      Geneve: { name: "gnv0", vni: 1, remote: "10.0.0.2" },
      Gre: { name: "gre1", remote: "10.0.0.2" },
      Bond: { name: "bond0" },
      Vrf: { name: "vrf10", table: 10 },
      WireguardInterface: { name: "wg1", privateKey: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=" },
      NetworkNamespace: { name: "ns1" },
      Route: { destination: "default", via: "10.0.0.254" },
    };
    for (const [type, fields] of Object.entries(resourceFields)) {
      const Resource = (index as unknown as Record<string, new (name: string, args: object) => Record<string, unknown>>)[type]!;
      const resource = new Resource(`all-${type}`, { connection, ...examples[type] });
      for (const key of [...fields.inputs, ...fields.outputs]) expect(pulumi.Output.isInstance(resource[key]), `${type}.${key}`).toBe(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registered.filter((r) => r.name.startsWith("all-"))).toHaveLength(Object.keys(resourceFields).length);
  });
});
