import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lab/hosts";
import { connectionInput, host } from "../test/support/lab-hosts";
import { resourceTypes } from "./registry";
import { resourceClasses } from "./resources";

/** A directory laid out like a user's Pulumi program: node_modules/pulumi-netdev is this package. */
function programDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-program-"));
  mkdirSync(path.join(dir, "node_modules", "@pulumi"), { recursive: true });
  symlinkSync(repoRoot, path.join(dir, "node_modules", "pulumi-netdev"));
  symlinkSync(path.join(repoRoot, "node_modules", "@pulumi", "pulumi"), path.join(dir, "node_modules", "@pulumi", "pulumi"));
  return dir;
}

describe("dynamic providers survive Pulumi's closure serialization", () => {
  let program: string;
  let serializedDir: string;
  let report: Record<string, { bytes: number; containsSecrets: boolean }>;

  beforeAll(async () => {
    program = programDir();
    serializedDir = mkdtempSync(path.join(os.tmpdir(), "netdev-serialized-"));
    const { stdout } = await execa("node", [path.join(repoRoot, "test/fixtures/serialize-providers.cjs"), serializedDir], { cwd: program });
    report = JSON.parse(stdout);
  }, 120_000);

  it("serializes every registered type's provider small, and without secrets or captured handles", () => {
    // The list comes from the registry; the public classes are tied to it in resources.ts.
    expect(Object.keys(report).sort()).toEqual([...resourceTypes].sort());
    expect(Object.keys(resourceClasses).sort()).toEqual([...resourceTypes].sort());
    for (const [type, { bytes, containsSecrets }] of Object.entries(report)) {
      expect(containsSecrets, type).toBe(false);
      // Stored twice per resource in the state Pulumi rewrites after every step (provider/dynamic.ts): ~1.9 kB, was 2.9.
      expect(bytes, `${type} serializes only the thin provider`).toBeLessThan(2100);
    }
    for (const file of readdirSync(serializedDir)) {
      const text = readFileSync(path.join(serializedDir, file), "utf8");
      expect(text).toContain('require(moduleName)');
      expect(text).not.toMatch(/ssh2|PRIVATE KEY/);
    }
  });

  it("runs the serialized providers in a fresh process against a lab host, sharing one SSH connection", async () => {
    const connection = connectionInput("h3");
    const parent = host("h3").underlayInterface;
    const scenario = [
      { type: "Bridge", inputs: { connection, name: "ndsbr0" } },
      { type: "TunDevice", inputs: { connection, name: "ndstun0", mode: "tun" } },
      { type: "VethPair", inputs: { connection, name: "ndsve0", peerName: "ndsve1" } },
      { type: "Macvlan", inputs: { connection, name: "ndsmv0", parent } },
      { type: "VxlanTunnel", inputs: { connection, name: "ndsvx0", vni: 7, peers: ["10.247.0.11"] } },
    ];
    const { stdout } = await execa("node", [path.join(repoRoot, "test/fixtures/run-serialized.cjs"), serializedDir, JSON.stringify(scenario)], { cwd: program });
    const results = JSON.parse(stdout);
    for (const { type } of scenario) {
      expect(results[type].readId, type).toBe(results[type].id);
      expect(results[type].goneId, `${type} deleted`).toBe("");
      expect(results[type].ifindex).toBeGreaterThan(0);
    }
    // Five kinds, each deserialized separately, one handshake: the pool lives on globalThis.
    expect(results.handshakes).toBe(1);
  });
});
