import type { Client, ClientChannel } from "ssh2";
import type { ChannelOutcome } from "./channel-outcome";

// The exec channel protocol: one command on one session channel, its output and exit status.

/**
 * Under channel churn OpenSSH's sshd sometimes closes a session channel without sending its
 * exit-status, although all output arrived (seen here: a few in 200 concurrent commands). The
 * remote shell therefore also reports the status on stderr after the command, and collect()
 * strips it; the quoted argv before it stays one command, so this adds no shell parsing of input.
 * It requires a POSIX login shell (sh, bash, dash, zsh, busybox), as SSH exec does in practice.
 */
export const EXIT_TRAILER = "; echo __netdev_exit_status=$? >&2";
const TRAILER_PATTERN = /__netdev_exit_status=(\d+)\n$/;

export type { ChannelOutcome };

/**
 * Opens a session channel, runs `wire` in it and collects its output, all before `deadline`
 * (ms since the epoch). ssh2 answers the channel open and the exec request in one callback, so
 * "unanswered" covers both. On "unanswered" and "timeout" the caller must destroy the
 * connection: a channel the server answers late would otherwise run a command nobody reads.
 */
export function runOnChannel(client: Client, wire: string, stdin: string | undefined, deadline: number, maxOutputBytes: number): Promise<ChannelOutcome> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outputBytes = 0;
    let channel: ClientChannel | undefined;
    let exitCode: number | undefined;
    let exitSignal: string | undefined;
    let settled = false;
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString("utf8");
    const settle = (outcome: ChannelOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(
      () => {
        if (!channel) return settle({ kind: "unanswered" });
        settle({ kind: "timeout", stdout: text(stdout), stderr: text(stderr).replace(TRAILER_PATTERN, "") });
        channel.close();
      },
      Math.max(0, deadline - Date.now()),
    );
    const take = (chunks: Buffer[]) => (chunk: Buffer) => {
      if (settled) return;
      outputBytes += chunk.length;
      if (outputBytes <= maxOutputBytes) return void chunks.push(chunk);
      // Drop what was collected and stop reading: the cap bounds this process's memory.
      stdout.length = 0;
      stderr.length = 0;
      settle({ kind: "overflow" });
      channel?.close();
    };
    try {
      client.exec(wire, (error, opened) => {
        if (error) return settle({ kind: "refused", error });
        // Answered after the deadline: the caller is tearing the connection down.
        if (settled) return void opened.close();
        channel = opened;
        opened.on("data", take(stdout));
        opened.stderr.on("data", take(stderr));
        opened.on("exit", (code: number | null, signal?: string) => {
          if (code !== null && code !== undefined) exitCode = code;
          else exitSignal = signal ?? "unknown signal";
        });
        opened.on("close", () => {
          const errText = text(stderr);
          const trailer = TRAILER_PATTERN.exec(errText);
          const cleanErr = trailer ? errText.slice(0, trailer.index) : errText;
          if (trailer) settle({ kind: "exit", stdout: text(stdout), stderr: cleanErr, exitCode: Number(trailer[1]) });
          else if (exitSignal !== undefined)
            settle({ kind: "exit", stdout: text(stdout), stderr: `${cleanErr}\nkilled by signal ${exitSignal}`, exitCode: 128 });
          else if (exitCode !== undefined) settle({ kind: "exit", stdout: text(stdout), stderr: cleanErr, exitCode });
          else settle({ kind: "lost", stdout: text(stdout), stderr: cleanErr });
        });
        if (stdin !== undefined) opened.end(stdin);
        else opened.end();
      });
    } catch (error) {
      settle({ kind: "refused", error });
    }
  });
}
