import { existsSync, readdirSync, readFileSync } from "node:fs";
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
 * the lab host), then up, a preview without changes, destroy. Each example's lab.json says
 * which lab host runs it, the README values that differ from the host's, and the devices its
 * `up` makes: a new example brings its own, this file lists none.
 */
interface LabCase {
  /** A lab host's name (test/support/lab-hosts.ts). */
  host: string;
  /** README set-up variables beyond HOST, PORT and KEY. */
  values?: Record<string, string>;
  /** What `up` makes and `destroy` removes, each checked on the host. */
  devices: Array<{ netns?: string; name: string }>;
}

const examples = readdirSync(path.join(repoRoot, "examples")).sort();
const cases = examples
  .filter((example) => existsSync(path.join(repoRoot, "examples", example, "lab.json")))
  .map((example) => ({ example, ...(JSON.parse(readFileSync(path.join(repoRoot, "examples", example, "lab.json"), "utf8")) as LabCase) }));

describe("examples run as stacks on lab hosts, set up as their READMEs say", () => {
  it("covers every example directory: each has its lab.json", () => {
    expect(cases.map((c) => c.example)).toEqual(examples);
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
async function runExample(example: string, hostName: string, values: Record<string, string> | undefined, devices: LabCase["devices"]): Promise<void> {
  // What an earlier, failed run may have left behind.
  for (const { netns, name } of devices) await sshPool().exec(connection(hostName), ["ip", ...(netns ? ["-n", netns] : []), "link", "del", "dev", name]);
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
    for (const { netns, name } of devices) expect(await hostLink(hostName, netns, name), `${name} on ${hostName}`).toBeDefined();
    const preview = await stack.preview();
    expect(Object.keys(preview.changeSummary), preview.stdout).toEqual(["same"]);
  } finally {
    await stack.destroy();
  }
  for (const { netns, name } of devices) expect(await hostLink(hostName, netns, name), `${name} gone`).toBeUndefined();
}
