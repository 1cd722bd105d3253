import { chmodSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { connectionSchema } from "../connection";
import { SshPool } from "../pool";
import { greetedConnection, HELLO_MS } from "./hello";
import { type KeeperAnswer, type KeeperHello, type KeeperRequest, line, lineReader, sendableError } from "./protocol";

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
    // Its requests not sent by the time it goes never are: nobody would read their outcome.
    let gone = false;
    const answer = (message: KeeperAnswer) => {
      lastActive = Date.now();
      if (!socket.destroyed) socket.write(line(message));
    };
    socket.on(
      "data",
      lineReader(
        (message) => serve(message as KeeperRequest, answer, () => !gone),
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
    socket.on("close", () => {
      gone = true;
      clients--;
      lastActive = Date.now();
    });
    socket.write(line({ hello: { pid: process.pid } } satisfies KeeperHello));
  });

  const serve = (request: KeeperRequest, answer: (message: KeeperAnswer) => void, connected: () => boolean) => {
    lastActive = Date.now();
    if (typeof request.id !== "number") return;
    if (request.op === "stats") {
      return answer({ id: request.id, ok: true, stats: { pid: process.pid, handshakes: Object.fromEntries(pool.handshakeCounts()) } });
    }
    if (request.op !== "exec" && request.op !== "preconnect") {
      return answer({
        id: (request as { id: number }).id,
        ok: false,
        error: { type: "other", name: "Error", message: "the keeper does not know this request" },
      });
    }
    const parsed = connectionSchema.safeParse(request.connection);
    if (!parsed.success)
      return answer({ id: request.id, ok: false, error: { type: "other", name: "Error", message: "the keeper was sent a connection that is not valid" } });
    if (request.op === "preconnect") {
      pool.preconnect(parsed.data);
      return answer({ id: request.id, ok: true });
    }
    if (!Array.isArray(request.argv) || !request.argv.every((arg) => typeof arg === "string")) {
      return answer({
        id: request.id,
        ok: false,
        error: { type: "other", name: "Error", message: "the keeper was sent a command that is not a list of strings" },
      });
    }
    running++;
    const startBy = typeof request.startBy === "number" ? request.startBy : 0;
    pool
      .execAlone(parsed.data, request.argv, request.options ?? {}, request.output, () => connected() && Date.now() < startBy)
      .then(
        (result) => answer({ id: request.id, ok: true, result }),
        (error) => answer({ id: request.id, ok: false, error: sendableError(error) }),
      )
      .finally(() => running--);
  };

  await listen(server, socketPath);
  // Two keepers that found the same stale socket at once: the one whose file went is not reached at the path.
  if ((await pidAt(socketPath)) !== process.pid) process.exit(0);
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
      if ((await pidAt(socketPath)) !== undefined) process.exit(0);
      rmSync(socketPath, { force: true });
    }
  }
}

/** The pid in the hello of the keeper listening at the path; undefined when none answers within HELLO_MS. */
async function pidAt(socketPath: string): Promise<number | undefined> {
  const greeted = await greetedConnection(socketPath, HELLO_MS);
  greeted?.socket.destroy();
  return greeted?.pid;
}
