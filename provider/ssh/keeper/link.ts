import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { extname, join } from "node:path";
import type { Connection } from "../connection";
import { describeEndpoint, RemoteCommandError } from "../errors";
import type { ExecOptions, ExecResult } from "../exec-options";
import { quoteArgv } from "../quote";
import { keeperSocket } from "./place";
import { type KeeperAnswer, type KeeperRequest, type KeeperStats, line, lineReader, receivedError } from "./protocol";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a provider waits for a keeper it started to listen. */
const KEEPER_START_MS = 5000;

interface Pending {
  /** The link it was sent on: only that one's end loses it. */
  socket: Socket;
  resolve: (answer: KeeperAnswer | "keeper-lost") => void;
  timer: NodeJS.Timeout;
}

/**
 * A provider process's side of the connection keeper (see place.ts, NETDEV_SSH_PERSIST): it sends
 * each exec to the keeper, starting one when none listens, and throws what the keeper's pool threw.
 * When no keeper can be had (the socket's directory is not safe, it does not start), `exec`
 * answers "unavailable" and the caller runs the command itself; that is said once on stderr.
 */
export class KeeperLink {
  private socket?: Promise<Socket | undefined>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private unavailable?: string;

  constructor(
    private readonly persistMs: number,
    /** How much longer than a command's own bounds its answer may take (the socket, the keeper's loop). */
    private readonly slackMs = 5000,
  ) {}

  /** Why persistence is off in this process, once it was found to be; undefined while it works. */
  get unavailableReason(): string | undefined {
    return this.unavailable;
  }

  async exec(connection: Connection, argv: readonly string[], options: ExecOptions, output: "scrubbed" | "unscrubbed"): Promise<ExecResult | "unavailable"> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.ask({ id: 0, op: "exec", connection, argv, options, output }, answerBound(connection, options) + this.slackMs);
      if (answer === "unavailable") return answer;
      if (answer === "keeper-lost") {
        // A read may run again; anything else may have changed the host, or not.
        if (options.idempotent && attempt === 0) continue;
        throw new RemoteCommandError(
          describeEndpoint(connection),
          quoteArgv(argv),
          { kind: "unconfirmed", detail: "the connection keeper (NETDEV_SSH_PERSIST) ended while it ran" },
          "",
        );
      }
      if (answer === "unanswered") {
        const timeoutMs = options.timeoutMs ?? connection.commandTimeoutMs;
        throw new RemoteCommandError(describeEndpoint(connection), quoteArgv(argv), { kind: "unanswered", timeoutMs, mayHaveRun: !options.idempotent }, "");
      }
      if (!answer.ok) throw receivedError(answer.error);
      if (!answer.result) throw new Error("the connection keeper answered an exec without a result");
      return answer.result;
    }
  }

  /** Has the keeper log in now; "unavailable" when there is no keeper (the caller logs in itself). */
  async preconnect(connection: Connection): Promise<"sent" | "unavailable"> {
    const answer = await this.ask({ id: 0, op: "preconnect", connection }, connection.connectTimeoutMs + this.slackMs);
    return answer === "unavailable" ? answer : "sent";
  }

  /** What the keeper holds, for tests and benchmarks; undefined without a keeper. */
  async stats(): Promise<KeeperStats | undefined> {
    const answer = await this.ask({ id: 0, op: "stats" }, this.slackMs);
    return typeof answer === "object" && answer.ok ? answer.stats : undefined;
  }

  /** Closes this process's link; the keeper and its logins stay for the next process. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    void socket?.then((open) => open?.destroy());
  }

  private async ask(request: KeeperRequest, boundMs: number): Promise<KeeperAnswer | "unavailable" | "keeper-lost" | "unanswered"> {
    let socket = await (this.socket ??= this.open());
    if (socket?.destroyed) {
      // Closed since it was last used (the keeper ended): the next one is started, or found.
      this.socket = undefined;
      socket = await (this.socket ??= this.open());
    }
    if (!socket) return "unavailable";
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // A keeper that does not answer within the command's own bounds is not trusted further.
        socket.destroy();
        resolve("unanswered");
      }, boundMs);
      this.pending.set(id, { socket, resolve, timer });
      socket.ref();
      socket.write(line({ ...request, id }));
    });
  }

  private async open(): Promise<Socket | undefined> {
    if (this.unavailable) return undefined;
    const place = keeperSocket(this.persistMs);
    if ("refused" in place) return this.giveUp(place.refused);
    const first = await connectTo(place.path);
    if (first) return this.adopt(first);
    try {
      startKeeper(place.path, this.persistMs);
    } catch (error) {
      return this.giveUp(`cannot start it: ${(error as Error).message}`);
    }
    const until = Date.now() + KEEPER_START_MS;
    while (Date.now() < until) {
      await sleep(20);
      const socket = await connectTo(place.path);
      if (socket) return this.adopt(socket);
    }
    return this.giveUp(`it did not listen on ${place.path} within ${KEEPER_START_MS} ms`);
  }

  private adopt(socket: Socket): Socket {
    const opened = this.socket;
    socket.on(
      "data",
      lineReader(
        (message) => {
          const answer = message as KeeperAnswer;
          const waiting = this.pending.get(answer.id);
          if (!waiting) return;
          this.pending.delete(answer.id);
          clearTimeout(waiting.timer);
          waiting.resolve(answer);
          if (![...this.pending.values()].some((other) => other.socket === socket)) socket.unref();
        },
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (this.socket === opened) this.socket = undefined;
      for (const [id, waiting] of this.pending) {
        if (waiting.socket !== socket) continue;
        this.pending.delete(id);
        clearTimeout(waiting.timer);
        waiting.resolve("keeper-lost");
      }
    });
    socket.unref();
    return socket;
  }

  private giveUp(reason: string): undefined {
    this.unavailable = reason;
    process.stderr.write(`netdev: NETDEV_SSH_PERSIST is set, but logins are not kept between runs: the connection keeper is unavailable (${reason})\n`);
    return undefined;
  }
}

function connectTo(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", () => resolve(undefined));
  });
}

/** Starts the keeper detached, so that it outlives this process; it ends itself when idle. */
function startKeeper(socketPath: string, persistMs: number): void {
  const main = join(__dirname, `main${extname(__filename)}`);
  // Run from source (this package's own tests) the keeper needs tsx, as the test runner does.
  const loader = extname(__filename) === ".ts" ? ["--import", require.resolve("tsx")] : [];
  const child = spawn(process.execPath, [...loader, main, socketPath, String(persistMs)], { detached: true, stdio: "ignore", cwd: "/" });
  child.unref();
}

/** The longest the keeper's pool may take over an exec: every hop's connect attempts (see SshPool.exec) and the command's own deadline. */
function answerBound(connection: Connection, options: ExecOptions): number {
  let connectMs = 0;
  for (let hop: Connection | undefined = connection; hop; hop = hop.jumpHost) {
    connectMs += (hop.retries + 1) * hop.connectTimeoutMs + hop.retryBackoffMs * 2 ** (hop.retries + 1);
  }
  return connectMs + (options.timeoutMs ?? connection.commandTimeoutMs);
}
