import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/**
 * The unit tier: `*.unit.test.ts`, tests that need no root and no lab (validation, planners,
 * each kind's argv builders and update steps, quoting, config parsing, Pulumi mocks, the
 * transport against an in-process SSH server on loopback); seconds. `npm test`. The lab tier
 * (vitest.config.ts: every `*.test.ts`, these included) is what the README's full test command
 * and CI run.
 */
export default defineConfig({
  test: {
    include: ["**/*.unit.test.ts"],
    exclude: ["**/node_modules/**", "dist/**"],
    pool: "forks",
    // Most of these tests wait (in-process SSH servers, real shells, deadlines), so workers
    // beyond the core count overlap those waits; vitest's default is one fewer than the cores.
    maxWorkers: Math.max(3, availableParallelism()),
    testTimeout: 30_000,
  },
});
