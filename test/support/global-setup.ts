import { labDown, labUp } from "../../lab/lab";
import { readFileSync } from "node:fs";
import path from "node:path";
import { namedFiles } from "./named-files";

/**
 * Brings the lab up once for the whole run and down at the end, unless a healthy lab of the
 * same shape was already up (a developer's `npm run lab -- up`), which is then left alone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // Unit files alone need no lab: and the lab is machine-wide, so bringing one up (and down)
  // here would pull it from under another checkout's run (a fresh-clone CI) on this machine.
  const named = namedFiles(process.argv);
  if (named.length > 0 && named.every((file) => file.endsWith(".unit.test.ts"))) {
    console.log("[lab] not needed: only unit files were named");
    return async () => undefined;
  }
  // Serialized providers and the e2e stacks load the built package (dist/), as users' programs do.
  const { execa } = await import("execa");
  await execa("npm", ["run", "--silent", "build"], { cwd: new URL("../..", import.meta.url).pathname, stdio: "inherit" });
  const tempDirsBefore = new Set(await ourTempDirs());
  // Test workers inherit it: lab/stack.ts names this run's directories with it (runTag).
  process.env.NETDEV_TMP_RUN ??= `r${process.pid}`;
  const run = `netdev-${process.env.NETDEV_TMP_RUN}-`;
  // Two VMs: cross-host tests of kinds this machine's kernel lacks (WireGuard, the encrypted overlay).
  const vms = Number(process.env.NETDEV_TEST_VMS ?? 2);
  // Debian VMs with systemd (dvm1, …): off by default (image build ~minutes cold, boot ~tens of s); lab/vm/debian.test.ts needs one.
  const debianVms = Number(process.env.NETDEV_TEST_DEBIAN_VMS ?? 0);
  const started = Date.now();
  const { existsSync } = await import("node:fs");
  const { hostsFile } = await import("../../lab/hosts");
  const wasUp = existsSync(hostsFile);
  // A checkout whose lab is lent to another run on this machine (one lab per machine: names and
  // subnet are shared) says so with this file; a run here would tear that lab down.
  const reserved = new URL("../../lab/.reserved", import.meta.url).pathname;
  if (existsSync(reserved))
    throw new Error(`this machine's lab is reserved for another run (${readFileSync(reserved, "utf8").trim()}); remove ${reserved} once it is done`);
  if (wasUp && process.env.CI !== "true") refuseOtherShape(hostsFile, { hosts: 3, vms, debianVms });
  await labUp({ hosts: 3, vms, debianVms });
  console.log(
    `[lab] up in ${((Date.now() - started) / 1000).toFixed(1)} s (${vms} VM hosts, ${debianVms} Debian VM hosts)${wasUp ? ", reusing an existing lab when healthy" : ""}`,
  );
  return async () => {
    // The program copies and file backends the stacks used (lab/stack.ts labProgram); NETDEV_KEEP_TMP keeps them to debug.
    if (!process.env.NETDEV_KEEP_TMP) {
      const { rm } = await import("node:fs/promises");
      // In CI this run is the only one; elsewhere another run may be using its own directories.
      const ours = (dir: string) => process.env.CI === "true" || path.basename(dir).startsWith(run);
      for (const dir of await ourTempDirs()) if (!tempDirsBefore.has(dir) && ours(dir)) await rm(dir, { recursive: true, force: true });
    }
    if (wasUp && process.env.CI !== "true") return;
    const stopping = Date.now();
    await labDown();
    console.log(`[lab] down in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  };
}

/** The temporary directories lab stacks make: os.tmpdir()/netdev-<program>-XXXXXX. */
async function ourTempDirs(): Promise<string[]> {
  const { readdir } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  return (await readdir(tmpdir())).filter((name) => name.startsWith("netdev-")).map((name) => join(tmpdir(), name));
}

/**
 * A lab that someone brought up by hand may be in use by another run: rebuilding it in another
 * shape (labUp's answer to a mismatch) would pull its hosts away mid-test. Outside CI, say so
 * instead; NETDEV_LAB_RESHAPE=1 allows it.
 */
function refuseOtherShape(file: string, want: { hosts: number; vms: number; debianVms: number }): void {
  if (process.env.NETDEV_LAB_RESHAPE === "1") return;
  const state = JSON.parse(readFileSync(file, "utf8")) as { hosts: Array<{ kind: string; via?: string; flavour?: string }> };
  const have = {
    hosts: state.hosts.filter((h) => h.kind === "netns" && !h.via).length,
    vms: state.hosts.filter((h) => h.kind === "vm" && h.flavour !== "debian").length,
    debianVms: state.hosts.filter((h) => h.kind === "vm" && h.flavour === "debian").length,
  };
  if (have.hosts !== want.hosts || have.vms !== want.vms || have.debianVms !== want.debianVms) {
    throw new Error(
      `a lab of another shape is up (${JSON.stringify(have)}, this run wants ${JSON.stringify(want)}): bring it down with \`npm run lab -- down\` first, or set NETDEV_LAB_RESHAPE=1 to let this run rebuild it`,
    );
  }
}
