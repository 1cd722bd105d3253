import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { extname, join } from "node:path";
import type { Connection } from "../connection";
import { describeEndpoint, RemoteCommandError } from "../errors";
import type { ExecOptions, ExecResult } from "../exec-options";
import { quoteArgv } from "../quote";
import { greetedConnection, HELLO_MS } from "./hello";
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
      const boundMs = answerBound(connection, options);
      const answer = await this.ask({ id: 0, op: "exec", connection, argv, options, output, startBy: Date.now() + boundMs }, boundMs + this.slackMs);
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
        // Its answer, should it come, is dropped; the keeper sends nothing it had not started by
        // then (startBy), and the link stays for the others.
        this.pending.delete(id);
        this.unrefWhenIdle(socket);
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
    const first = await greetedConnection(place.path, HELLO_MS);
    if (first) return this.adopt(first.socket);
    let failedToStart: string | undefined;
    try {
      startKeeper(place.path, this.persistMs, (error) => {
        failedToStart = error.message;
      });
    } catch (error) {
      return this.giveUp(`cannot start it: ${(error as Error).message}`);
    }
    const until = Date.now() + KEEPER_START_MS;
    while (Date.now() < until) {
      await sleep(20);
      if (failedToStart) return this.giveUp(`cannot start it: ${failedToStart}`);
      const greeted = await greetedConnection(place.path, HELLO_MS);
      if (greeted) return this.adopt(greeted.socket);
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
          this.unrefWhenIdle(socket);
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

  /** Lets this process exit while the link has nothing in flight. */
  private unrefWhenIdle(socket: Socket): void {
    if (![...this.pending.values()].some((other) => other.socket === socket)) socket.unref();
  }

  private giveUp(reason: string): undefined {
    this.unavailable = reason;
    process.stderr.write(`netdev: NETDEV_SSH_PERSIST is set, but logins are not kept between runs: the connection keeper is unavailable (${reason})\n`);
    return undefined;
  }
}

/** Starts the keeper detached, so that it outlives this process; it ends itself when idle. */
function startKeeper(socketPath: string, persistMs: number, failed: (error: Error) => void): void {
  const main = join(__dirname, `main${extname(__filename)}`);
  // Run from source (this package's own tests) the keeper needs tsx, as the test runner does.
  const loader = extname(__filename) === ".ts" ? ["--import", require.resolve("tsx")] : [];
  const child = spawn(process.execPath, [...loader, main, socketPath, String(persistMs)], {
    detached: true,
    stdio: "ignore",
    cwd: "/",
    env: keeperEnvironment(),
  });
  // spawn reports a missing or unrunnable executable as an event, not a throw.
  child.once("error", failed);
  child.unref();
}

/**
 * What the keeper keeps of this process's environment: what locates things and netdev's own
 * settings, not the rest (a cloud provider's credentials, Pulumi's passphrase), which it would
 * otherwise hold for as long as it lives.
 */
export function keeperEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (KEPT_VARIABLES.has(name) || name.startsWith("NETDEV_") || name.startsWith("LC_")) kept[name] = value;
  }
  return kept;
}

const KEPT_VARIABLES = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "TMPDIR",
  "XDG_RUNTIME_DIR",
  "SSH_AUTH_SOCK",
  "NODE_OPTIONS",
  "NODE_EXTRA_CA_CERTS",
]);

/** The longest the keeper's pool may take over an exec: every hop's connect attempts (see SshPool.exec) and the command's own deadline. */
function answerBound(connection: Connection, options: ExecOptions): number {
  let connectMs = 0;
  for (let hop: Connection | undefined = connection; hop; hop = hop.jumpHost) {
    connectMs += (hop.retries + 1) * hop.connectTimeoutMs + hop.retryBackoffMs * 2 ** (hop.retries + 1);
  }
  return connectMs + (options.timeoutMs ?? connection.commandTimeoutMs);
}
