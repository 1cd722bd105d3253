import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { labStack } from "../../lab/stack";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { sshPool } from "../../provider/ssh/pool";
import { connection, host } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";

/** Every example under examples/ is a real stack: up on a lab host, no changes on preview, destroy. */
const cases: Array<{ example: string; host: string; config?: Record<string, string>; devices: Array<[string | undefined, string]> }> = [
  { example: "tun", host: "h3", devices: [[undefined, "tap-vm0"]] },
  { example: "veth", host: "h3", devices: [[undefined, "veth-web"], ["web", "eth0"]] },
  { example: "bridge", host: "h3", devices: [[undefined, "br0"]] },
  { example: "macvlan", host: "h3", config: { parent: "eth0" }, devices: [["app1", "mv1"], ["app2", "mv2"], [undefined, "mvtap0"]] },
  { example: "vxlan", host: "h3", config: { underlayAddress: "10.247.0.13", underlayDev: "eth0", peers: '["10.247.0.11","10.247.0.12"]' }, devices: [[undefined, "vx42"]] },
  { example: "ipvlan", host: "vm1", config: { parent: "eth1" }, devices: [[undefined, "ipvl3"], ["routed", "ipvl3r"]] },
  { example: "vlan", host: "vm1", config: { parent: "eth1" }, devices: [[undefined, "eth0.10"], [undefined, "eth0.s100"]] },
];

describe("examples run as stacks on lab hosts", () => {
  it("covers every example directory", () => {
    const dirs = readdirSync(path.join(repoRoot, "examples")).filter((d) => d !== "overlay");
    expect(cases.map((c) => c.example).sort()).toEqual(dirs.sort());
  });

  it.each(cases)("examples/$example: up, preview without changes, destroy", async ({ example, host: hostName, config, devices }) => {
    // What an earlier, failed run may have left behind.
    for (const [netns, name] of devices) await sshPool().exec(connection(hostName), ["ip", ...(netns ? ["-n", netns] : []), "link", "del", "dev", name]);
    const { stack } = await labStack(path.join(repoRoot, "examples", example), ["Pulumi.yaml", "index.ts", "package.json"]);
    const lab = host(hostName);
    await stack.setAllConfig({
      "netdev:host": { value: lab.address },
      "netdev:port": { value: String(lab.port) },
      "netdev:hostKey": { value: lab.hostPublicKey },
      "netdev:privateKey": { value: readFileSync(lab.privateKeyPath, "utf8"), secret: true },
      ...Object.fromEntries(Object.entries(config ?? {}).map(([k, v]) => [`netdev-example-${example}:${k}`, { value: v }])),
    });
    try {
      const up = await stack.up();
      expect(up.summary.result).toBe("succeeded");
      for (const [netns, name] of devices) expect(await hostLink(hostName, netns, name), `${name} on ${hostName}`).toBeDefined();
      const preview = await stack.preview();
      expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
    } finally {
      await stack.destroy();
    }
    for (const [netns, name] of devices) expect(await hostLink(hostName, netns, name), `${name} gone`).toBeUndefined();
  }, 300_000);
});
