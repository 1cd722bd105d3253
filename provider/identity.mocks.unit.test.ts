import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { recordRegistrations } from "../test/support/mocks";
import { STACK_IDENTITY_NAME, stackIdentityProvider } from "./stack-identity";

/**
 * Owner keys come from the stack's seed and the resource's URN (identity.ts): one identity
 * resource per program run, however many resources (and components) the program makes, and a
 * key that a stack of the same name with another seed does not share.
 */
const registered = recordRegistrations();
const connection = { host: "10.0.0.1", privateKey: "k", hostKey: `SHA256:${"A".repeat(43)}` };

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe("owner keys from the stack's identity", () => {
  it("one identity resource for every resource of the run; each owner key is the hash of its seed and the resource's URN", async () => {
    const { Bridge, NetworkNamespace, VxlanOverlay } = await import("./index");
    new Bridge("id-br", { connection, name: "br0" });
    new NetworkNamespace("id-ns", { connection, name: "ns1" });
    new VxlanOverlay("id-ov", { vni: 7, hosts: [{ name: "a", connection, underlayAddress: "10.0.0.1" }] });
    await settle();
    const identities = registered.filter((r) => r.name === STACK_IDENTITY_NAME);
    expect(identities.map((r) => r.type)).toEqual(["pulumi-nodejs:dynamic/netdev:StackIdentity"]);
    const seed = identities[0]!.inputs.seed as string;
    expect(seed).toMatch(/^[0-9a-f]{32}$/);
    const keyOf = (urn: string) => createHash("sha256").update(`${seed}\n${urn}`).digest("hex").slice(0, 12);
    const bridge = registered.find((r) => r.name === "id-br")!;
    expect(bridge.inputs.ownerKey).toBe(keyOf("urn:pulumi:stack::project::netdev:index:Bridge::id-br"));
    // A component's child: its URN carries the component's type, as before.
    const vtep = registered.find((r) => r.name === "id-ov-a-vtep")!;
    expect(vtep.inputs.ownerKey).toBe(keyOf("urn:pulumi:stack::project::netdev:index:VxlanOverlay$netdev:index:VxlanTunnel::id-ov-a-vtep"));
    // Without the seed, the key of the same URN in another backend would be the same: it is not.
    const urnOnly = createHash("sha256").update("urn:pulumi:stack::project::netdev:index:Bridge::id-br").digest("hex").slice(0, 12);
    expect(bridge.inputs.ownerKey).not.toBe(urnOnly);

    new Bridge("id-br-later", { connection, name: "br1" });
    await settle();
    expect(registered.filter((r) => r.name === STACK_IDENTITY_NAME)).toHaveLength(1);
  });

  it("the identity's provider keeps the seed a stack has, so every run derives the same keys", async () => {
    const provider = stackIdentityProvider();
    const first = "0123456789abcdef0123456789abcdef";
    const drawn = "fedcba9876543210fedcba9876543210";
    expect((await provider.check!({}, { seed: first })).inputs).toEqual({ seed: first });
    expect((await provider.check!({ seed: first }, { seed: drawn })).inputs).toEqual({ seed: first });
    expect(await provider.diff!("netdev-stack-identity", { seed: first }, { seed: first })).toEqual({ changes: false });
    expect((await provider.create({ seed: first })).outs).toEqual({ seed: first });
    expect((await provider.check!({}, { seed: "not hex" })).failures).toHaveLength(1);
  });
});
