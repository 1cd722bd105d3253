import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";
import { exec } from "../support/components";
import { parsableKeyPair } from "../support/fake-ssh-server";
import { host } from "../support/lab-hosts";

/**
 * What a user sees of a bad input, through the real CLI (`pulumi preview` and `pulumi up`, a
 * file backend, offline): the error names the resource and the field, and no credential or key
 * text appears anywhere (stdout, stderr, the exported state, any file the CLI wrote), with the
 * credentials passed as plain strings, whatever the field. Every case fails at check, before
 * any host is contacted: the hosts are TEST-NET addresses (192.0.2.0/24) that route nowhere.
 */
const PASSWORD = "plain-password-4d1e-not-secret-marked";
const JUMP_PASSWORD = "plain-jump-password-9c2a";
const WIREGUARD_TEXT = "wg-key-material-that-is-malformed-7b3f9e0d1c2";
const TOP_LEVEL_SECRET = "top-level-password-5e8b";
const key = parsableKeyPair().private;
const hostKey = `SHA256:${"A".repeat(43)}`;

/** Each long line of the key, the passwords, the malformed WireGuard key: none may be printed or stored. */
const SECRETS = [
  ...key.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----")),
  PASSWORD,
  JUMP_PASSWORD,
  WIREGUARD_TEXT,
  TOP_LEVEL_SECRET,
];

// The program: resources from NETDEV_INPUT_ERRORS_SPEC; "$key" anywhere stands for the private
// key's text, passed as a plain string; {"$output": value} for the value as a pulumi.Output.
const PROGRAM = `const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const netdev = require("pulumi-netdev");
const spec = JSON.parse(process.env.NETDEV_INPUT_ERRORS_SPEC);
const key = fs.readFileSync(spec.keyFile, "utf8");
const resolve = (v) =>
  v === "$key" ? key
  : Array.isArray(v) ? v.map(resolve)
  : v && typeof v === "object" ? ("$output" in v ? pulumi.output(resolve(v.$output)) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)])))
  : v;
for (const r of spec.resources) new netdev[r.type](r.name, resolve(r.args));
`;

interface Resource {
  type: string;
  name: string;
  args: Record<string, unknown>;
}

const connection = (overrides: Record<string, unknown> = {}) => ({
  host: "192.0.2.11",
  user: "root",
  privateKey: "$key",
  password: PASSWORD,
  hostKey,
  ...overrides,
});
const withoutHostKey = () => {
  const { hostKey: _omitted, ...rest } = connection();
  return rest;
};

/** One resource with one bad field, and what the error must say (besides the resource's name). */
const cases: Array<{ what: string; resource: Resource; says: RegExp }> = [
  {
    what: "a hostKey that is no key",
    resource: { type: "Bridge", name: "bad-hostkey", args: { connection: connection({ hostKey: "bogus" }), name: "ndie0" } },
    says: /connection\.hostKey: must be an OpenSSH public key line/,
  },
  { what: "port 0", resource: { type: "Bridge", name: "bad-port", args: { connection: connection({ port: 0 }), name: "ndie1" } }, says: /connection\.port: / },
  {
    what: "a port in host",
    resource: { type: "Dummy", name: "port-in-host", args: { connection: connection({ host: "192.0.2.11:2222" }), name: "ndie2" } },
    says: /connection\.host: must not carry a port: write host: "192\.0\.2\.11" and port: 2222/,
  },
  {
    what: "no hostKey",
    resource: { type: "Bridge", name: "no-hostkey", args: { connection: withoutHostKey(), name: "ndie3" } },
    says: /connection\.hostKey: is required: .*ssh-keyscan/,
  },
  {
    what: "a bad jump host",
    resource: {
      type: "Bridge",
      name: "bad-jump",
      args: { connection: connection({ jumpHost: { host: "192.0.2.12", password: JUMP_PASSWORD, hostKey: "bogus" } }), name: "ndie4" },
    },
    says: /connection\.jumpHost\.hostKey: must be an OpenSSH public key line/,
  },
  {
    what: "a malformed WireGuard key",
    resource: { type: "WireguardInterface", name: "bad-wg-key", args: { connection: connection(), name: "ndie5", privateKey: WIREGUARD_TEXT } },
    says: /privateKey: must be a WireGuard private key/,
  },
  {
    what: "a bad device field",
    resource: { type: "Bridge", name: "bad-mtu", args: { connection: connection(), name: "ndie6", mtu: 5 } },
    says: /mtu: .*\(got 5\) \[ndie6 on root@192\.0\.2\.11:22\]/,
  },
  {
    what: "a credential at the top level",
    resource: { type: "Bridge", name: "stray-password", args: { connection: connection(), name: "ndie7", password: TOP_LEVEL_SECRET } },
    says: /password/,
  },
  {
    what: "a bad field in a namespace",
    resource: { type: "NetworkNamespace", name: "bad-ns", args: { connection: connection({ hostKey: "bogus" }), name: "ndie-ns" } },
    says: /connection\.hostKey: must be/,
  },
];

let keyDir: string;
beforeAll(() => {
  // Outside the program's directory: the scan below reads every file the CLI could have written.
  keyDir = mkdtempSync(path.join(os.tmpdir(), "netdev-input-errors-key-"));
  writeFileSync(path.join(keyDir, "id"), key, { mode: 0o600 });
});
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

function program(name: string, keyFile = () => path.join(keyDir, "id")) {
  const { home, workDir, env } = labProgram(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml"], { "index.js": PROGRAM });
  let resources: Resource[] = [];
  const pulumi = (args: string[]) =>
    execa("pulumi", [...args, "--non-interactive"], {
      cwd: workDir,
      env: { ...process.env, ...env, NETDEV_INPUT_ERRORS_SPEC: JSON.stringify({ keyFile: keyFile(), resources }) },
      reject: false,
      stdin: "ignore",
      all: true,
    });
  return {
    home,
    pulumi,
    set(next: Resource[]) {
      resources = next;
    },
    async init() {
      expect((await pulumi(["stack", "init", name])).exitCode).toBe(0);
    },
  };
}

/** Every file under `dir` (the file backend, PULUMI_HOME, the program's copy), as text. */
function filesUnder(dir: string): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    // Symbolic links (node_modules: this checkout and the SDK) lead to what the run did not write.
    if (entry.isDirectory()) out.push(...filesUnder(file));
    else if (entry.isFile()) out.push({ file, text: readFileSync(file, "utf8") });
  }
  return out;
}

function expectNoSecret(text: string, where: string, secrets: readonly string[] = SECRETS): void {
  for (const secret of secrets) expect(text.includes(secret), `${where} holds ${secret.slice(0, 12)}…:\n${text}`).toBe(false);
}

describe("bad inputs with credentials passed as plain strings", () => {
  const p = program("input-errors");
  beforeAll(() => p.init(), 60_000);

  it.each(cases)(
    "$what: preview and up fail naming the resource and the field, and print no secret",
    async ({ resource, says }) => {
      p.set([resource]);
      for (const command of [["preview"], ["up", "--yes"]]) {
        const run = await p.pulumi(command);
        expect(run.exitCode, run.all).not.toBe(0);
        expect(run.all).toContain(resource.name);
        expect(run.all).toMatch(says);
        expectNoSecret(run.all ?? "", `pulumi ${command[0]}`);
      }
      const exported = await p.pulumi(["stack", "export"]);
      expectNoSecret(exported.all ?? "", "the exported state");
      for (const { file, text } of filesUnder(p.home)) expectNoSecret(text, file);
    },
    240_000,
  );

  it("two resources declaring the same device on one host fail preview, naming both", async () => {
    const both = (name: string, netns?: string): Resource => ({
      type: "Bridge",
      name,
      args: { connection: connection(), name: "ndiedup", ...(netns ? { netns } : {}) },
    });
    p.set([both("dup-a"), both("dup-b")]);
    const preview = await p.pulumi(["preview"]);
    expect(preview.exitCode, preview.all).not.toBe(0);
    expect(preview.all).toMatch(/Bridge "dup-b" and Bridge "dup-a" both declare the device ndiedup on 192\.0\.2\.11:22/);
    expectNoSecret(preview.all ?? "", "pulumi preview");
    // A program-level error: no stack trace into the library.
    expect(preview.all).not.toMatch(/at .*duplicates\.(ts|js)/);
    // The same name in another namespace is another device.
    p.set([both("dup-a"), both("dup-b", "other")]);
    const other = await p.pulumi(["preview"]);
    expect(other.exitCode, other.all).toBe(0);
  }, 240_000);

  it("with the host and name as Outputs (another resource's, in a real program), once they resolve", async () => {
    const viaOutputs: Resource = { type: "Dummy", name: "dup-output", args: { connection: { $output: connection() }, name: { $output: "ndiedup" } } };
    p.set([{ type: "Bridge", name: "dup-a", args: { connection: connection(), name: "ndiedup" } }, viaOutputs]);
    const preview = await p.pulumi(["preview"]);
    expect(preview.exitCode, preview.all).not.toBe(0);
    expect(preview.all).toMatch(/Dummy "dup-output" and Bridge "dup-a" both declare the device ndiedup on 192\.0\.2\.11:22/);
    expectNoSecret(preview.all ?? "", "pulumi preview");
  }, 300_000);

  afterAll(async () => {
    p.set([]);
    await p.pulumi(["stack", "rm", "--yes", "--force"]);
  }, 60_000);
});

describe("a device on a lab host managed with plain-string credentials", () => {
  // The lab's client key is the credential here; the password rides along unused (the key is tried first).
  const h1 = () => host("h1");
  const p = program("input-errors-lab", () => h1().privateKeyPath);
  const secrets = () => [
    ...readFileSync(h1().privateKeyPath, "utf8")
      .split("\n")
      .filter((line) => line.length >= 16 && !line.startsWith("-----")),
    PASSWORD,
  ];
  const bridge = (extra: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Resource => ({
    type: "Bridge",
    name: "lab-bridge",
    args: {
      connection: {
        host: h1().address,
        port: h1().port,
        user: h1().username,
        hostKey: h1().hostPublicKey,
        privateKey: "$key",
        password: PASSWORD,
        ...overrides,
      },
      name: "ndielab0",
      ...extra,
    },
  });
  const run = async (args: string[], ok: boolean) => {
    const result = await p.pulumi(args);
    expect(result.exitCode === 0, `pulumi ${args.join(" ")}: ${result.all}`).toBe(ok);
    expectNoSecret(result.all ?? "", `pulumi ${args.join(" ")}`, secrets());
    return result.all ?? "";
  };

  it("up, a refused update, refresh after drift and destroy print no credential, and the state holds none", async () => {
    await exec("h1", ["ip", "link", "del", "ndielab0"]).catch(() => undefined);
    await p.init();
    p.set([bridge()]);
    await run(["up", "--yes"], true);
    p.set([bridge({ mtu: 5 })]);
    expect(await run(["preview"], false)).toMatch(/Bridge mtu: .*\(got 5\) \[ndielab0 on root@/);
    await run(["up", "--yes"], false);
    p.set([bridge({}, { hostKey: "bogus" })]);
    expect(await run(["up", "--yes"], false)).toMatch(/resource 'lab-bridge' has a problem: Bridge connection\.hostKey: must be/);
    await exec("h1", ["ip", "link", "del", "ndielab0"]);
    expect(await run(["refresh", "--yes"], true)).toMatch(/lab-bridge/);
    p.set([bridge()]);
    await run(["up", "--yes"], true);
    await run(["destroy", "--yes"], true);
    const exported = await p.pulumi(["stack", "export"]);
    expectNoSecret(exported.all ?? "", "the exported state", secrets());
    for (const { file, text } of filesUnder(p.home)) expectNoSecret(text, file, secrets());
  }, 300_000);
});
