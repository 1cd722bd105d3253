import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { run } from "./run";

/**
 * Users who log in to the lab's netns hosts without being root, for the sudo tests: one with a
 * NOPASSWD sudoers rule, one whose rule asks for a password, one with no rule at all, and one
 * whose sudoers entry requires a terminal. The netns hosts share this machine's /etc/passwd and
 * /etc/sudoers.d, so these are real accounts here; `lab down` removes them. Every lab sshd also
 * listens on ROOT_REFUSED_PORT, where it refuses root (PermitRootLogin no, as on cloud images):
 * there the lab hosts can only be managed through these users.
 */
export interface LabSudo {
  /** The port on every netns host whose sshd refuses root (the same sshd: the same host). */
  rootRefusedPort: number;
  users: { nopasswd: string; password: string; nosudo: string; requiretty: string };
  /** The login password of every lab sudo user (what sudo asks `users.password` for). */
  password: string;
}

export const ROOT_REFUSED_PORT = 2222;

/** sshd_config lines (the last in the file: a Match block runs to its end) refusing root on ROOT_REFUSED_PORT. */
export const rootRefusedSshdConfig = [`Match LocalPort ${ROOT_REFUSED_PORT}`, "  PermitRootLogin no"];

function labSudoUsers(prefix: string): LabSudo["users"] {
  return { nopasswd: `${prefix}nopw`, password: `${prefix}pw`, nosudo: `${prefix}nosudo`, requiretty: `${prefix}tty` };
}

/** /etc/sudoers.d ignores files whose name has a dot or ends in "~". */
function sudoersFile(prefix: string): string {
  return `/etc/sudoers.d/netdev-lab-${prefix.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

async function userExists(user: string): Promise<boolean> {
  return (await run("getent", ["passwd", user], { allowFailure: true })) !== "";
}

/**
 * Creates the users and their sudoers file, or brings existing ones back to this shape (a
 * second `lab up` changes nothing but the password). The accounts have a login shell, no home
 * of their own, and a password (an account without one is locked, and sshd refuses it).
 */
export async function setUpLabSudo(prefix: string, password = randomBytes(12).toString("hex")): Promise<LabSudo> {
  const users = labSudoUsers(prefix);
  for (const user of Object.values(users)) {
    if (!(await userExists(user))) {
      // Home "/": sshd can chdir there (no warning on every command's stderr), and it holds no rc files.
      await run("useradd", ["--no-create-home", "--home-dir", "/", "--shell", "/bin/bash", "--comment", `netdev lab ${prefix}`, user]);
    }
  }
  await run("chpasswd", [], {
    input: `${Object.values(users)
      .map((user) => `${user}:${password}`)
      .join("\n")}\n`,
  });
  const rules = [
    "# netdev's lab (lab/sudo-users.ts); removed by `npm run lab -- down`.",
    `${users.nopasswd} ALL=(root) NOPASSWD: ALL`,
    `${users.password} ALL=(root) ALL`,
    `Defaults:${users.requiretty} requiretty`,
    `${users.requiretty} ALL=(root) NOPASSWD: ALL`,
    "",
  ].join("\n");
  // Checked before it is installed: a broken file in /etc/sudoers.d breaks sudo for everyone.
  const dir = mkdtempSync(path.join(tmpdir(), "netdev-sudoers-"));
  try {
    const draft = path.join(dir, "sudoers");
    writeFileSync(draft, rules, { mode: 0o440 });
    await run("visudo", ["-c", "-q", "-f", draft]);
    await run("install", ["-m", "0440", "-o", "root", "-g", "root", draft, sudoersFile(prefix)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rootRefusedPort: ROOT_REFUSED_PORT, users, password };
}

/** Whether the users and sudoers file of setUpLabSudo are all in place. */
export async function labSudoInPlace(prefix: string): Promise<boolean> {
  if (!existsSync(sudoersFile(prefix))) return false;
  for (const user of Object.values(labSudoUsers(prefix))) if (!(await userExists(user))) return false;
  return true;
}

/** Removes what setUpLabSudo made, whatever part of it exists; run after the lab's sshds are gone. */
export async function tearDownLabSudo(prefix: string): Promise<void> {
  rmSync(sudoersFile(prefix), { force: true });
  for (const user of Object.values(labSudoUsers(prefix))) {
    // sudo's timestamp of a user whose uid the next useradd may hand to someone else.
    if (await userExists(user)) await run("userdel", ["--force", user]);
    rmSync(`/run/sudo/ts/${user}`, { force: true });
  }
}
