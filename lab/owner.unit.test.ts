import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimLab, readOwner, refuseForeignOwner, releaseLab } from "./owner";

/** A pid that ran and ended. */
function deadPid(): number {
  return spawnSync("true").pid!;
}

describe("the lab's owner: a run of another checkout is refused while it lives", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "netdev-owner-"));
  const [mine, theirs] = [path.join(dir, "a/lab/.state"), path.join(dir, "b/lab/.state")];
  beforeAll(() => {
    process.env.NETDEV_LAB_OWNER_DIR = dir;
  });
  afterAll(() => {
    delete process.env.NETDEV_LAB_OWNER_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to bring up or down a lab another checkout's live run holds, naming it; not its own, nor a dead run's", () => {
    // pid 1 lives as long as the machine: another checkout's run still going.
    claimLab("ndt", theirs, 1);
    expect(() => refuseForeignOwner("ndt", mine, "bring the lab up")).toThrow(
      new RegExp(`refusing to bring the lab up: .*in use by a run of another checkout \\(state ${theirs}, pid 1,`),
    );
    // Its own checkout, another prefix, or with NETDEV_LAB_TAKE_OVER=1: nothing refused.
    expect(() => refuseForeignOwner("ndt", theirs, "bring the lab down")).not.toThrow();
    expect(() => refuseForeignOwner("ndother", mine, "bring the lab up")).not.toThrow();
    process.env.NETDEV_LAB_TAKE_OVER = "1";
    expect(() => refuseForeignOwner("ndt", mine, "bring the lab up")).not.toThrow();
    delete process.env.NETDEV_LAB_TAKE_OVER;
    // Releasing from another checkout leaves the owner as it is.
    releaseLab("ndt", mine);
    expect(readOwner("ndt")).toMatchObject({ stateDir: theirs, pid: 1 });

    // The run ended (its lab left behind): the next run takes the lab over.
    claimLab("ndt", theirs, deadPid());
    expect(() => refuseForeignOwner("ndt", mine, "bring the lab up")).not.toThrow();
    claimLab("ndt", mine);
    expect(readOwner("ndt")).toMatchObject({ stateDir: mine, pid: process.pid });
    releaseLab("ndt", mine);
    expect(readOwner("ndt")).toBeUndefined();
  });
});
