import { describe, expect, it } from "vitest";
import { deviceKinds, deviceEngine as engineFor, engineFor as providerEngineFor, objectTypes, resourceTypes } from "../registry";

// Pure: validation never touches a host.
const connection = { host: "10.0.0.1", hostKey: "SHA256:" + "A".repeat(43), privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretmaterial\n" };

describe("check failures name the field and show the value as the user wrote it", () => {
  it("a VNI out of range shows 16777216, not Pulumi's 1.6777216e+07", () => {
    const { failures } = engineFor("VxlanTunnel").check({ connection, name: "vx0", vni: 16777216, remote: "10.0.0.2" });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.property).toBe("vni");
    expect(failures[0]!.reason).toMatch(/^VxlanTunnel vni: .*16777215.*\(got 16777216\) \[vx0 on root@10\.0\.0\.1:22\]$/);
  });

  it("strings are quoted, nested list items are shown, and nothing of the connection is ever echoed", () => {
    const bad = engineFor("Bridge").check({ connection: { ...connection, port: 70000 }, name: "br;rm", addresses: ["10.0.0.1/24", "not-an-address"] });
    const reasons = bad.failures.map((f) => f.reason).join("\n");
    expect(reasons).toContain('(got "br;rm")');
    expect(reasons).toContain('(got "not-an-address")');
    expect(reasons).toMatch(/connection\.port/);
    expect(reasons).not.toContain("70000");
    expect(reasons).not.toContain("secretmaterial");
  });
});

/** Each resource type's own example (kinds and objects), a device on a name. */
const EXAMPLES: Record<string, Record<string, unknown>> = Object.fromEntries(
  resourceTypes.map((type) => [
    type,
    type in deviceKinds
      ? { name: "nd0", ...deviceKinds[type as keyof typeof deviceKinds].example }
      : { ...objectTypes[type as keyof typeof objectTypes].example },
  ]),
);

describe("every check failure says which resource, host and field", () => {
  // A resource that spans hosts (VxlanFloodLists) names the member by the failure's path instead: its own unit test.
  const oneHost = resourceTypes.filter((type) => !(type in objectTypes) || "connection" in objectTypes[type as keyof typeof objectTypes].schema.shape);
  it.each(oneHost)("%s: each bad field is named with the device and its host", (type) => {
    const engine = providerEngineFor(type);
    const example = EXAMPLES[type]!;
    expect(engine.check({ connection, ...example }).failures, `${type} example`).toEqual([]);
    const subject = typeof example.name === "string" ? `[${example.name} on root@10.0.0.1:22]` : "[on root@10.0.0.1:22]";
    for (const field of Object.keys(example)) {
      const { failures } = engine.check({ connection, ...example, [field]: { not: "a value" } });
      expect(failures.length, `${type}.${field}`).toBeGreaterThan(0);
      // With the name itself bad, the host alone says where.
      const where = field === "name" ? "[on root@10.0.0.1:22]" : subject;
      for (const f of failures) {
        expect(f.reason, `${type}.${field}`).toContain(`${type} ${field}`);
        expect(f.reason.endsWith(where), `${type}.${field}: ${f.reason}`).toBe(true);
      }
    }
    const [bogus] = engine.check({ connection: { ...connection, hostKey: "bogus" }, ...example }).failures;
    expect(bogus!.reason.startsWith(`${type} connection.hostKey: must be an OpenSSH public key line`), bogus!.reason).toBe(true);
    expect(bogus!.reason.endsWith(subject)).toBe(true);
  });

  it("without a usable host it still names the device; a bad port leaves the port out", () => {
    const [noHost] = engineFor("Bridge").check({ connection: { ...connection, host: "" }, name: "br0" }).failures;
    expect(noHost!.reason).toMatch(/^Bridge connection\.host: .* \[br0\]$/);
    const [badPort] = engineFor("Bridge").check({ connection: { ...connection, port: 0 }, name: "br0" }).failures;
    expect(badPort!.reason).toMatch(/^Bridge connection\.port: .* \[br0 on 10\.0\.0\.1\]$/);
  });

  it("create and update name the field still unknown at apply time, and where", () => {
    expect(() => engineFor("Bridge").parse({ connection, name: "br0", mtu: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).toThrow(
      /^Bridge mtu: still unknown at apply time \[br0 on root@10\.0\.0\.1:22\]$/,
    );
  });
});

describe("the connection's own errors say what to write instead", () => {
  const reasonFor = (overrides: Record<string, unknown>) =>
    engineFor("Bridge")
      .check({ connection: { ...connection, ...overrides }, name: "br0" })
      .failures.map((f) => f.reason);

  it("a host with a port is refused with the hint to use port; IPv6 literals stay valid", () => {
    expect(reasonFor({ host: "192.0.2.11:2222" })).toEqual(['Bridge connection.host: must not carry a port: write host: "192.0.2.11" and port: 2222 [br0]']);
    expect(reasonFor({ host: "server.example:22" })[0]).toContain('write host: "server.example" and port: 22');
    expect(reasonFor({ host: "[fd00::11]:2222" })[0]).toContain('write host: "fd00::11" and port: 2222');
    expect(reasonFor({ host: "[fd00::11]" })[0]).toMatch(/without brackets/);
    expect(reasonFor({ host: "root@192.0.2.11" })[0]).toMatch(/user name in `user`/);
    for (const host of ["fd00::11", "::1", "fe80::1%eth0", "fd00::1:2222", "192.0.2.11", "server.example"]) expect(reasonFor({ host }), host).toEqual([]);
  });

  it("a missing hostKey (plain JavaScript: no type check) says what it is and how to get it", () => {
    const [missing] = reasonFor({ hostKey: undefined });
    expect(missing).toMatch(/^Bridge connection\.hostKey: is required: the host's SSH public key line/);
    expect(missing).toContain("ssh-keyscan");
    expect(missing).toContain("ssh-keygen -lf");
    expect(missing).not.toMatch(/Invalid input/);
    const [inJump] = reasonFor({ jumpHost: { host: "10.0.0.2", privateKey: connection.privateKey } });
    expect(inJump).toMatch(/^Bridge connection\.jumpHost\.hostKey: is required: /);
    expect(reasonFor({ host: undefined })[0]).toMatch(/^Bridge connection\.host: is required: the host name or IP address/);
  });
});

describe("what reaches Pulumi", () => {
  it("no failure about the connection or a secret field names a property: Pulumi would print its value, secret or not", () => {
    const bridge = providerEngineFor("Bridge");
    for (const overrides of [{ hostKey: "bogus" }, { port: 0 }, { host: "192.0.2.11:2222" }, { hostKey: undefined }]) {
      const { failures } = bridge.check({ connection: { ...connection, ...overrides }, name: "br0" });
      expect(failures.length, JSON.stringify(overrides)).toBeGreaterThan(0);
      for (const f of failures) expect(f.property, JSON.stringify(overrides)).toBe("");
    }
    const wireguard = providerEngineFor("WireguardInterface");
    const { failures } = wireguard.check({ connection, name: "wg0", privateKey: "not-a-wireguard-key-but-secret-text" });
    expect(failures.map((f) => f.property)).toEqual([""]);
    expect(failures[0]!.reason).toMatch(/^WireguardInterface privateKey: must be a WireGuard private key/);
    expect(failures[0]!.reason).not.toContain("secret-text");
    // Other fields keep their property (Pulumi shows "property mtu value {5}").
    expect(bridge.check({ connection, name: "br0", mtu: 5 }).failures.map((f) => f.property)).toEqual(["mtu"]);
    // An unknown key at the top level is no field of ours: its value is not printed either.
    expect(bridge.check({ connection, name: "br0", password: "top-level-secret" }).failures.map((f) => f.property)).toEqual([""]);
    expect(engineFor("Bridge").check({ connection, name: "br0", password: "top-level-secret" }).failures).toEqual([
      { property: "password", reason: expect.stringMatching(/^Bridge password: /), unknownKey: true },
    ]);
  });
});
