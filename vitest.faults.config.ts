import { defineConfig } from "vitest/config";

/**
 * The fault suite: it blackholes a lab host and kills SSH sessions on another, which would
 * break tests running beside it, so it runs alone, after the main suite (scripts/test.sh).
 */
export default defineConfig({
  test: {
    include: ["test/e2e/faults.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
    reporters: ["default"],
  },
});
