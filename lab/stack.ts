import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { repoRoot } from "./hosts";

export interface LabStack {
  stack: Stack;
  /** Temporary directory holding the program, the file backend and PULUMI_HOME. */
  home: string;
  workDir: string;
}

/**
 * A Pulumi stack for a program of this repo (an example, the e2e program), run the way a
 * user runs it: the program's files copied into a fresh directory (ts-node resolves imports
 * from a file's real path), pulumi-netdev and @pulumi/pulumi in its node_modules, and fully
 * offline: a file backend in the same temp directory, passphrase secrets, no update checks or
 * plugin downloads. The CLI comes from PATH (scripts/install-pulumi.sh).
 */
export async function labStack(sourceDir: string, files: string[], stackName = "lab"): Promise<LabStack> {
  const home = mkdtempSync(path.join(os.tmpdir(), `netdev-${path.basename(sourceDir)}-`));
  const workDir = path.join(home, "program");
  mkdirSync(path.join(workDir, "node_modules", "@pulumi"), { recursive: true });
  for (const file of files) copyFileSync(path.join(sourceDir, file), path.join(workDir, file));
  symlinkSync(repoRoot, path.join(workDir, "node_modules", "pulumi-netdev"));
  symlinkSync(path.join(repoRoot, "node_modules", "@pulumi", "pulumi"), path.join(workDir, "node_modules", "@pulumi", "pulumi"));
  mkdirSync(path.join(home, "state"));
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName, workDir },
    {
      envVars: {
        PULUMI_HOME: path.join(home, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(home, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "netdev-lab",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      },
    },
  );
  return { stack, home, workDir };
}
