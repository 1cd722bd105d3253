import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";
import { sshPool } from "../../provider/ssh/pool";
import { connection, host, labState } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";
import { runSetupBlock, setupBlockOf } from "../support/readme-setup";
import { lockHost } from "../support/host-lock";

/**
 * Every example under examples/ is a real stack, set up exactly as its README says: the
 * README's set-up block runs verbatim (only its first lines, the reader's values, come from
 * the lab host), then up, a preview without changes, destroy.
 */
const cases: Array<{ example: string; host: string; values?: Record<string, string>; devices: Array<[string | undefined, string]> }> = [
  { example: "tun", host: "h3", devices: [[undefined, "tap-vm0"]] },
  {
    example: "veth",
    host: "h3",
    devices: [
      [undefined, "veth-web"],
      ["web", "eth0"],
    ],
  },
  { example: "bridge", host: "h3", devices: [[undefined, "br0"]] },
  {
    example: "macvlan",
    host: "h3",
    values: { PARENT: "eth0" },
    devices: [
      ["app1", "mv1"],
      ["app2", "mv2"],
      [undefined, "mvtap0"],
    ],
  },
  {
    example: "vxlan",
    host: "h3",
    values: { UNDERLAY_ADDRESS: "10.247.0.13", UNDERLAY_DEV: "eth0", PEERS: '["10.247.0.11","10.247.0.12"]' },
    devices: [[undefined, "vx42"]],
  },
  {
    example: "ipvlan",
    host: "vm1",
    values: { PARENT: "eth1" },
    devices: [
      [undefined, "ipvl3"],
      ["routed", "ipvl3r"],
    ],
  },
  {
    example: "vlan",
    host: "vm1",
    values: { PARENT: "eth1" },
    devices: [
      [undefined, "eth0.10"],
      [undefined, "eth0.s100"],
    ],
  },
  { example: "dummy", host: "vm1", devices: [[undefined, "svc0"]] },
  { example: "geneve", host: "vm1", values: { REMOTE: "10.247.0.12" }, devices: [[undefined, "gnv42"]] },
  {
    example: "gre",
    host: "vm1",
    values: { REMOTE: "10.247.0.12" },
    devices: [
      [undefined, "gre1"],
      [undefined, "gretap1"],
    ],
  },
  {
    example: "bond",
    host: "vm1",
    devices: [
      [undefined, "bond0"],
      [undefined, "bond0m0"],
      [undefined, "bond0m1"],
    ],
  },
  {
    example: "vrf",
    host: "vm1",
    devices: [
      [undefined, "vrf-blue"],
      [undefined, "blue0"],
    ],
  },
  { example: "wireguard", host: "vm1", values: { PEER_ENDPOINT: "10.247.0.102:51820" }, devices: [[undefined, "wg0"]] },
  // Needs systemd: the Debian VM host, in labs that have one (NETDEV_TEST_DEBIAN_VMS=1; CI does).
  {
    example: "persist",
    host: "dvm1",
    devices: [
      [undefined, "br-app"],
      [undefined, "veth-app"],
      ["app", "eth0"],
    ],
  },
];

describe("examples run as stacks on lab hosts, set up as their READMEs say", () => {
  it("covers every example directory", () => {
    expect(cases.map((c) => c.example).sort()).toEqual(readdirSync(path.join(repoRoot, "examples")).sort());
  });

  it("no example's code repeats set-up commands that could drift from its README", () => {
    for (const c of cases) expect(readFileSync(path.join(repoRoot, "examples", c.example, "index.ts"), "utf8")).not.toMatch(/^\/\/ *pulumi config set/m);
  });

  it.for(cases)(
    "examples/$example: README set-up, up, preview without changes, destroy",
    { timeout: 25 * 60_000 },
    async ({ example, host: hostName, values, devices }, context) => {
      if (!labState().hosts.some((h) => h.name === hostName)) return context.skip(`the lab has no ${hostName}`);
      // The Debian VM is rebooted by other test files: use it alone.
      const release = hostName.startsWith("dvm") ? await lockHost(hostName) : () => undefined;
      try {
        await runExample(example, hostName, values, devices);
      } finally {
        release();
      }
    },
  );
});

/** One example: its README's set-up block, up, a preview without changes, destroy. */
async function runExample(
  example: string,
  hostName: string,
  values: Record<string, string> | undefined,
  devices: Array<[string | undefined, string]>,
): Promise<void> {
  // What an earlier, failed run may have left behind.
  for (const [netns, name] of devices) await sshPool().exec(connection(hostName), ["ip", ...(netns ? ["-n", netns] : []), "link", "del", "dev", name]);
  const source = path.join(repoRoot, "examples", example);
  const { workDir, env } = labProgram(source, ["Pulumi.yaml", "index.ts", "package.json"]);
  const lab = host(hostName);
  await runSetupBlock(
    setupBlockOf(path.join(source, "README.md")),
    { HOST: lab.address, PORT: String(lab.port), KEY: lab.privateKeyPath, ...values },
    workDir,
    env,
  );
  const stack = await LocalWorkspace.selectStack({ stackName: "dev", workDir }, { envVars: env });
  try {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    for (const [netns, name] of devices) expect(await hostLink(hostName, netns, name), `${name} on ${hostName}`).toBeDefined();
    const preview = await stack.preview();
    expect(Object.keys(preview.changeSummary), preview.stdout).toEqual(["same"]);
  } finally {
    await stack.destroy();
  }
  for (const [netns, name] of devices) expect(await hostLink(hostName, netns, name), `${name} gone`).toBeUndefined();
}
