import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { overlayStack, pingAcrossOverlay } from "../../lab/overlay";
import { labProgram } from "../../lab/stack";
import { sshPool } from "../../provider/ssh/pool";
import { connection, labState, netnsHosts } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";
import { runSetupBlock, setupBlockOf } from "../support/readme-setup";

/** The repository's root program (index.ts) in a copy, as a program of a user's would be. */
const rootProgram = () => labProgram(repoRoot, ["Pulumi.yaml", "index.ts"], { "package.json": JSON.stringify({ name: "netdev-overlay-copy", private: true }) });

/** The root program with the real engine: the stack `npm run demo` runs. */
describe("the root program (the overlay) on three lab hosts", () => {
  let stack: Stack;
  afterAll(async () => {
    await stack?.destroy().catch(() => undefined);
  }, 300_000);

  it("comes up, passes traffic between containers on every pair of hosts, previews clean; a host that leaves and rejoins is reachable at once", async () => {
    const hosts = netnsHosts();
    ({ stack } = await overlayStack(hosts));
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.overlayMtu!.value).toBe(1450);
    for (const h of hosts) {
      expect((await hostLink(h.name, undefined, "vx-overlay")).master).toBe("br-overlay");
      expect((await hostLink(h.name, `c-${h.name}`, "eth0")).mtu).toBe(1450);
    }
    const pings = await pingAcrossOverlay(hosts);
    expect(pings).toHaveLength(6);
    expect(pings.filter((p) => !p.ok)).toEqual([]);
    expect(Object.keys((await stack.preview()).changeSummary)).toEqual(["same"]);

    // h3 leaves the overlay (its container, bridge and VTEP go; the others' peers change in
    // place), then rejoins: its container is new, with the same pinned MAC, so h1's container
    // (whose ARP entry for it is still there) reaches it with the very first ping.
    const [h1, , h3] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const macBefore = (await hostLink(h3.name, `c-${h3.name}`, "eth0")).address;
    await setHosts(stack, hosts.slice(0, 2));
    expect((await stack.up()).summary.result).toBe("succeeded");
    expect(await hostLink(h3.name, `c-${h3.name}`, "eth0")).toBeUndefined();
    const neighbour = await sshPool().exec(connection(h1.name), ["ip", "-n", `c-${h1.name}`, "neigh", "show", "192.168.100.3"]);
    expect(neighbour.stdout, "h1's container still has a neighbour entry for h3's").toContain(macBefore);
    await setHosts(stack, hosts);
    expect((await stack.up()).summary.result).toBe("succeeded");
    expect((await hostLink(h3.name, `c-${h3.name}`, "eth0")).address).toBe(macBefore);
    const first = await sshPool().exec(connection(h1.name), ["ip", "netns", "exec", `c-${h1.name}`, "ping", "-c", "1", "-W", "1", "192.168.100.3"]);
    expect(first.exitCode, `first ping after rejoining: ${first.stdout}${first.stderr}`).toBe(0);

    await stack.destroy();
    for (const h of hosts) {
      expect(await hostLink(h.name, undefined, "br-overlay")).toBeUndefined();
      expect(await hostLink(h.name, undefined, "vx-overlay")).toBeUndefined();
    }
  }, 600_000);

  it("CONTRIBUTING.md's \"Your own hosts\" block, run verbatim on two lab hosts, gives a stack whose preview plans the overlay", async () => {
    const [a, b] = netnsHosts();
    const { workDir, env } = rootProgram();
    await runSetupBlock(setupBlockOf(path.join(repoRoot, "CONTRIBUTING.md")), { HOST_A: a!.address, HOST_B: b!.address, KEY: labState().clientKeyPath }, workDir, env);
    const stack = await LocalWorkspace.selectStack({ stackName: "dev", workDir }, { envVars: env });
    const preview = await stack.preview();
    // Per host: bridge, VTEP, the Attachment component with its namespace and veth; plus the
    // VxlanOverlay component and the stack.
    expect(preview.changeSummary.create).toBe(2 * 5 + 2);
  }, 300_000);

  it("a hosts entry stored as text (`--path 'hosts[0]' '{…}'`) fails preview with a message that names it and says how to set it", async () => {
    const [a] = netnsHosts();
    const { workDir, env } = rootProgram();
    const pulumi = (args: string[], input?: string) => execa("pulumi", args, { cwd: workDir, env: { ...process.env, ...env }, reject: false, input, stdin: input === undefined ? "ignore" : "pipe" });
    await pulumi(["stack", "init", "dev"]);
    const entry = JSON.stringify({ name: "a", host: a!.address, hostKey: a!.hostPublicKey, underlayAddress: a!.address });
    expect((await pulumi(["config", "set", "--path", "hosts[0]", entry])).exitCode).toBe(0);
    expect((await pulumi(["config", "set", "--secret", "privateKey"], readFileSync(labState().clientKeyPath, "utf8"))).exitCode).toBe(0);
    const preview = await pulumi(["preview", "--non-interactive"]);
    expect(preview.exitCode).not.toBe(0);
    expect(`${preview.stdout}${preview.stderr}`).toMatch(/stack config hosts\[0\] is text .*--path 'hosts\[0\]\.name' a/);
    expect(`${preview.stdout}${preview.stderr}`).not.toMatch(/TypeError/);
  }, 300_000);
});

async function setHosts(stack: Stack, hosts: ReturnType<typeof netnsHosts>): Promise<void> {
  const config = hosts.map((h) => ({ name: h.name, host: h.address, port: h.port, hostKey: h.hostPublicKey, underlayAddress: h.underlayAddress }));
  await stack.setConfig("hosts", { value: JSON.stringify(config) });
}
