// Apart from channel.ts, which needs ssh2's types: errors reach this type, and the package's
// public declarations must not import ssh2 (a user's project has no @types/ssh2).
export type ChannelOutcome =
  | { kind: "exit"; stdout: string; stderr: string; exitCode: number }
  /** The deadline passed before the server answered the channel open or the exec request. */
  | { kind: "unanswered" }
  /** The deadline passed while the command ran. */
  | { kind: "timeout" | "lost"; stdout: string; stderr: string }
  /** The command printed more than the output cap; the channel was closed. */
  | { kind: "overflow" }
  /** The server refused the channel or the exec request (or the connection failed first). */
  | { kind: "refused"; error: unknown };
