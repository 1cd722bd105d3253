import { chmodSync, rmSync, statSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { connectionSchema } from "../connection";
import { SshPool } from "../pool";
import { type KeeperAnswer, type KeeperRequest, line, lineReader, sendableError } from "./protocol";

/**
 * The connection keeper: one process per user (and code version) holding SSH logins for the
 * provider processes that come and go, each run's commands sent over the socket and run on the
 * keeper's own pool. It ends once no provider is connected, no command runs and nothing happened
 * for `persistMs`: by then each of its logins has idled out too.
 */
export async function runKeeper(socketPath: string, persistMs: number): Promise<void> {
  const pool = new SshPool();
  pool.idleCloseMs = persistMs;
  let clients = 0;
  let running = 0;
  let lastActive = Date.now();

  const server = createServer((socket) => {
    clients++;
    lastActive = Date.now();
    const answer = (message: KeeperAnswer) => {
      lastActive = Date.now();
      if (!socket.destroyed) socket.write(line(message));
    };
    socket.on(
      "data",
      lineReader(
        (message) => serve(message as KeeperRequest, answer),
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clients--;
      lastActive = Date.now();
    });
  });

  const serve = (request: KeeperRequest, answer: (message: KeeperAnswer) => void) => {
    lastActive = Date.now();
    if (request.op === "stats") {
      const handshakes: Record<string, number> = {};
      for (const [endpoint, count] of pool.handshakeCounts()) handshakes[endpoint] = count;
      return answer({ id: request.id, ok: true, stats: { pid: process.pid, handshakes } });
    }
    const parsed = connectionSchema.safeParse(request.connection);
    if (!parsed.success)
      return answer({ id: request.id, ok: false, error: { type: "other", name: "Error", message: "the keeper was sent a connection that is not valid" } });
    if (request.op === "preconnect") {
      pool.preconnect(parsed.data);
      return answer({ id: request.id, ok: true });
    }
    running++;
    pool
      .execAlone(parsed.data, request.argv, request.options, request.output)
      .then(
        (result) => answer({ id: request.id, ok: true, result }),
        (error) => answer({ id: request.id, ok: false, error: sendableError(error) }),
      )
      .finally(() => running--);
  };

  await listen(server, socketPath);
  chmodSync(socketPath, 0o600);
  const ours = statSync(socketPath).ino;

  const timer = setInterval(
    () => {
      const replaced = (() => {
        try {
          return statSync(socketPath).ino !== ours;
        } catch {
          return true;
        }
      })();
      const idle = clients === 0 && running === 0 && Date.now() - lastActive >= persistMs;
      if (!(idle || (replaced && clients === 0 && running === 0))) return;
      clearInterval(timer);
      // Closing the server removes the socket's file: a keeper whose path another one took
      // leaves it to that one.
      if (!replaced) server.close();
      pool.closeAll();
      // ssh2 clients end politely; give them a moment, then go whatever remains.
      setTimeout(() => process.exit(0), 200);
    },
    Math.min(1000, persistMs),
  );
}

/**
 * Listens on the socket; if it is taken by a live keeper (another provider started one at the same
 * moment) this one has nothing to do; a socket no one answers on is left from a keeper that died.
 */
async function listen(server: Server, socketPath: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt > 0) throw error;
      if (await answers(socketPath)) process.exit(0);
      rmSync(socketPath, { force: true });
    }
  }
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe: Socket = connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
