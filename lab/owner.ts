import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Which run holds the lab of a prefix on this machine. One lab per prefix per machine (its
 * namespaces' names and subnet are global), but each checkout keeps its own state directory:
 * a run in one checkout that brings its lab up (or down) tears down, by name, the hosts of a
 * run of another checkout in the middle of its tests. The run that brings the lab up records
 * its state directory and process here; a run of another state directory is refused while
 * that process lives. Kept under /run: nothing of it survives a reboot, when no lab does.
 */
export interface LabOwner {
  /** The state directory, resolved (checkouts may link theirs to one). */
  stateDir: string;
  pid: number;
  since: string;
}

/** Where the owner of a prefix's lab is written (NETDEV_LAB_OWNER_DIR: tests). */
export function ownerFile(prefix: string): string {
  return path.join(process.env.NETDEV_LAB_OWNER_DIR ?? "/run", `netdev-lab-${prefix.replace(/[^A-Za-z0-9_-]/g, "_")}.owner`);
}

export function readOwner(prefix: string): LabOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(ownerFile(prefix), "utf8")) as Partial<LabOwner>;
    return typeof owner.stateDir === "string" && typeof owner.pid === "number" ? (owner as LabOwner) : undefined;
  } catch {
    return undefined;
  }
}

function resolved(stateDir: string): string {
  return existsSync(stateDir) ? realpathSync(stateDir) : path.resolve(stateDir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Throws when a run of another state directory holds this prefix's lab and still runs: what
 * `doing` would do would pull the hosts away from under it. NETDEV_LAB_TAKE_OVER=1 goes on anyway.
 */
export function refuseForeignOwner(prefix: string, stateDir: string, doing: string): void {
  const owner = readOwner(prefix);
  if (!owner || owner.pid === process.pid || owner.stateDir === resolved(stateDir) || !alive(owner.pid)) return;
  if (process.env.NETDEV_LAB_TAKE_OVER === "1") return;
  throw new Error(
    `refusing to ${doing}: this machine's lab (prefix ${prefix}) is in use by a run of another checkout (state ${owner.stateDir}, pid ${owner.pid}, since ${owner.since}); one lab per machine: wait for that run to end, or set NETDEV_LAB_TAKE_OVER=1 to take the lab anyway`,
  );
}

/** Records this process as the holder of the prefix's lab (after refuseForeignOwner). */
export function claimLab(prefix: string, stateDir: string, pid = process.pid): void {
  const file = ownerFile(prefix);
  mkdirSync(path.dirname(file), { recursive: true });
  const owner: LabOwner = { stateDir: resolved(stateDir), pid, since: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(owner)}\n`);
}

/** Forgets the holder once its lab is down, unless another state directory's run holds it now. */
export function releaseLab(prefix: string, stateDir: string): void {
  const owner = readOwner(prefix);
  if (owner && owner.stateDir !== resolved(stateDir)) return;
  rmSync(ownerFile(prefix), { force: true });
}
