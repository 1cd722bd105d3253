import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keeperSocket, persistMsFromEnv } from "./place";

describe("NETDEV_SSH_PERSIST", () => {
  it("is seconds; unset, empty, off, zero, negative or not a number keep nothing", () => {
    expect(persistMsFromEnv({ NETDEV_SSH_PERSIST: "60" })).toBe(60_000);
    expect(persistMsFromEnv({ NETDEV_SSH_PERSIST: "0.5" })).toBe(500);
    for (const setting of [undefined, "", "off", "0", "-5", "soon"]) expect(persistMsFromEnv({ NETDEV_SSH_PERSIST: setting })).toBeUndefined();
  });
});

describe("the keeper's socket", () => {
  const saved = process.env.XDG_RUNTIME_DIR;
  const made: string[] = [];
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const uid = process.getuid?.();

  function runtimeDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-place-"));
    made.push(dir);
    process.env.XDG_RUNTIME_DIR = dir;
    return dir;
  }

  it("lies in a directory of this user's that only this user may enter, named for the code and the persistence", () => {
    const base = runtimeDir();
    const place = keeperSocket(60_000);
    expect(place).toEqual({ path: expect.stringMatching(new RegExp(`^${base}/netdev-ssh-${uid}/[0-9a-f]{16}-60000\\.sock$`)) });
    expect(keeperSocket(60_000)).toEqual(place);
    expect(keeperSocket(30_000)).not.toEqual(place);
  });

  it("is refused where its path would be longer than a Unix socket's, which Linux would silently cut short", () => {
    const base = runtimeDir();
    const deep = path.join(base, "d".repeat(60));
    mkdirSync(deep);
    expect(keeperSocket(60_000, deep)).toEqual({ refused: expect.stringMatching(/path would be 1\d\d bytes, more than a Unix socket's 103/) });
  });

  it("is refused in a directory others may enter, or one that is a link, and the directory is left as it is", () => {
    const base = runtimeDir();
    const dir = path.join(base, `netdev-ssh-${uid}`);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    expect(keeperSocket(60_000)).toEqual({ refused: expect.stringContaining("open to other users (mode 755)") });

    const other = runtimeDir();
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), "netdev-place-target-"));
    made.push(elsewhere);
    chmodSync(elsewhere, 0o700);
    symlinkSync(elsewhere, path.join(other, `netdev-ssh-${uid}`));
    expect(keeperSocket(60_000)).toEqual({ refused: expect.stringContaining("is not a directory") });
  });
});
