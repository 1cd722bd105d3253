import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { connectionFromConfig, parseHostsConfig } from "./config";

const good = { name: "a", host: "10.0.0.11", hostKey: "ssh-ed25519 AAAA", underlayAddress: "10.0.0.11" };

describe("hosts from stack config (pure)", () => {
  it("accepts the documented shape, with the port given as a number or as text", () => {
    expect(parseHostsConfig("hosts", [good, { ...good, name: "b", port: "2222" }, { ...good, name: "c", port: 22 }]).map((h) => h.port)).toEqual([
      undefined,
      2222,
      22,
    ]);
  });

  it("takes sudo as a boolean or as the text stack config may store", () => {
    expect(
      parseHostsConfig("hosts", [
        { ...good, user: "admin", sudo: true },
        { ...good, name: "b", sudo: "true" },
        { ...good, name: "c", sudo: "false" },
      ]).map((h) => h.sudo),
    ).toEqual([true, true, false]);
    expect(() => parseHostsConfig("hosts", [{ ...good, sudo: "yes" }])).toThrow(/hosts\[0\]\.sudo/);
  });

  it("says what went wrong when `--path 'hosts[0]' '{…}'` stored text, and how to set it", () => {
    expect(() => parseHostsConfig("hosts", [JSON.stringify(good)])).toThrow(/stack config hosts\[0\] is text .*not an object .*--path 'hosts\[0\]\.name' a/);
  });

  it("names the key, the element and the field for anything else", () => {
    expect(() => parseHostsConfig("hosts", undefined)).toThrow(/stack config hosts is missing/);
    expect(() => parseHostsConfig("hosts", "a,b")).toThrow(/stack config hosts must be a list of hosts.*the text "a,b"/);
    expect(() => parseHostsConfig("hosts", [])).toThrow(/empty list/);
    expect(() => parseHostsConfig("hosts", [{ ...good, hostKey: undefined }])).toThrow(/hosts\[0\]\.hostKey/);
    expect(() => parseHostsConfig("hosts", [{ ...good, adress: "x" }])).toThrow(/hosts\[0\]: .*adress/);
    expect(() => parseHostsConfig("hosts", [{ ...good, port: "ssh" }])).toThrow(/hosts\[0\]\.port/);
  });
});

describe("connection from stack config", () => {
  it("reads every connection option a program may set, sudo and preflight included", () => {
    pulumi.runtime.setAllConfig({
      "netdev:host": "10.0.0.11",
      "netdev:hostKey": "ssh-ed25519 AAAA",
      "netdev:user": "admin",
      "netdev:sudo": "true",
      "netdev:preflight": "true",
    });
    expect(connectionFromConfig()).toMatchObject({ host: "10.0.0.11", port: 22, user: "admin", sudo: true, preflight: true });
    pulumi.runtime.setAllConfig({ "netdev:host": "10.0.0.11", "netdev:hostKey": "ssh-ed25519 AAAA" });
    expect(connectionFromConfig()).toMatchObject({ user: "root", sudo: undefined, preflight: undefined });
  });
});
