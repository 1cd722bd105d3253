import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lab/hosts";
import { connectionInput, host } from "../test/support/lab-hosts";
import { providerSource } from "./dynamic";
import { resourceTypes } from "./registry";
import * as netdev from "./index";
import { resourceClass } from "./resources";

/** A directory laid out like a user's Pulumi program: node_modules/pulumi-netdev is this package. */
function programDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-program-"));
  mkdirSync(path.join(dir, "node_modules", "@pulumi"), { recursive: true });
  symlinkSync(repoRoot, path.join(dir, "node_modules", "pulumi-netdev"));
  symlinkSync(path.join(repoRoot, "node_modules", "@pulumi", "pulumi"), path.join(dir, "node_modules", "@pulumi", "pulumi"));
  return dir;
}

describe("each resource's provider text loads its engine in Pulumi's provider process", () => {
  let program: string;
  const current = mkdtempSync(path.join(os.tmpdir(), "netdev-provider-text-"));

  beforeAll(async () => {
    program = programDir();
    for (const type of resourceTypes) writeFileSync(path.join(current, `${type}.js`), providerSource(type));
  }, 120_000);

  it("stores a few bytes per resource that name only the type", () => {
    // The list comes from the registry; each type's public class is generated from it.
    for (const type of resourceTypes) expect((netdev as Record<string, unknown>)[type], type).toBe(resourceClass(type));
    for (const type of resourceTypes) {
      const text = providerSource(type);
      // Stored twice per resource in the state the CLI rewrites after every step.
      expect(text.length, type).toBeLessThan(100);
      expect(text).toBe(`exports.handler=()=>require("pulumi-netdev/runtime").providerOf(${JSON.stringify(type)});`);
    }
  });

  it("runs the provider texts in a fresh process against a lab host, sharing one SSH connection", async () => {
    const connection = connectionInput("h3");
    const parent = host("h3").underlayInterface;
    const scenario = [
      { type: "Bridge", inputs: { connection, name: "ndsbr0" } },
      { type: "TunDevice", inputs: { connection, name: "ndstun0", mode: "tun" } },
      { type: "VethPair", inputs: { connection, name: "ndsve0", peerName: "ndsve1" } },
      { type: "Macvlan", inputs: { connection, name: "ndsmv0", parent } },
      { type: "VxlanTunnel", inputs: { connection, name: "ndsvx0", vni: 7, peers: ["10.247.0.11"] } },
    ];
    const { stdout } = await execa("node", [path.join(repoRoot, "test/fixtures/run-serialized.cjs"), current, JSON.stringify(scenario)], { cwd: program });
    const results = JSON.parse(stdout);
    for (const { type } of scenario) {
      expect(results[type].readId, type).toBe(results[type].id);
      expect(results[type].goneId, `${type} deleted`).toBe("");
      expect(results[type].ifindex).toBeGreaterThan(0);
    }
    // Five kinds, each loaded separately, one handshake: the pool lives on globalThis.
    expect(results.handshakes).toBe(1);
  });
});
