import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { offlineEnv, runTag } from "../../lab/stack";
import { defaultHostEnd } from "../../provider/components/attachment";
import { pingEventually, removeLeftovers } from "../support/components";
import { netnsHosts } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";

/**
 * The package as a user adopts it, once per end of its @pulumi/pulumi peer range: `npm pack`
 * of this checkout; a new project outside the repository with the files `pulumi new
 * typescript` writes (test/fixtures/user-project: the template's package.json and strict
 * tsconfig, and a program that builds a VXLAN overlay on the Outputs of other resources, as
 * on cloud VMs); `npm install` of the tarball and the SDK; `tsc --noEmit` under that tsconfig
 * (skipLibCheck false, the template's default), also with the earlier template's CommonJS module
 * resolution; `pulumi preview` on a file backend; then on two lab hosts `pulumi up`, a ping
 * between the containers across the overlay, `pulumi destroy`.
 */

/** The oldest and newest @pulumi/pulumi this package is tested with; package.json's peer range starts at the first. */
const SDK_ENDS = ["2.17.2", "3.276.0"] as const;

const fixture = path.join(repoRoot, "test", "fixtures", "user-project");
// Named with the run's tag, so that the global teardown removes it with the run's other directories.
const root = mkdtempSync(path.join(os.tmpdir(), `netdev-${runTag()}user-`));
const DEVICES = ["br-user", "vx-user"];
const namespaceOf = (hostName: string) => `c-user-${hostName}`;
const overlayAddress = (index: number) => `192.168.142.${index + 1}`;

let tarball: string;

beforeAll(async () => {
  // dist/ is built by the global setup; npm's prepare would build it again under test files that are using it.
  const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root], { cwd: repoRoot });
  const [result] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(root, result!.filename);
  const files = result!.files.map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining([
      "dist/provider/index.js",
      "dist/provider/index.d.ts",
      "dist/provider/runtime.js",
      "README.md",
      "provider/persist/README.md",
      "provider/components/README.md",
    ]),
  );
  expect(files.filter((f) => f.includes("node_modules"))).toEqual([]);
}, 120_000);

describe("a user's project outside the repository", () => {
  it("package.json's peer range for @pulumi/pulumi starts at the oldest SDK tested here and ends before 4", () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      peerDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(pkg.peerDependencies["@pulumi/pulumi"]).toBe(`>=${SDK_ENDS[0]} <4`);
    expect(pkg.dependencies["@pulumi/pulumi"]).toBeUndefined();
  });

  describe.each(SDK_ENDS)("with @pulumi/pulumi %s", (sdk) => {
    const home = path.join(root, `sdk-${sdk}`);
    const project = path.join(home, "project");
    const env = { ...process.env, ...offlineEnv(home) };
    const run = (file: string, args: string[]) => execa(file, args, { cwd: project, env, reject: false, all: true, stdin: "ignore" });
    const pulumi = (args: string[]) => run("pulumi", [...args, "--non-interactive"]);
    const [a, b] = netnsHosts();
    let upDone = false;
    let destroyed = false;

    afterAll(async () => {
      if (!upDone || destroyed) return;
      await pulumi(["destroy", "--yes", "--skip-preview"]);
      for (const h of [a!, b!]) await removeLeftovers(h.name, [defaultHostEnd(namespaceOf(h.name), "br-user"), ...DEVICES], [namespaceOf(h.name)]);
    }, 300_000);

    it("installs from the tarball with npm, type-checks under pulumi new's strict tsconfig, previews the overlay", { timeout: 600_000 }, async () => {
      mkdirSync(project, { recursive: true });
      mkdirSync(path.join(home, "state"));
      for (const file of readdirSync(fixture)) copyFileSync(path.join(fixture, file), path.join(project, file));

      const install = await run("npm", ["install", "--no-audit", "--no-fund", tarball, `@pulumi/pulumi@${sdk}`]);
      expect(install.exitCode, install.all).toBe(0);
      expect(JSON.parse(readFileSync(path.join(project, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version).toMatch(
        new RegExp(`^${sdk.replaceAll(".", "\\.")}`),
      );
      // A peer: the package uses the program's SDK, no copy of its own.
      expect(existsSync(path.join(project, "node_modules", "pulumi-netdev", "node_modules", "@pulumi", "pulumi"))).toBe(false);

      const tsc = path.join(project, "node_modules", ".bin", "tsc");
      const typecheck = await run(tsc, ["--noEmit", "--pretty", "false"]);
      expect(typecheck.exitCode, `tsc --noEmit in the user's project:\n${typecheck.all}`).toBe(0);
      // Projects made from the template before it moved to nodenext resolve modules the CommonJS way.
      const typecheckCommonjs = await run(tsc, ["--noEmit", "--pretty", "false", "--module", "commonjs", "--moduleResolution", "node"]);
      expect(typecheckCommonjs.exitCode, `tsc --noEmit --module commonjs --moduleResolution node in the user's project:\n${typecheckCommonjs.all}`).toBe(0);

      expect((await pulumi(["stack", "init", "dev"])).exitCode).toBe(0);
      const servers = [a!, b!].flatMap((h, i) =>
        Object.entries({ name: h.name, address: h.address, port: String(h.port), hostKey: h.hostPublicKey }).flatMap(([key, value]) => [
          "--plaintext",
          `servers[${i}].${key}=${value}`,
        ]),
      );
      const config = await pulumi(["config", "set-all", "--path", "--plaintext", `privateKeyPath=${a!.privateKeyPath}`, ...servers]);
      expect(config.exitCode, config.all).toBe(0);

      const preview = await pulumi(["preview", "--json"]);
      expect(preview.exitCode, preview.all).toBe(0);
      const steps = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string }> }).steps;
      const created = steps.filter((s) => s.op === "create").map((s) => s.urn.split("::")[2]!.split("$").at(-1));
      for (const type of ["Bridge", "VxlanTunnel", "NetworkNamespace", "VethPair"]) {
        expect(
          created.filter((t) => t === `pulumi-nodejs:dynamic/netdev:${type}`),
          `${type} per host in the preview`,
        ).toHaveLength(2);
      }
    });

    it("on two lab hosts: up, the containers ping each other across the overlay, destroy leaves no device", { timeout: 600_000 }, async () => {
      upDone = true;
      const up = await pulumi(["up", "--yes", "--skip-preview"]);
      expect(up.exitCode, up.all).toBe(0);
      for (const h of [a!, b!]) expect((await hostLink(h.name, undefined, "vx-user"))?.master, `${h.name}: the VTEP on the overlay's bridge`).toBe("br-user");
      expect(await pingEventually(a!.name, namespaceOf(a!.name), overlayAddress(1)), `${a!.name}'s container to ${b!.name}'s`).toBe(true);
      expect(await pingEventually(b!.name, namespaceOf(b!.name), overlayAddress(0)), `${b!.name}'s container to ${a!.name}'s`).toBe(true);

      const destroy = await pulumi(["destroy", "--yes", "--skip-preview"]);
      expect(destroy.exitCode, destroy.all).toBe(0);
      destroyed = true;
      for (const h of [a!, b!]) {
        for (const device of DEVICES) expect(await hostLink(h.name, undefined, device), `${h.name}: ${device} after destroy`).toBeUndefined();
        expect(await hostLink(h.name, namespaceOf(h.name), "eth0"), `${h.name}: the container after destroy`).toBeUndefined();
      }
    });
  });
});
