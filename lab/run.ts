import { execa } from "execa";

/** Runs a local command with argv (never a shell string) and returns trimmed stdout; throws with stderr on failure. */
export async function run(file: string, args: string[], options: { input?: string; allowFailure?: boolean } = {}): Promise<string> {
  const result = await execa(file, args, { input: options.input, reject: false, stdin: options.input === undefined ? "ignore" : "pipe" });
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new Error(`${file} ${args.join(" ")} failed (exit ${result.exitCode}): ${String(result.stderr).trim()}`);
  }
  return String(result.stdout).trim();
}

/** Runs `ip` inside a network namespace (or the root namespace when netns is undefined). */
export function ipIn(netns: string | undefined, args: string[], options?: { allowFailure?: boolean }): Promise<string> {
  return netns === undefined ? run("ip", args, options) : run("ip", ["-n", netns, ...args], options);
}

export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
