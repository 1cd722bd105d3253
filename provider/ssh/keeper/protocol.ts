import type { Connection } from "../connection";
import { type CommandFailure, type ConnectFailure, HostKeyMismatchError, RemoteCommandError, SshConnectError } from "../errors";
import type { ExecOptions, ExecResult } from "../exec-options";
import { SudoError } from "../sudo";

// What a provider process and the connection keeper say to each other over the keeper's Unix
// socket: one JSON object per line, requests answered by `id`, in any order.

export type KeeperRequest =
  /** `startBy` (ms since the epoch): the requester stops waiting then; what has not been sent by then never is. */
  | { id: number; op: "exec"; connection: Connection; argv: readonly string[]; options: ExecOptions; output: "scrubbed" | "unscrubbed"; startBy: number }
  | { id: number; op: "preconnect"; connection: Connection }
  | { id: number; op: "stats" };

export interface KeeperStats {
  pid: number;
  /** Completed SSH handshakes per endpoint (user@host:port) since the keeper started. */
  handshakes: Record<string, number>;
}

/** The keeper's first line on each connection: a provider sends nothing before it. */
export interface KeeperHello {
  hello: { pid: number };
}

export type KeeperAnswer = { id: number; ok: true; result?: ExecResult; stats?: KeeperStats } | { id: number; ok: false; error: SentError };

/** An error as data, so that the provider process throws what its own pool would have thrown. */
export type SentError =
  | { type: "command"; endpoint: string; command: string; cause: CommandFailure; stderr: string; batchedWith?: number }
  | { type: "connect"; endpoint: string; cause: ConnectFailure }
  | { type: "other"; name: string; message: string };

export function sendableError(error: unknown): SentError {
  if (error instanceof RemoteCommandError) {
    return { type: "command", endpoint: error.endpoint, command: error.command, cause: error.cause, stderr: error.stderr, batchedWith: error.batchedWith };
  }
  if (error instanceof SshConnectError) return { type: "connect", endpoint: error.endpoint, cause: error.cause };
  if (error instanceof Error) return { type: "other", name: error.name, message: error.message };
  return { type: "other", name: "Error", message: String(error) };
}

export function receivedError(sent: SentError): Error {
  switch (sent.type) {
    case "command":
      if (sent.cause.kind === "sudo") return new SudoError(sent.endpoint, sent.command, sent.cause.exitCode, sent.cause.advice, sent.cause.problem);
      return new RemoteCommandError(sent.endpoint, sent.command, sent.cause, sent.stderr, sent.batchedWith);
    case "connect":
      return sent.cause.kind === "host-key"
        ? new HostKeyMismatchError(sent.endpoint, sent.cause.expected, sent.cause.presented)
        : new SshConnectError(sent.endpoint, sent.cause);
    case "other": {
      const error = new Error(sent.message);
      error.name = sent.name;
      return error;
    }
  }
}

/** Most bytes one line may hold: a command's stdin and output are each capped well below it. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Splits a byte stream into lines and hands each parsed object on; a line over MAX_LINE_BYTES, or
 * one that is not a JSON object, ends the stream (`broken`): the peer is not speaking this protocol.
 */
export function lineReader(onMessage: (message: Record<string, unknown>) => void, broken: (why: string) => void): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let failed = false;
  return (chunk) => {
    if (failed) return;
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, newline));
      const line = Buffer.concat(pending).toString("utf8");
      pending = [];
      pendingBytes = 0;
      start = newline + 1;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        failed = true;
        return broken("a line that is not JSON");
      }
      if (message === null || typeof message !== "object" || Array.isArray(message)) {
        failed = true;
        return broken("a line that is not a JSON object");
      }
      onMessage(message as Record<string, unknown>);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        failed = true;
        broken(`a line longer than ${MAX_LINE_BYTES} bytes`);
      }
    }
  };
}

export function line(message: KeeperRequest | KeeperAnswer | KeeperHello): string {
  return `${JSON.stringify(message)}\n`;
}
