import { afterEach } from "vitest";
import { SshPool, type SshPoolOptions } from "../../provider/ssh/pool";

/**
 * A maker of pools private to one test file, so handshake counts and retries are its own;
 * every pool it made is closed after each test.
 */
export function privatePools(): (options?: SshPoolOptions) => SshPool {
  const pools: SshPool[] = [];
  afterEach(() => {
    for (const pool of pools.splice(0)) pool.closeAll();
  });
  return (options) => {
    const pool = new SshPool(options);
    pools.push(pool);
    return pool;
  };
}
