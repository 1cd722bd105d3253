import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { recordRegistrations } from "../test/support/mocks";
import { claimsOf, Declarations, declaredOnce } from "./duplicates";

const connection = { host: "10.0.0.1", password: "pw", hostKey: `SHA256:${"A".repeat(43)}` };
const otherHost = { ...connection, host: "10.0.0.2" };

/** The RunError `declare` throws for these declarations in order, or undefined when all are fine. */
function firstConflict(declarations: Array<[type: string, resourceName: string, args: Record<string, unknown>]>): string | undefined {
  const run = new Declarations();
  try {
    for (const [type, resourceName, args] of declarations) run.declare(type, resourceName, claimsOf(type, args));
  } catch (error) {
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  return undefined;
}

describe("a device declared twice in one program", () => {
  it("is refused naming both resources, the device, its namespace and host", () => {
    expect(
      firstConflict([
        ["Bridge", "a", { connection, name: "br0" }],
        ["Dummy", "b", { connection, name: "br0" }],
      ]),
    ).toMatch(/^Dummy "b" and Bridge "a" both declare the device br0 on 10\.0\.0\.1:22: /);
    expect(
      firstConflict([
        ["Bridge", "a", { connection, name: "br0", netns: "x" }],
        ["Bridge", "b", { connection, name: "br0", netns: "x" }],
      ]),
    ).toMatch(/the device br0 in namespace x on 10\.0\.0\.1:22/);
    // The same host through the same port, whatever else differs in the connection.
    expect(
      firstConflict([
        ["Bridge", "a", { connection, name: "br0" }],
        ["Bridge", "b", { connection: { ...connection, user: "admin", port: 22 }, name: "br0" }],
      ]),
    ).toBeDefined();
  });

  it("counts a veth's peer end as a device, in its own namespace or beside the first end", () => {
    expect(
      firstConflict([
        ["VethPair", "v", { connection, name: "ve0", peerName: "eth0", peerNetns: "c1" }],
        ["Dummy", "d", { connection, name: "eth0", netns: "c1" }],
      ]),
    ).toMatch(/the device eth0 in namespace c1/);
    expect(
      firstConflict([
        ["VethPair", "v", { connection, name: "ve0", peerName: "ve1" }],
        ["Dummy", "d", { connection, name: "ve1" }],
      ]),
    ).toMatch(/the device ve1 on/);
  });

  it("counts each device of a HostDevices, against a device resource and against another HostDevices", () => {
    const devices = { br: { kind: "bridge", name: "br0" }, v: { kind: "veth", name: "ve0", peerName: "eth0", peerNetns: "c1" } };
    expect(
      firstConflict([
        ["HostDevices", "hd", { connection, devices }],
        ["Bridge", "b", { connection, name: "br0" }],
      ]),
    ).toMatch(/^Bridge "b" and HostDevices "hd" both declare the device br0 on /);
    expect(
      firstConflict([
        ["HostDevices", "hd", { connection, devices }],
        ["HostDevices", "other", { connection, devices: { x: { kind: "tun", name: "eth0", netns: "c1", mode: "tap" } } }],
      ]),
    ).toMatch(/both declare the device eth0 in namespace c1/);
    expect(
      firstConflict([
        ["HostDevices", "hd", { connection, devices }],
        ["HostDevices", "there", { connection: otherHost, devices }],
      ]),
    ).toBeUndefined();
  });

  it("namespaces are declared once too; routes claim nothing", () => {
    expect(
      firstConflict([
        ["NetworkNamespace", "n1", { connection, name: "web" }],
        ["NetworkNamespace", "n2", { connection, name: "web" }],
      ]),
    ).toMatch(/both declare the namespace web on 10\.0\.0\.1:22/);
    expect(
      firstConflict([
        ["Route", "r1", { connection, destination: "default", via: "10.0.0.254" }],
        ["Route", "r2", { connection, destination: "default", via: "10.0.0.254" }],
      ]),
    ).toBeUndefined();
  });

  it("accepts the same name in another namespace, on another host or port, and a namespace named like a device", () => {
    expect(
      firstConflict([
        ["Bridge", "a", { connection, name: "br0" }],
        ["Bridge", "b", { connection, name: "br0", netns: "x" }],
        ["Bridge", "c", { connection: otherHost, name: "br0" }],
        ["Bridge", "d", { connection: { ...connection, port: 2222 }, name: "br0" }],
        ["NetworkNamespace", "e", { connection, name: "br0" }],
      ]),
    ).toBeUndefined();
  });

  it("claims nothing for values it cannot read (check reports those)", () => {
    expect(claimsOf("Bridge", { connection: { hostKey: "x" }, name: "br0" })).toEqual([]);
    expect(claimsOf("Bridge", { connection, name: 5 })).toEqual([]);
  });
});

describe("the check as resources register (Pulumi's mocks, inside a stack)", () => {
  recordRegistrations();
  // Pulumi awaits a dependsOn Output through its internal promise(); so does this test. (The
  // failing case rejects Pulumi's other promises of that Output too, which only a program run
  // reports: test/e2e/input-errors.test.ts runs it through `pulumi preview`.)
  const settled = (value: unknown) => (pulumi.output(value) as unknown as { promise(): Promise<unknown> }).promise();

  // First: runInPulumiStack leaves its stack as the current one.
  it("checks nothing outside a program run (mocks without a stack)", () => {
    expect(declaredOnce("Bridge", "a", { connection, name: "br0" }, undefined)).toBeUndefined();
  });

  it("resolves Outputs and keeps the caller's dependsOn beside the check", async () => {
    await pulumi.runtime.runInPulumiStack(async () => {
      const caller = new pulumi.ComponentResource("test:index:Caller", "caller");
      const first = declaredOnce("Bridge", "a", { connection: pulumi.output(connection), name: pulumi.output("br0") }, caller);
      expect(Array.isArray(first)).toBe(true);
      expect((first as unknown[])[1]).toBe(caller);
      expect(await settled((first as unknown[])[0])).toEqual([]);
      const alone = declaredOnce("Bridge", "b", { connection: { ...connection, host: pulumi.output("10.0.0.2") }, name: "br0" }, undefined);
      expect(await settled(alone)).toEqual([]);
      // Plain values (a secret key beside them changes nothing): checked at once, thrown from the constructor.
      const plain = { connection: { ...connection, host: "10.0.0.3", password: pulumi.secret("pw") }, name: "br0" };
      expect(declaredOnce("Bridge", "c", plain, caller)).toBe(caller);
      expect(() => declaredOnce("Dummy", "d", plain, undefined)).toThrow(/^Dummy "d" and Bridge "c" both declare the device br0 on 10\.0\.0\.3:22/);
      return {};
    });
  });
});
