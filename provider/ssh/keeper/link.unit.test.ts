import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Connection } from "../connection";
import { RemoteCommandError } from "../errors";
import { KeeperLink, keeperEnvironment } from "./link";
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
    socket.write(line({ hello: { pid: 4242 } }));
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
    const runtimeDir = process.env.XDG_RUNTIME_DIR;
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    for (const server of servers.splice(0)) server.close();
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
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

  it("a command the keeper does not answer within its bounds is reported unanswered; the keeper was told when to stop trying, and the link serves the next", async () => {
    const requests: KeeperRequest[] = [];
    servers.push(
      await fakeKeeper(socketPath, (request, socket) => {
        requests.push(request);
        if (request.op === "exec" && request.argv[0] === "false") socket.write(answered(request, "next"));
      }),
    );
    const link = new KeeperLink(PERSIST_MS, 50);
    const sent = Date.now();
    const failure = await link.exec(connection, ["true"], {}, "scrubbed").catch((error: unknown) => error);
    expect(Date.now() - sent).toBeLessThan(5000);
    expect((failure as RemoteCommandError).cause).toEqual({ kind: "unanswered", timeoutMs: 100, mayHaveRun: true });
    // Not sent by then, never sent: the bound the link waited for, less the slack.
    const startBy = (requests[0] as { startBy: number }).startBy;
    expect(startBy).toBeGreaterThan(sent);
    expect(startBy).toBeLessThanOrEqual(Date.now() - 50);
    expect(await link.exec(connection, ["false"], {}, "scrubbed")).toMatchObject({ stdout: "next" });
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

  it("the keeper is started with netdev's settings and what locates things, not the rest of the environment", () => {
    const kept = keeperEnvironment({
      PATH: "/usr/bin",
      HOME: "/root",
      SSH_AUTH_SOCK: "/run/agent",
      NETDEV_SUDO_SHELL: "off",
      LC_ALL: "C.UTF-8",
      PULUMI_CONFIG_PASSPHRASE: "secret",
      AWS_SECRET_ACCESS_KEY: "secret",
      PULUMI_ACCESS_TOKEN: "secret",
    });
    expect(kept).toEqual({ PATH: "/usr/bin", HOME: "/root", SSH_AUTH_SOCK: "/run/agent", NETDEV_SUDO_SHELL: "off", LC_ALL: "C.UTF-8" });
  });
});
