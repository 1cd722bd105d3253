import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { connectionSchema, hostProblem } from "./connection";

/** The connection's object schema (connectionSchema is lazy: it is recursive through jumpHost). */
const shape = (connectionSchema as unknown as z.ZodLazy<z.ZodObject>).unwrap().shape;

describe("the connection schema", () => {
  it("describes every field for the generated reference and hover text", () => {
    const undescribed = Object.entries(shape).filter(([, field]) => !(field as z.ZodType).description?.trim());
    expect(undescribed.map(([name]) => name)).toEqual([]);
    expect(Object.keys(shape)).toEqual(
      expect.arrayContaining([
        "host",
        "port",
        "user",
        "privateKey",
        "passphrase",
        "password",
        "agentSocket",
        "hostKey",
        "jumpHost",
        "connectTimeoutMs",
        "commandTimeoutMs",
        "retries",
        "retryBackoffMs",
        "maxChannels",
      ]),
    );
  });

  it("says what to write instead of a host with a port, a user or brackets", () => {
    expect(hostProblem("192.0.2.11:2222")).toBe('must not carry a port: write host: "192.0.2.11" and port: 2222');
    expect(hostProblem("[fd00::11]:22")).toBe('must not carry a port: write host: "fd00::11" and port: 22');
    expect(hostProblem("bad host:22")).toBe("must not carry a port: set the port in `port`");
    expect(hostProblem("admin@192.0.2.11")).toMatch(/`user`/);
    expect(hostProblem("[fd00::11]")).toMatch(/without brackets/);
    for (const host of ["192.0.2.11", "fd00::11", "fd00::11:22", "::1", "fe80::1%eth0", "host-1.example"]) expect(hostProblem(host), host).toBeUndefined();
  });
});
