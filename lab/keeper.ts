import path from "node:path";
import { greetedConnection } from "../provider/ssh/keeper/hello";
import { type KeeperStats, lineReader } from "../provider/ssh/keeper/protocol";
import { repoRoot } from "./hosts";

/**
 * The connection keeper that Pulumi's provider processes start under NETDEV_SSH_PERSIST, asked
 * from outside (tests, benchmarks): those run the built package, so its socket is named for
 * dist/'s code, found with dist/'s own place.ts. Undefined when none listens.
 */
export async function builtKeeper(runtimeDir: string, persistMs: number): Promise<KeeperStats | undefined> {
  const { keeperSocket } = require(path.join(repoRoot, "dist/provider/ssh/keeper/place.js")) as typeof import("../provider/ssh/keeper/place");
  const place = keeperSocket(persistMs, runtimeDir);
  if (!("path" in place)) throw new Error(place.refused);
  const greeted = await greetedConnection(place.path, 5000);
  if (!greeted) return undefined;
  const { socket } = greeted;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, 5000);
    socket.on("error", () => undefined);
    socket.on(
      "data",
      lineReader(
        (message) => {
          clearTimeout(timer);
          socket.destroy();
          resolve((message as { stats?: KeeperStats }).stats);
        },
        () => socket.destroy(),
      ),
    );
    socket.write(`${JSON.stringify({ id: 1, op: "stats" })}\n`);
  });
}

/** Ends that keeper, and with it its logins, if one listens. */
export async function stopBuiltKeeper(runtimeDir: string, persistMs: number): Promise<void> {
  const stats = await builtKeeper(runtimeDir, persistMs);
  if (!stats) return;
  process.kill(stats.pid);
  for (let waited = 0; waited < 5000; waited += 50) {
    try {
      process.kill(stats.pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
