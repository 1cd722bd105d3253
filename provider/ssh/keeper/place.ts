import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";

/**
 * NETDEV_SSH_PERSIST: how many seconds a login to a host is kept after its last command, by a
 * keeper process that outlives the run (as OpenSSH's ControlPersist does), so that the next
 * `pulumi up`, preview or refresh within that time logs in to no host again. Unset, "off" or 0:
 * every provider process logs in itself and closes its connections when it ends.
 */
export function persistMsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const setting = env.NETDEV_SSH_PERSIST;
  if (setting === undefined || setting === "" || setting === "off") return undefined;
  const seconds = Number(setting);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return Math.min(seconds, 24 * 3600) * 1000;
}

/**
 * Where the keeper for this code and this persistence listens: a socket in a directory only this
 * user may enter, as OpenSSH requires of a ControlPath (whoever can connect to it runs commands
 * as the logins it holds). A directory that is a link, someone else's, or open to others is
 * refused, not repaired.
 */
export function keeperSocket(persistMs: number, base = process.env.XDG_RUNTIME_DIR || tmpdir()): { path: string } | { refused: string } {
  const uid = process.getuid?.();
  if (uid === undefined) return { refused: "this platform has no user ids" };
  const dir = join(base, `netdev-ssh-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") return { refused: `cannot make ${dir}: ${(error as Error).message}` };
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) return { refused: `${dir} is not a directory` };
  if (stat.uid !== uid) return { refused: `${dir} belongs to uid ${stat.uid}, not to this user (${uid})` };
  if ((stat.mode & 0o077) !== 0) return { refused: `${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}); it must be 700` };
  const path = join(dir, `${codeIdentity()}-${persistMs}.sock`);
  // Longer, and Linux would cut the path short, to a place outside the directory checked above.
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES)
    return {
      refused: `its socket's path would be ${Buffer.byteLength(path)} bytes, more than a Unix socket's ${MAX_SOCKET_PATH_BYTES} (set XDG_RUNTIME_DIR to a shorter directory)`,
    };
  return { path };
}

/** sun_path holds 108 bytes on Linux, 104 on macOS, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

let identity: string | undefined;

/**
 * A keeper runs the transport code of the package that started it; a provider of another version
 * (another stack's, or this one after an upgrade), or one that wants sudo run otherwise, gets a
 * keeper of its own.
 */
function codeIdentity(): string {
  if (identity) return identity;
  const sshDir = dirname(__dirname);
  // The one setting that changes how the keeper's pool runs a command (see pool.ts).
  const hash = createHash("sha256")
    .update(process.version)
    .update(process.env.NETDEV_SUDO_SHELL === "off" ? "sudo per exec" : "");
  for (const dir of [sshDir, __dirname]) {
    for (const name of readdirSync(dir).sort()) {
      if (extname(name) !== extname(__filename)) continue;
      hash.update(name).update(readFileSync(join(dir, name)));
    }
  }
  identity = hash.digest("hex").slice(0, 16);
  return identity;
}
