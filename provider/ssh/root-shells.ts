import type { Client, ClientChannel } from "ssh2";
import type { Connection } from "./connection";
import { RootShell, type ShellStream } from "./root-shell";
import { remoteCommand, sudoStarted } from "./sudo";

/**
 * What taking a root shell gives: a shell to run one command on (give it back with `release`),
 * "closed" (the connection closed meanwhile: reconnect), "expired" (the deadline passed while
 * every shell was busy), "unanswered" (the server did not answer the request for a shell before
 * the deadline: nothing was sent; the caller closes the connection), "per-exec" (the server
 * refused a channel for a shell: run the command on a channel of its own, which retries such
 * refusals) or sudoRefused (sudo refused to start the shell, and would refuse the command).
 */
export type TakenShell = RootShell | "closed" | "expired" | "unanswered" | "per-exec" | SudoRefused;

/** sudo ended before the shell started: what it said and its exit status (see sudoRefusal). */
export interface SudoRefused {
  sudoRefused: { stderr: string; exitCode: number };
}

/** What the shells need of their connection (PooledConnection). */
export interface ShellHost {
  readonly client: Client;
  readonly closed: boolean;
  acquireSlot(deadline: number): Promise<"acquired" | "closed" | "expired">;
  releaseSlot(): void;
  /** A shell went idle: the connection may be unused now. */
  shellIdle(): void;
  /** A shell was taken: the connection is in use. */
  shellTaken(): void;
}

/**
 * The root shells of one pooled connection with `sudo: true`: one started (one sudo) the first
 * time a command finds none idle, up to the connection's session limit, each holding a session
 * slot for as long as it lives, and reused by the commands that follow. Concurrent commands each
 * get a shell of their own, so they run at once as they would on channels of their own.
 */
export class RootShells {
  private readonly idle: RootShell[] = [];
  /** Shells alive or being started. */
  private count = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly host: ShellHost,
    private readonly limit: () => number,
  ) {}

  /** Shells that run no command: they hold session slots but leave the connection unused. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** A shell for one command, before `deadline` (ms since the epoch): see TakenShell. */
  async take(connection: Connection, deadline: number): Promise<TakenShell> {
    for (;;) {
      if (this.host.closed) return "closed";
      const idle = this.idle.pop();
      if (idle) {
        this.host.shellTaken();
        return idle;
      }
      if (this.count < this.limit()) return this.start(connection, deadline);
      if (Date.now() >= deadline) return "expired";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(wake);
      });
    }
  }

  /** Gives back a shell taken for a command, once that command's outcome is in. */
  release(shell: RootShell): void {
    if (shell.open && !this.host.closed) {
      this.idle.push(shell);
      this.host.shellIdle();
    }
    this.wakeAll();
  }

  /** Wakes everything waiting for a shell (the connection closed, or a shell came free). */
  wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async start(connection: Connection, deadline: number): Promise<TakenShell> {
    this.count++;
    const slot = await this.host.acquireSlot(deadline);
    if (slot !== "acquired") {
      this.count--;
      this.wakeAll();
      return slot;
    }
    const started = await startRootShell(this.host.client, connection, deadline);
    if (!(started instanceof RootShell)) {
      this.count--;
      this.host.releaseSlot();
      this.wakeAll();
      return started === "refused" ? "per-exec" : started;
    }
    started.onClose(() => {
      const at = this.idle.indexOf(started);
      if (at >= 0) this.idle.splice(at, 1);
      this.count--;
      this.host.releaseSlot();
      this.wakeAll();
    });
    return started;
  }
}

/**
 * Opens a session channel running `sh` as root through sudo (remoteCommand: the same sudo
 * command line, and the password on stdin, as a lone command's), and waits until the shell has
 * started: sudoRefused when the channel ended before that, "refused" when the server refused the
 * channel, "unanswered" when it did not answer before `deadline`.
 */
async function startRootShell(client: Client, connection: Connection, deadline: number): Promise<RootShell | "refused" | "unanswered" | SudoRefused> {
  const remote = remoteCommand(connection, ["sh"], undefined);
  return new Promise((resolve) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    const settle = (result: RootShell | "refused" | "unanswered" | SudoRefused) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(
      () => {
        settle("unanswered");
        channel?.close();
      },
      Math.max(0, deadline - Date.now()),
    );
    try {
      client.exec(remote.command, (error, opened) => {
        if (error) return settle("refused");
        if (settled) return void opened.close();
        channel = opened;
        const stderr: Buffer[] = [];
        let exitCode: number | undefined;
        // Read (and drop) stdout from the start: a channel whose output nobody reads never closes.
        const beforeStart = () => {};
        opened.on("data", beforeStart);
        const waitForStart = (chunk: Buffer) => {
          stderr.push(chunk);
          if (!sudoStarted(Buffer.concat(stderr).toString("utf8"))) return;
          opened.stderr.off("data", waitForStart);
          opened.off("data", beforeStart);
          opened.off("close", refused);
          settle(new RootShell(channelStream(opened)));
        };
        // sudo's status, when the server sends it; without it, the words on stderr tell the refusals apart.
        opened.on("exit", (code: number | null) => void (exitCode = code ?? undefined));
        const refused = () => settle({ sudoRefused: { stderr: Buffer.concat(stderr).toString("utf8"), exitCode: exitCode ?? 1 } });
        opened.stderr.on("data", waitForStart);
        opened.on("close", refused);
        if (remote.stdin !== undefined) opened.write(remote.stdin);
      });
    } catch {
      settle("refused");
    }
  });
}

/** An SSH session channel as the stream a root shell runs on. */
function channelStream(channel: ClientChannel): ShellStream {
  return {
    write: (text) => void channel.write(text),
    onStdout: (listener) => void channel.on("data", listener),
    onStderr: (listener) => void channel.stderr.on("data", listener),
    onClose: (listener) => void channel.once("close", listener),
    close: () => void channel.close(),
  };
}
