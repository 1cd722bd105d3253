import { defineConfig } from "vitest/config";
import { RUN_ALONE } from "./vitest.faults.config";

export default defineConfig({
  test: {
    // Every test of the repository: the unit tests of the benchmarks and of the reference generator too.
    include: ["test/**/*.test.ts", "provider/**/*.test.ts", "lab/**/*.test.ts", "bench/**/*.test.ts", "tools/**/*.test.ts"],
    // Run alone (vitest.faults.config.ts): they take lab hosts down, or count a host's connections.
    exclude: [...RUN_ALONE, "**/node_modules/**"],
    globalSetup: ["test/support/global-setup.ts"],
    // Lab hosts are shared by every file; the SSH pool queues channels, so files may run side by side.
    // The files mostly wait (on SSH, the Pulumi CLI, VM reboots): two at once overlap the waits, where
    // vitest would give a 2-core machine one fork. A file that needs a host alone takes lockHost.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 240_000,
    reporters: ["default"],
  },
});
