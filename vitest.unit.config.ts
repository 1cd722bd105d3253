import { defineConfig } from "vitest/config";

/**
 * The unit tier: pure tests (validation, planners, config parsing, quoting) that need no root
 * and no lab; seconds. `npm run test:unit`. The full suite (vitest.config.ts) runs them too.
 */
export default defineConfig({
  test: {
    include: [
      "provider/config.test.ts",
      "provider/engine/validation.test.ts",
      "provider/components/planner.test.ts",
      "provider/components/components.mocks.test.ts",
      "test/support/readme-setup.test.ts",
    ],
    pool: "forks",
    testTimeout: 30_000,
  },
});
