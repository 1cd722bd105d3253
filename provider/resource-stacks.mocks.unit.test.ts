import { describe, expect, it } from "vitest";
import { recordRegistrations } from "../test/support/mocks";

/**
 * Resource constructors register with promise stacks recorded without frames (resources.ts,
 * pauseStacks): what the program sees afterwards must be as before, the stack trace limit
 * included, and an error the registration throws must still point at the program's line.
 */
const registered = recordRegistrations();
const connection = { host: "10.0.0.1", privateKey: "k", hostKey: `SHA256:${"A".repeat(43)}` };

describe("resource constructors and stack traces", () => {
  it("leave Error.stackTraceLimit as the program set it, and still register every property", async () => {
    const { Bridge, NetworkNamespace } = await import("./index");
    Error.stackTraceLimit = 17;
    try {
      const bridge = new Bridge("stacks-br", { connection, name: "br0" });
      expect(Error.stackTraceLimit).toBe(17);
      new NetworkNamespace("stacks-ns", { connection, name: "ns1" });
      expect(Error.stackTraceLimit).toBe(17);
      // Promises made while the frames were off still resolve as outputs.
      expect(await new Promise((resolve) => bridge.name.apply(resolve))).toBe("br0");
      expect(new Error("after").stack!.split("\n").length).toBeGreaterThan(2);
    } finally {
      Error.stackTraceLimit = 10;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registered.map((r) => r.name)).toEqual(expect.arrayContaining(["stacks-br", "stacks-ns"]));
  });

  it("an error the constructor throws keeps its message and carries the caller's frames", async () => {
    const { Bridge } = await import("./index");
    let caught: unknown;
    try {
      new Bridge("", { connection, name: "br0" }); // Pulumi refuses an empty resource name
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    const stack = (caught as Error).stack!;
    expect(stack).toMatch(/^Error: Missing resource name argument/);
    expect(stack).toContain("resource-stacks.mocks.unit.test.ts");
    expect(Error.stackTraceLimit).toBe(10);
  });
});
