import { batchScript, parseBatchOutput } from "./batch";
import { type Connection, poolKey, secretsOf } from "./connection";
import { describeEndpoint, RemoteCommandError } from "./errors";
import { type ExecOptions, type ExecResult, MAX_OUTPUT_BYTES } from "./exec-options";
import { quoteArgv } from "./quote";
import { scrubbedOutput, scrubSecrets } from "./scrub";

/**
 * Runs one command as one exec. "unscrubbed": the caller scrubs the output itself (errors
 * always are scrubbed).
 */
export type ExecAlone = (connection: Connection, argv: readonly string[], options: ExecOptions, output?: "scrubbed" | "unscrubbed") => Promise<ExecResult>;

/** A command waiting to be sent in the next batch for its host. */
interface QueuedCommand {
  connection: Connection;
  argv: readonly string[];
  options: ExecOptions;
  resolve: (result: ExecResult) => void;
  reject: (error: unknown) => void;
}

/** The commands for one host (reads and writes apart: only a batch of reads may be retried). */
interface Lane {
  key: string;
  waiting: QueuedCommand[];
  inFlight: number;
  timer?: NodeJS.Timeout;
}

/** Most commands one batch carries; more wait for the next. */
const MAX_BATCH = 64;

/**
 * Commands for the same host that overlap travel as ONE exec (see batch.ts), each still answered
 * with its own output and exit code.
 */
export class Coalescer {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    /**
     * Commands for the same host that arrive within this many ms of each other, or while the
     * host's batches in flight are at their limit, go as one exec. Undefined: every command is
     * its own exec.
     */
    public windowMs: number | undefined,
    /** Batches per host (and lane) in flight at once; more commands wait and join the next. */
    public batchesInFlight: number,
    private readonly execAlone: ExecAlone,
  ) {}

  send(connection: Connection, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    if (this.windowMs === undefined || options.stdin !== undefined) return this.execAlone(connection, argv, options);
    return new Promise<ExecResult>((resolve, reject) => {
      const key = `${poolKey(connection)}\0${options.idempotent ? "read" : "write"}`;
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { key, waiting: [], inFlight: 0 }));
      lane.waiting.push({ connection, argv, options, resolve, reject });
      this.schedule(lane);
    });
  }

  /**
   * Sends the lane's waiting commands as one batch once the window has passed, unless the lane
   * already has batchesInFlight batches out: then they wait, and more join them, until one comes
   * back. So batches stay small (commands go nearly alone) while the host answers fast, and grow
   * by themselves when round trips are slow.
   */
  private schedule(lane: Lane): void {
    if (lane.timer || lane.waiting.length === 0 || lane.inFlight >= this.batchesInFlight) return;
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      const batch = lane.waiting.splice(0, MAX_BATCH);
      lane.inFlight++;
      void this.sendBatch(batch).finally(() => {
        lane.inFlight--;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(lane.key);
        else this.schedule(lane);
      });
      this.schedule(lane);
    }, this.windowMs);
  }

  /**
   * Runs queued commands for one host as one exec. Each command gets what it would have got
   * alone: its own stdout, stderr and exit code; a failure of the whole exec (deadline, lost
   * connection) is reported to each, naming its own command. A read whose result did not arrive
   * runs again alone; a command that changes the host never runs twice.
   */
  private async sendBatch(batch: QueuedCommand[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      return this.execAlone(only!.connection, only!.argv, only!.options).then(only!.resolve, only!.reject);
    }
    const first = batch[0]!;
    const idempotent = first.options.idempotent === true;
    const script = batchScript(batch.map((queued) => queued.argv));
    const others = batch.length - 1;
    let result: ExecResult;
    try {
      // Unscrubbed: each command's stderr travels inside the batch's stdout, which is scrubbed only
      // of long secrets; each part is scrubbed below as a lone command's output is. (A secret
      // scrubbed from the whole could also cut a boundary line, losing every result.)
      result = await this.execAlone(
        first.connection,
        script.argv,
        {
          stdin: script.stdin,
          idempotent,
          timeoutMs: Math.max(...batch.map((queued) => queued.options.timeoutMs ?? queued.connection.commandTimeoutMs)),
          maxOutputBytes: Math.max(...batch.map((queued) => queued.options.maxOutputBytes ?? MAX_OUTPUT_BYTES)),
        },
        "unscrubbed",
      );
    } catch (error) {
      for (const queued of batch) {
        queued.reject(
          error instanceof RemoteCommandError ? new RemoteCommandError(error.endpoint, quoteArgv(queued.argv), error.cause, error.stderr, others) : error,
        );
      }
      return;
    }
    const { results } = parseBatchOutput(result.stdout, script.boundary, batch.length);
    const endpoint = describeEndpoint(first.connection);
    // One lane is one pool key, whose digest covers the credentials: the batch's secrets are each command's.
    const secrets = secretsOf(first.connection);
    await Promise.all(
      batch.map(async (queued, i) => {
        const own = results[i];
        if (own) return queued.resolve(scrubbedOutput(own, secrets));
        if (idempotent) return this.execAlone(queued.connection, queued.argv, queued.options).then(queued.resolve, queued.reject);
        const batchEnded = scrubSecrets(result.stderr.trim(), secrets) || `exit ${result.exitCode}`;
        queued.reject(new RemoteCommandError(endpoint, quoteArgv(queued.argv), { kind: "unreported", batchEnded }, "", others));
      }),
    );
  }
}
