import net from "node:net";
import path from "node:path";
import { readFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, type LabHost } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";
import { host } from "../support/lab-hosts";
import { exec } from "../support/components";

/**
 * Faults under a real `pulumi up` (the CLI, a file backend) against lab hosts. Each case ends
 * with nothing lost: every device is in the state and on its host, or in neither; the next
 * `up` converges with no manual step.
 */
type Device = { type: string; resourceName: string; host: string; inputs: Record<string, unknown>; dependsOn?: string[] };
const FAST = { connectTimeoutMs: 2000, commandTimeoutMs: 4000, retries: 1, retryBackoffMs: 200 };

function program(name: string) {
  const { workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"]);
  let spec: { hosts: Record<string, unknown>; devices: Device[] } = { hosts: {}, devices: [] };
  const pulumi = (args: string[]) =>
    execa("pulumi", [...args, "--non-interactive"], {
      cwd: workDir,
      env: { ...process.env, ...env, NETDEV_E2E_SPEC: JSON.stringify(spec) },
      reject: false,
      stdin: "ignore",
      all: true,
    });
  return {
    workDir,
    env,
    pulumi,
    set(next: typeof spec) {
      spec = next;
    },
    async init() {
      expect((await pulumi(["stack", "init", name])).exitCode).toBe(0);
    },
    /** Names of the device resources recorded in the state (the stack's identity, which touches no host, left out). */
    async recorded(): Promise<string[]> {
      const exported = await pulumi(["stack", "export"]);
      const deployment = JSON.parse(exported.stdout) as { deployment: { resources?: Array<{ urn: string; type: string }> } };
      return (deployment.deployment.resources ?? [])
        .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic") && r.type !== "pulumi-nodejs:dynamic/netdev:StackIdentity")
        .map((r) => r.urn.split("::").at(-1)!)
        .sort();
    },
  };
}

const bridges = (hostName: string, prefix: string, count: number): Device[] =>
  Array.from({ length: count }, (_, i) => ({ type: "Bridge", resourceName: `${prefix}${i}`, host: hostName, inputs: { name: `${prefix}${i}` } }));

/** Bridges made one after another: each waits for the one before, so a fault after the first few finds the rest still to do. */
const bridgeChain = (hostName: string, prefix: string, count: number): Device[] =>
  bridges(hostName, prefix, count).map((d, i) => (i === 0 ? d : { ...d, dependsOn: [`${prefix}${i - 1}`] }));

async function bridgesOn(hostName: string, prefix: string): Promise<string[]> {
  const out = (await exec(hostName, ["ip", "-br", "link", "show", "type", "bridge"])).stdout;
  return out
    .split("\n")
    .map((line) => line.split(/\s+/)[0]!)
    .filter((n) => n.startsWith(prefix))
    .sort();
}

async function removeBridges(hostName: string, prefix: string): Promise<void> {
  for (const name of await bridgesOn(hostName, prefix)) await exec(hostName, ["ip", "link", "del", "dev", name]);
}

const hostSpec = (h: LabHost, extra: Record<string, unknown> = {}) => ({ ...h, settings: FAST, ...extra });
const table: string[] = [];

describe("faults under a real pulumi up", () => {
  afterAll(() => {
    // The closing table of the fault suite (pasted into the issue's closing note).
    console.log(["| fault | what the user saw | time to fail | next up |", "| --- | --- | --- | --- |", ...table].join("\n"));
  });

  it("a host stops answering mid-up: up fails within the deadline naming it; the other host's devices are recorded; after it returns, up converges", async () => {
    const [h1, h2] = [host("h1"), host("h2")];
    await removeBridges("h1", "ndfa");
    await removeBridges("h2", "ndfb");
    const p = program("unreachable");
    await p.init();
    p.set({ hosts: { h1: hostSpec(h1), h2: hostSpec(h2) }, devices: [...bridges("h1", "ndfa", 6), ...bridgeChain("h2", "ndfb", 6)] });
    // h2 drops every packet it sends: its SSH server goes silent, the TCP connection stays open.
    const blackhole = ["ip", "netns", "exec", h2.netns!, "tc", "qdisc", "add", "dev", "eth0", "root", "pfifo", "limit", "0"];
    const restore = ["ip", "netns", "exec", h2.netns!, "tc", "qdisc", "del", "dev", "eth0", "root"];
    try {
      const up = p.pulumi(["up", "--yes", "--skip-preview"]);
      const deadline = Date.now() + 60_000;
      while ((await bridgesOn("h2", "ndfb")).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await execa(blackhole[0]!, blackhole.slice(1));
      const cut = Date.now();
      const result = await up;
      const seconds = (Date.now() - cut) / 1000;
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toContain(h2.address);
      expect(result.all).toMatch(/timed out|may or may not have run|cannot connect/);
      expect(seconds).toBeLessThan(60);
      expect((await p.recorded()).filter((n) => n.startsWith("ndfa"))).toEqual(await bridgesOn("h1", "ndfa"));
      table.push(
        `| a host stops answering mid-\`up\` (all its packets dropped) | \`up\` failed naming ${h2.address}: ${firstError(result.all)} | ${seconds.toFixed(1)} s after the cut | converged once the host answered again |`,
      );
    } finally {
      await execa(restore[0]!, restore.slice(1), { reject: false });
    }
    await p.pulumi(["cancel", "--yes"]);
    const refresh = await p.pulumi(["refresh", "--yes", "--clear-pending-creates"]);
    expect(refresh.exitCode, refresh.all).toBe(0);
    const again = await p.pulumi(["up", "--yes", "--skip-preview"]);
    expect(again.exitCode, again.all).toBe(0);
    expect(await bridgesOn("h2", "ndfb")).toEqual(
      bridges("h2", "ndfb", 6)
        .map((d) => d.resourceName)
        .sort(),
    );
    expect((await p.pulumi(["destroy", "--yes", "--skip-preview"])).exitCode).toBe(0);
    expect([...(await bridgesOn("h1", "ndfa")), ...(await bridgesOn("h2", "ndfb"))]).toEqual([]);
  }, 300_000);

  it("the SSH session's server process is killed mid-up: a clear failure, and the next up converges", async () => {
    const h3 = host("h3");
    await removeBridges("h3", "ndfk");
    const p = program("killed");
    await p.init();
    p.set({ hosts: { h3: hostSpec(h3) }, devices: bridges("h3", "ndfk", 12) });
    const up = p.pulumi(["up", "--yes", "--skip-preview"]);
    const deadline = Date.now() + 60_000;
    while ((await bridgesOn("h3", "ndfk")).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The per-connection sshd (not the listener): what a crash or an OOM kill of sshd does to a session.
    const started = Date.now();
    // Children of h3's listening sshd: one per connection. Nothing else runs beside this suite.
    await execa("pkill", ["-KILL", "-P", String(h3.pid)], { reject: false });
    const result = await up;
    const seconds = (Date.now() - started) / 1000;
    table.push(
      `| the session's sshd killed mid-\`up\` | ${result.exitCode === 0 ? "`up` succeeded (reads retried, the pool reconnected)" : `\`up\` failed: ${firstError(result.all)}`} | ${seconds.toFixed(1)} s | converged |`,
    );
    if (result.exitCode !== 0) expect(result.all).toMatch(/lost its connection|may or may not have run|cannot connect|closed/);
    await p.pulumi(["cancel", "--yes"]);
    expect((await p.pulumi(["refresh", "--yes", "--clear-pending-creates"])).exitCode).toBe(0);
    const again = await p.pulumi(["up", "--yes", "--skip-preview"]);
    expect(again.exitCode, again.all).toBe(0);
    expect(await bridgesOn("h3", "ndfk")).toEqual(
      bridges("h3", "ndfk", 12)
        .map((d) => d.resourceName)
        .sort(),
    );
    expect((await p.pulumi(["destroy", "--yes", "--skip-preview"])).exitCode).toBe(0);
    expect(await bridgesOn("h3", "ndfk")).toEqual([]);
  }, 300_000);

  it("a server that accepts the connection and then says nothing: up fails within the connect deadline, naming it", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const p = program("stalled");
      await p.init();
      const stalled = { ...host("h1"), address: "127.0.0.1", port };
      p.set({ hosts: { stalled: hostSpec(stalled) }, devices: bridges("stalled", "ndfs", 1) });
      const started = Date.now();
      const up = await p.pulumi(["up", "--yes", "--skip-preview"]);
      const seconds = (Date.now() - started) / 1000;
      expect(up.exitCode).not.toBe(0);
      expect(up.all).toContain(`127.0.0.1:${port}`);
      expect(up.all).toMatch(/timed out/);
      // (retries + 1) attempts of connectTimeoutMs, backoff, and the CLI's own start.
      expect(seconds).toBeLessThan(30);
      expect(await p.recorded()).toEqual([]);
      table.push(
        `| a server that accepts TCP and never speaks SSH | \`up\` failed: ${firstError(up.all)} | ${seconds.toFixed(1)} s for the whole \`up\` | nothing to converge: nothing was created |`,
      );
    } finally {
      silent.close();
    }
  }, 120_000);

  it("a private key and a password passed without pulumi.secret appear nowhere in the state, the export or the output", async () => {
    const h1 = host("h1");
    await removeBridges("h1", "ndfp");
    const password = "plain-text-password-4b1d";
    const keyBody = readFileSync(h1.privateKeyPath, "utf8").split("\n")[1]!;
    const p = program("plain");
    await p.init();
    p.set({ hosts: { h1: hostSpec(h1, { plainCredentials: { password } }) }, devices: bridges("h1", "ndfp", 2) });
    const up = await p.pulumi(["up", "--yes", "--skip-preview"]);
    expect(up.exitCode, up.all).toBe(0);
    const exported = await p.pulumi(["stack", "export"]);
    const stateFiles = (await execa("find", [path.join(p.env.PULUMI_BACKEND_URL!.replace("file://", "")), "-type", "f"])).stdout.split("\n").filter(Boolean);
    for (const text of [up.all, exported.stdout, ...stateFiles.map((f) => readFileSync(f, "utf8"))]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(keyBody);
    }
    expect(exported.stdout).toContain("ciphertext");
    expect((await p.pulumi(["destroy", "--yes", "--skip-preview"])).exitCode).toBe(0);
    table.push("| a private key and a password passed without `pulumi.secret` | nothing: both stored encrypted | – | – |");
  }, 180_000);
});

/** The first provider error line of a CLI transcript, shortened for the table. */
function firstError(all: string | undefined): string {
  const line = (all ?? "").split("\n").find((l) => /error:/i.test(l) && !/update failed/i.test(l)) ?? "";
  return line
    .slice(line.search(/error:/i))
    .trim()
    .replace(/\|/g, "/")
    .slice(0, 240);
}
