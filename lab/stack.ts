import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { repoRoot, stateDir } from "./hosts";

export interface LabStack {
  stack: Stack;
  /** Temporary directory holding the program, the file backend and PULUMI_HOME. */
  home: string;
  workDir: string;
}

/** The settings that keep a lab stack offline and isolated: a file backend and PULUMI_HOME under `home`. */
export function offlineEnv(home: string): Record<string, string> {
  return {
    PULUMI_HOME: path.join(home, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(home, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "netdev-lab",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/** Throws unless `root` is a checkout of pulumi-netdev whose dist/ is built, so a program can use it. */
export function assertBuilt(root: string): void {
  if (!existsSync(path.join(root, "dist", "provider", "runtime.js"))) throw new Error(`${root}: no dist/; run \`npm run build\` there first`);
}

/**
 * The test run's tag (vitest's global setup sets NETDEV_TMP_RUN) in the names of the
 * directories it makes, so that the run's teardown removes its own and never those of another
 * run beside it.
 */
export function runTag(): string {
  return process.env.NETDEV_TMP_RUN ? `${process.env.NETDEV_TMP_RUN}-` : "";
}

/**
 * A program of this repo copied into a fresh directory, run the way a user runs it: the
 * program's files (ts-node resolves imports from a file's real path), pulumi-netdev and
 * @pulumi/pulumi in its node_modules, a file backend and PULUMI_HOME beside it. No stack yet.
 * `netdevRoot`: the pulumi-netdev it uses, this checkout unless a benchmark compares another.
 */
export function labProgram(
  sourceDir: string,
  files: string[],
  written: Record<string, string> = {},
  netdevRoot = repoRoot,
): { home: string; workDir: string; env: Record<string, string> } {
  if (netdevRoot !== repoRoot) assertBuilt(netdevRoot);
  const home = mkdtempSync(path.join(os.tmpdir(), `netdev-${runTag()}${path.basename(sourceDir)}-`));
  const workDir = path.join(home, "program");
  mkdirSync(path.join(workDir, "node_modules", "@pulumi"), { recursive: true });
  for (const file of files) copyFileSync(path.join(sourceDir, file), path.join(workDir, file));
  for (const [file, text] of Object.entries(written)) writeFileSync(path.join(workDir, file), text);
  symlinkSync(netdevRoot, path.join(workDir, "node_modules", "pulumi-netdev"));
  symlinkSync(path.join(repoRoot, "node_modules", "@pulumi", "pulumi"), path.join(workDir, "node_modules", "@pulumi", "pulumi"));
  mkdirSync(path.join(home, "state"));
  return { home, workDir, env: offlineEnv(home) };
}

/**
 * A Pulumi stack for a program of this repo (an example, the e2e program), in a copy made by
 * labProgram, fully offline. The CLI comes from PATH (scripts/install-pulumi.sh).
 */
export async function labStack(sourceDir: string, files: string[], stackName = "lab", written: Record<string, string> = {}): Promise<LabStack> {
  const { home, workDir, env } = labProgram(sourceDir, files, written);
  const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir }, { envVars: env });
  return { stack, home, workDir };
}

/** Where `npm run demo` keeps the root program's stack state: inside the lab's state, gone with `lab down`. */
export const rootBackendDir = path.join(stateDir, "pulumi");
export const ROOT_STACK = "lab";
export const ROOT_PASSPHRASE = "netdev-lab";

/**
 * The repository's root program as a stack in place (workDir: the repo root), with the
 * settings README.md prints for running `pulumi` by hand afterwards: a file backend under
 * lab/.state/pulumi and a fixed passphrase. The CLI and Node.js 22 come from PATH.
 */
export async function rootStack(): Promise<LabStack> {
  mkdirSync(rootBackendDir, { recursive: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: ROOT_STACK, workDir: repoRoot },
    {
      envVars: {
        PULUMI_BACKEND_URL: `file://${rootBackendDir}`,
        PULUMI_CONFIG_PASSPHRASE: ROOT_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      },
    },
  );
  return { stack, home: rootBackendDir, workDir: repoRoot };
}
