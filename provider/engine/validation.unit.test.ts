import { describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";

// Pure: validation never touches a host.
const connection = { host: "10.0.0.1", hostKey: "SHA256:" + "A".repeat(43), privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretmaterial\n" };

describe("check failures name the field and show the value as the user wrote it", () => {
  it("a VNI out of range shows 16777216, not Pulumi's 1.6777216e+07", () => {
    const { failures } = engineFor("VxlanTunnel").check({ connection, name: "vx0", vni: 16777216, remote: "10.0.0.2" });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.property).toBe("vni");
    expect(failures[0]!.reason).toMatch(/^VxlanTunnel vni: .*16777215.*\(got 16777216\)$/);
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
