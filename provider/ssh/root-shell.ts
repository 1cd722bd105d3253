import type { ChannelOutcome } from "./channel-outcome";
import { shellRequest, stderrEnd, stdoutEnd } from "./root-shell-protocol";

/**
 * The two-way byte stream a root shell runs on: an SSH session channel, or a local `sh` in tests.
 */
export interface ShellStream {
  write(text: string): void;
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Called once, when the stream (the shell) has ended for whatever reason. */
  onClose(listener: () => void): void;
  close(): void;
}

// The longest reply end (a newline, the boundary, a space, a status and a newline) fits in this.
const TAIL_BYTES = 64;

/** Output of one request as it arrives: the chunks, and the last bytes to look for the reply's end in. */
class Collected {
  chunks: Buffer[] = [];
  bytes = 0;
  tail = "";

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    // latin1: one character per byte, so positions in the tail are byte offsets.
    this.tail = (this.tail + chunk.toString("latin1")).slice(-TAIL_BYTES);
  }

  /** The text before byte `end` (all of it by default). */
  text(end = this.bytes): string {
    return Buffer.concat(this.chunks).subarray(0, end).toString("utf8");
  }

  /** Byte offset in the whole output of a position in the tail. */
  offset(atInTail: number): number {
    return this.bytes - this.tail.length + atInTail;
  }
}

interface Pending {
  boundary: string;
  stdout: Collected;
  stderr: Collected;
  maxOutputBytes: number;
  settle(outcome: ChannelOutcome): void;
}

/**
 * One long-lived shell running as root (started by `sudo` once), which runs the commands sent to
 * it one at a time, each framed by root-shell-protocol.ts: a connection with `sudo: true` pays
 * sudo's start (sudoers, PAM, its logging) once per shell instead of once per exec. Each command
 * still gets its own stdout, stderr and exit status, and its outcome as ChannelOutcome, so the
 * pool treats it as it treats a command on its own channel: "timeout" when the deadline passes
 * (the caller then tears the connection down, and the shell with it), "lost" when the shell ends
 * before the command's reply is complete, "overflow" past the output cap (the shell is closed).
 */
export class RootShell {
  private pending?: Pending;
  private requested = false;
  private ended = false;
  private streamClosed = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly stream: ShellStream) {
    stream.onStdout((chunk) => this.take(chunk, "stdout"));
    stream.onStderr((chunk) => this.take(chunk, "stderr"));
    stream.onClose(() => {
      this.ended = true;
      this.streamClosed = true;
      const pending = this.pending;
      if (pending) pending.settle({ kind: "lost", stdout: pending.stdout.text(), stderr: pending.stderr.text() });
      for (const listener of this.closeListeners.splice(0)) listener();
    });
  }

  /** False once the shell has ended or was closed: it runs nothing more. */
  get open(): boolean {
    return !this.ended;
  }

  /** Calls `listener` once the stream has closed (at once if it has). */
  onClose(listener: () => void): void {
    if (this.streamClosed) listener();
    else this.closeListeners.push(listener);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.close();
  }

  /** Runs argv (with `stdin`, if any) and collects its outcome, all before `deadline` (ms since the epoch). */
  run(argv: readonly string[], stdin: string | undefined, deadline: number, maxOutputBytes: number): Promise<ChannelOutcome> {
    if (this.pending) throw new Error("a root shell runs one command at a time");
    const request = shellRequest(argv, stdin);
    if (this.ended) return Promise.resolve({ kind: "lost", stdout: "", stderr: "" });
    return new Promise((resolve) => {
      const pending: Pending = {
        boundary: request.boundary,
        stdout: new Collected(),
        stderr: new Collected(),
        maxOutputBytes,
        settle: (outcome) => {
          if (this.pending !== pending) return;
          this.pending = undefined;
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      const timer = setTimeout(
        () => {
          pending.settle({ kind: "timeout", stdout: pending.stdout.text(), stderr: pending.stderr.text() });
          // Still running its command: the shell takes no other.
          this.close();
        },
        Math.max(0, deadline - Date.now()),
      );
      this.pending = pending;
      this.requested = true;
      this.stream.write(request.text);
    });
  }

  private take(chunk: Buffer, which: "stdout" | "stderr"): void {
    const pending = this.pending;
    if (!pending) {
      // Output before the first command is no command's: the login shell's rc files wrote it.
      if (!this.requested) return;
      // Output between commands belongs to none of them (something the shell started writes on
      // after its command ended): the framing can no longer be trusted.
      this.close();
      return;
    }
    pending[which].add(chunk);
    if (pending.stdout.bytes + pending.stderr.bytes > pending.maxOutputBytes + 2 * TAIL_BYTES) {
      pending.settle({ kind: "overflow" });
      this.close();
      return;
    }
    const out = stdoutEnd(pending.stdout.tail, pending.boundary);
    const err = stderrEnd(pending.stderr.tail, pending.boundary);
    if (!out || err === undefined) return;
    const stdoutBytes = pending.stdout.offset(out.at);
    const stderrBytes = pending.stderr.offset(err);
    if (stdoutBytes + stderrBytes > pending.maxOutputBytes) {
      pending.settle({ kind: "overflow" });
      this.close();
      return;
    }
    pending.settle({ kind: "exit", stdout: pending.stdout.text(stdoutBytes), stderr: pending.stderr.text(stderrBytes), exitCode: out.exitCode });
  }
}
