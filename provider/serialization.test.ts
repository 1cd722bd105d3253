import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lab/hosts";
import { connectionInput, host } from "../test/support/lab-hosts";
import { providerSource } from "./dynamic";
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

describe("each resource's provider text loads its engine in Pulumi's provider process", () => {
  let program: string;
  const current = mkdtempSync(path.join(os.tmpdir(), "netdev-provider-text-"));
  const previous = mkdtempSync(path.join(os.tmpdir(), "netdev-provider-previous-"));
  let previousReport: Record<string, { bytes: number; containsSecrets: boolean }>;

  beforeAll(async () => {
    program = programDir();
    for (const type of resourceTypes) writeFileSync(path.join(current, `${type}.js`), providerSource(type));
    const { stdout } = await execa("node", [path.join(repoRoot, "test/fixtures/serialize-previous-providers.cjs"), previous, "Bridge", "VethPair"], {
      cwd: program,
    });
    previousReport = JSON.parse(stdout);
  }, 120_000);

  it("stores a few bytes per resource that name only the type", () => {
    // The list comes from the registry; the public classes are tied to it in resources.ts.
    expect(Object.keys(resourceClasses).sort()).toEqual([...resourceTypes].sort());
    for (const type of resourceTypes) {
      const text = providerSource(type);
      // Stored twice per resource in the state the CLI rewrites after every step: was 1.9 kB serialized.
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

  it("still runs the closure-serialized providers that state from earlier releases holds", async () => {
    for (const [type, { bytes, containsSecrets }] of Object.entries(previousReport)) {
      expect(containsSecrets, type).toBe(false);
      expect(bytes, type).toBeGreaterThan(1000);
      const text = readFileSync(path.join(previous, `${type}.js`), "utf8");
      expect(text).toContain("require(moduleName)");
      expect(text).not.toMatch(/ssh2|PRIVATE KEY/);
    }
    const connection = connectionInput("h3");
    const scenario = [
      { type: "Bridge", inputs: { connection, name: "ndspbr0" } },
      { type: "VethPair", inputs: { connection, name: "ndspve0", peerName: "ndspve1" } },
    ];
    const { stdout } = await execa("node", [path.join(repoRoot, "test/fixtures/run-serialized.cjs"), previous, JSON.stringify(scenario)], { cwd: program });
    const results = JSON.parse(stdout);
    for (const { type } of scenario) {
      expect(results[type].readId, type).toBe(results[type].id);
      expect(results[type].goneId, `${type} deleted`).toBe("");
    }
  });
});
