import { afterAll, describe, expect, it } from "vitest";
import { connection } from "../../test/support/lab-hosts";
import { type PrivateSshd, startPrivateSshd } from "../../test/support/private-sshd";
import { SshPool } from "./pool";

/**
 * Overlapping writes for one host travel as one batch (batch.ts), which must not depend on a
 * writable /tmp on the host: with /tmp read-only or full, each write still runs once and reports
 * its own result. The odd /tmp is a mount in a private mount namespace of a second sshd inside
 * h3's network namespace, so this machine's /tmp (the netns hosts share it) stays as it is.
 */
const HOST = "h3";
const pools: SshPool[] = [];
const sshds: PrivateSshd[] = [];
afterAll(async () => {
  pools.forEach((pool) => pool.closeAll());
  await Promise.all(sshds.map((sshd) => sshd.stop()));
});

const CASES = [
  { what: "read-only", port: 2231, setup: "mount -t tmpfs -o ro,size=1m netdev-ro-tmp /tmp\nif touch /tmp/probe 2>/dev/null; then exit 90; fi" },
  // 64 KiB, filled: dd ends at "No space left on device".
  {
    what: "full",
    port: 2232,
    setup:
      "mount -t tmpfs -o size=64k netdev-full-tmp /tmp\ndd if=/dev/zero of=/tmp/fill bs=4k 2>/dev/null || true\nif printf x >/tmp/probe 2>/dev/null; then exit 91; fi",
  },
];

describe.each(CASES)(`batched writes on ${HOST} with /tmp $what`, ({ what, port, setup }) => {
  it("each overlapping create runs once and reports its own success, in one exec", async () => {
    const sshd = await startPrivateSshd(HOST, port, setup);
    sshds.push(sshd);
    const pool = new SshPool({ coalesceWindowMs: 5 });
    pools.push(pool);
    const names = [0, 1, 2].map((i) => `ndtmp${what === "full" ? "f" : "r"}${i}`);
    const lab = new SshPool();
    pools.push(lab);
    const cleanUp = () => Promise.all(names.map((name) => lab.exec(connection(HOST), ["ip", "link", "del", "dev", name])));
    await cleanUp();
    try {
      // The mount is in place for the commands sshd runs.
      expect((await pool.exec(sshd.connection, ["sh", "-c", "printf x >/tmp/probe-$$"])).exitCode).not.toBe(0);
      const execsBefore = pool.execsSent;
      const results = await Promise.all(names.map((name) => pool.exec(sshd.connection, ["ip", "link", "add", name, "type", "bridge"])));
      expect(pool.execsSent - execsBefore).toBe(1);
      expect(results).toEqual(names.map(() => ({ stdout: "", stderr: "", exitCode: 0 })));
      for (const name of names) expect((await lab.exec(connection(HOST), ["ip", "link", "show", "dev", name], { idempotent: true })).exitCode).toBe(0);
      // A second create of the same names fails, each on its own, and deletes nothing.
      const again = await Promise.all(names.map((name) => pool.exec(sshd.connection, ["ip", "link", "add", name, "type", "bridge"])));
      again.forEach((result) => expect(result.stderr).toMatch(/File exists/));
      for (const name of names) expect((await lab.exec(connection(HOST), ["ip", "link", "show", "dev", name], { idempotent: true })).exitCode).toBe(0);
    } finally {
      await cleanUp();
    }
  }, 60_000);
});
