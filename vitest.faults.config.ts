import { defineConfig } from "vitest/config";

/**
 * Files that run alone, one after another, after the main suite (scripts/test.sh): the fault
 * suite blackholes a lab host and kills SSH sessions on another, which would break files beside
 * it; the others count the SSH connections a lab host's sshd accepted, to which any file beside
 * them would add its own.
 */
export const RUN_ALONE = ["test/e2e/faults.test.ts", "test/e2e/e2e.test.ts", "provider/ssh/pool.test.ts"];

export default defineConfig({
  test: {
    include: RUN_ALONE,
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
    reporters: ["default"],
  },
});
