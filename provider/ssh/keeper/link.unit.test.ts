import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Connection } from "../connection";
import { RemoteCommandError } from "../errors";
import { KeeperLink } from "./link";
import { keeperSocket } from "./place";
import { type KeeperRequest, line, lineReader } from "./protocol";

const PERSIST_MS = 1234;
const connection: Connection = {
  host: "192.0.2.10",
  port: 22,
  user: "root",
  privateKey: "not used",
  hostKey: "not used",
  connectTimeoutMs: 100,
  commandTimeoutMs: 100,
  retries: 0,
  retryBackoffMs: 1,
  maxChannels: 4,
};

/** A keeper played by the test: it hands each request, with its socket, to `serve`. */
function fakeKeeper(socketPath: string, serve: (request: KeeperRequest, socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    socket.on(
      "data",
      lineReader(
        (message) => serve(message as KeeperRequest, socket),
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

const answered = (request: KeeperRequest, stdout: string) => line({ id: request.id, ok: true, result: { stdout, stderr: "", exitCode: 0 } });

describe("a provider's link to the connection keeper", () => {
  const saved = process.env.XDG_RUNTIME_DIR;
  const servers: Server[] = [];
  let socketPath: string;
  beforeEach(() => {
    process.env.XDG_RUNTIME_DIR = mkdtempSync(path.join(os.tmpdir(), "netdev-link-"));
    const place = keeperSocket(PERSIST_MS);
    if (!("path" in place)) throw new Error(place.refused);
    socketPath = place.path;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    for (const server of servers.splice(0)) server.close();
  });

  it("matches answers to commands by id, whatever their order", async () => {
    const held: Array<[KeeperRequest, Socket]> = [];
    servers.push(
      await fakeKeeper(socketPath, (request, socket) => {
        held.push([request, socket]);
        if (held.length < 3) return;
        for (const [r, s] of held.reverse()) s.write(answered(r, r.op === "exec" ? r.argv.join(" ") : ""));
      }),
    );
    const link = new KeeperLink(PERSIST_MS);
    const results = await Promise.all(["a", "b", "c"].map((word) => link.exec(connection, ["echo", word], {}, "scrubbed")));
    expect(results.map((r) => (r === "unavailable" ? r : r.stdout))).toEqual(["echo a", "echo b", "echo c"]);
    link.close();
  });

  it("when the keeper ends mid-command: a write is reported as may-or-may-not-have-run, a read is sent to the next keeper", async () => {
    let seen = 0;
    const first = await fakeKeeper(socketPath, (_request, socket) => {
      if (++seen < 2) return;
      // Both arrived: this keeper goes, and the next one listens before the link looks again.
      first.close();
      void fakeKeeper(socketPath, (request, next) => next.write(answered(request, "again"))).then((server) => {
        servers.push(server);
        socket.destroy();
      });
    });
    const link = new KeeperLink(PERSIST_MS);
    const write = link.exec(connection, ["ip", "link", "add", "x", "type", "dummy"], {}, "scrubbed");
    const read = link.exec(connection, ["ip", "-json", "link", "show"], { idempotent: true }, "scrubbed");
    const failure = await write.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RemoteCommandError);
    expect((failure as RemoteCommandError).cause).toMatchObject({ kind: "unconfirmed" });
    expect((failure as Error).message).toMatch(/ip link add x type dummy.*may or may not have run/);
    expect(await read).toMatchObject({ stdout: "again" });
    link.close();
  });

  it("a keeper that does not answer within the command's bounds: the command is reported unanswered, the link dropped", async () => {
    const sockets: Socket[] = [];
    servers.push(await fakeKeeper(socketPath, (_request, socket) => sockets.push(socket)));
    const link = new KeeperLink(PERSIST_MS, 50);
    const started = Date.now();
    const failure = await link.exec(connection, ["true"], {}, "scrubbed").catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((failure as RemoteCommandError).cause).toEqual({ kind: "unanswered", timeoutMs: 100, mayHaveRun: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sockets[0]?.destroyed).toBe(true);
    link.close();
  });

  it("with the socket's directory open to others, there is no keeper: the caller runs the command itself", async () => {
    const dir = path.dirname(socketPath);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const link = new KeeperLink(PERSIST_MS);
    expect(await link.exec(connection, ["true"], {}, "scrubbed")).toBe("unavailable");
    expect(link.unavailableReason).toMatch(/open to other users/);
    expect(await link.stats()).toBeUndefined();
  });
});
