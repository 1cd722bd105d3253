import { defineConfig } from "vitest/config";

/**
 * The unit tier: tests that need no root and no lab (validation, planners, config parsing,
 * Pulumi mocks, the transport against an in-process SSH server on loopback); seconds. `npm run test:unit`. The full suite (vitest.config.ts) runs them too.
 */
export default defineConfig({
  test: {
    include: [
      "provider/config.test.ts",
      "provider/engine/validation.test.ts",
      "provider/components/planner.test.ts",
      "provider/components/components.mocks.test.ts",
      "provider/components/secret-connection.mocks.test.ts",
      "provider/engine/fields.test.ts",
      "provider/engine/hostile-inputs.test.ts",
      "provider/kinds/wireguard/wireguard.unit.test.ts",
      "provider/ssh/deadlines.test.ts",
      "provider/ssh/output-cap.test.ts",
      "provider/ssh/scrub.test.ts",
      "provider/ssh/batch.test.ts",
      "test/support/readme-setup.test.ts",
    ],
    pool: "forks",
    testTimeout: 30_000,
  },
});
