import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { recordRegistrations, resolved } from "../../test/support/mocks";
import { providerSource } from "../dynamic";

/**
 * Under Pulumi's mocks the monitor receives each resource's inputs as the engine would: a
 * secret arrives wrapped in Pulumi's secret signature, so the test sees whether `connection`
 * was sealed before it became an input (and would be encrypted in state).
 */
const registered = recordRegistrations();

function isSecretInput(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

// A password given in plain text, as a careless program would.
const connection = { host: "10.0.0.1", user: "root", password: "plain-text-password", hostKey: `SHA256:${"A".repeat(43)}` };

describe("connection is sealed at the door", () => {
  it("every device and component-level resource receives connection as a secret input, also when made by a component", async () => {
    const { Bridge, NetworkNamespace, Route, VxlanOverlay } = await import("../index");
    const { MacvlanNetwork } = await import("./lower-network");
    new Bridge("br", { connection, name: "br0" });
    new NetworkNamespace("ns", { connection, name: "ns1" });
    new Route("rt", { connection, destination: "default", via: "10.0.0.254" });
    new Bridge("br-output", { connection: pulumi.output(connection), name: "br1" });
    new VxlanOverlay("ov", { vni: 7, hosts: [{ name: "a", connection, underlayAddress: "10.0.0.1" }] });
    new MacvlanNetwork("mv", { connection, parent: "eth0", members: [{ namespace: "m1", address: "10.1.0.2/24", gateway: "10.1.0.1" }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Every resource but the stack's identity (stack-identity.ts), which holds no connection.
    const custom = registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/netdev:") && r.name !== "netdev-stack-identity");
    expect(custom.map((r) => r.name).sort()).toEqual([
      "br",
      "br-output",
      "mv-m1-link",
      "mv-m1-netns",
      "mv-m1-route",
      "ns",
      "ov-a-bridge",
      "ov-a-vtep",
      "ov-flood",
      "rt",
    ]);
    for (const resource of custom) {
      // The overlay's flood lists hold every host's connection, by host name, as one secret.
      const multiHost = resource.name === "ov-flood";
      const sealed = multiHost ? resource.inputs.connections : resource.inputs.connection;
      expect(isSecretInput(sealed), `${resource.name}: connection must be a secret input`).toBe(true);
      const value = (sealed as { value: unknown }).value;
      expect(multiHost ? (value as Record<string, unknown>).a : value).toMatchObject({ host: "10.0.0.1", password: "plain-text-password" });
      // The provider text names the type and nothing else: no credential can reach it (provider/dynamic.ts).
      expect(resource.inputs.__provider, resource.name).toBe(providerSource(resource.type.split(":").at(-1)!));
    }
  });

  it("a WireGuard private key is a secret input even when passed in plain text, also through EncryptedOverlay; public keys are not", async () => {
    const { WireguardInterface, EncryptedOverlay } = await import("../index");
    const key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const other = "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4=";
    new WireguardInterface("wg", { connection, name: "wg0", privateKey: key });
    const overlay = new EncryptedOverlay("eo", {
      vni: 9,
      wgSubnet: "10.250.0.0/24",
      hosts: [
        { name: "a", connection, underlayAddress: "10.0.0.1", privateKey: key },
        { name: "b", connection, underlayAddress: "10.0.0.2", privateKey: pulumi.secret(other) },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const wg = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/netdev:WireguardInterface");
    expect(wg.map((r) => r.name).sort()).toEqual(["eo-a-wg", "eo-b-wg", "wg"]);
    for (const resource of wg) {
      expect(isSecretInput(resource.inputs.privateKey), `${resource.name}: privateKey must be a secret input`).toBe(true);
      // The overlay's interfaces carry no peers: its WireguardPeerLists holds them.
      expect(resource.inputs.peers, resource.name).toBeUndefined();
    }
    const peerLists = registered.find((r) => r.type === "pulumi-nodejs:dynamic/netdev:WireguardPeerLists")!;
    expect(peerLists.name).toBe("eo-wg-peers");
    for (const secret of [key, other]) expect(JSON.stringify(peerLists.inputs.interfaces)).not.toContain(secret);
    // b's public key, derived from a secret Output, reaches the mesh readable (not a secret).
    const interfaces = peerLists.inputs.interfaces as Record<string, { asPeer: Record<string, unknown> }>;
    expect(isSecretInput(interfaces)).toBe(false);
    expect(interfaces.b!.asPeer).toMatchObject({ endpoint: "10.0.0.2:51820", allowedIps: ["10.250.0.2/32"] });
    const { wireguardPublicKey } = await import("../kinds/wireguard/wireguard");
    expect(interfaces.b!.asPeer.publicKey).toBe(wireguardPublicKey(other));
    expect(await resolved(overlay.mtu)).toBe(1370);
  });
});
