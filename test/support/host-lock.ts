import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { stateDir } from "../../lab/hosts";

/**
 * Exclusive use of one lab host across test files (vitest runs files side by side, in separate
 * workers): tests that reboot the Debian VM, or must not see it reboot, hold its lock. A
 * directory in the lab's state (mkdir is atomic), gone with the lab.
 */
export async function lockHost(name: string, timeoutMs = 20 * 60_000): Promise<() => void> {
  const lock = path.join(stateDir, `${name}.test-lock`);
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() - started > timeoutMs)
        throw new Error(`lab host ${name} stayed locked by another test file for ${timeoutMs / 60_000} min (${lock}); remove it if no test runs`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function withHost<T>(name: string, run: () => Promise<T>): Promise<T> {
  const release = await lockHost(name);
  try {
    return await run();
  } finally {
    release();
  }
}
