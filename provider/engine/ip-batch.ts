import { quoteArg, quoteArgv } from "../ssh/quote";
import type { Step } from "./kind";

/**
 * The remote script of a fused command (HostShell.applyAll): every step in order, stopping at
 * the first that fails, as few processes on the host as the steps allow. On a busy host a
 * process start costs more than the kernel's work (measured here: a bridge made by a 4-step
 * script of one `ip` per step, 22 ms; the same steps as one `ip -batch`, 6 ms), so:
 *
 * - consecutive `ip` steps in one namespace go to ONE `ip -batch` (a here-document; no stdin
 *   needed, so the command still coalesces with others), where the batch means exactly what the
 *   argv means (see batchWord); so do consecutive `bridge fdb` steps, to one `bridge -batch`
 *   (the same reader, the same stop at the first failing line): a flood list of N peers is one
 *   process, not N;
 * - the owner tag (`ip link set dev X alias "netdev#…"`: iproute2's batch reader cuts a line at
 *   `#`) is written to sysfs by the shell itself when the device is in the shell's namespace,
 *   which is what `ip` does through netlink (both set IFLA_IFALIAS via dev_set_alias).
 *
 * Whatever fails is reported as before: the step's index (the shell marks each unit with
 * `s=<first step>`; iproute2 adds "Command failed -:<line>" for a batch line) and its error.
 */
export interface FusedScript {
  /** For `sh -c`: built only from quoteArg/quoteArgv output, batch words (batchWord) and fixed syntax. */
  script: string;
  /** Which step failed ("read": the read-back) and its own error, from the script's stderr. */
  failure(stderr: string): { index: number | "read"; stderr: string };
}

/** What the script prints on stderr before exiting 1: the first step index of the unit that failed. */
const FAILED_STEP = "__netdev_failed_step=";
const DELIMITER = "__netdev_ip_batch__";
/** Per tool, the objects whose commands batch: for `ip`, those that print nothing under -json except what is asked for (the read-back). */
const BATCHABLE_OBJECTS: Partial<Record<Step["tool"], ReadonlySet<string>>> = {
  ip: new Set(["link", "addr", "address", "route"]),
  bridge: new Set(["fdb"]),
};
/** iproute2 reads at most 100 words per batch line. */
const MAX_WORDS = 90;

/**
 * One argument as a word of iproute2's batch reader (getcmdline + makeargs), or undefined if
 * that reader cannot give it back unchanged: it cuts a line at any `#`, splits on space, tab, CR
 * and LF, and takes a word that begins with `'` or `"` up to the next quote of that kind.
 */
export function batchWord(arg: string): string | undefined {
  if (/[#\\\n\r\0]/.test(arg)) return undefined;
  if (arg !== "" && !/[ \t'"]/.test(arg)) return arg;
  if (!arg.includes("'")) return `'${arg}'`;
  if (!arg.includes('"')) return `"${arg}"`;
  return undefined;
}

/** The batch line for a step, or undefined if it must run on its own. */
function batchLine(step: Omit<Step, "field">, isRead: boolean): string | undefined {
  const objects = BATCHABLE_OBJECTS[step.tool];
  if (!objects || step.stdin !== undefined) return undefined;
  let args = step.args;
  // The read-back's -json/-details become the batch's: they change only what `show` prints.
  if (isRead) {
    if (step.tool !== "ip") return undefined;
    if (args[0] !== "-json" || args[1] !== "-details") return undefined;
    args = args.slice(2);
  }
  if (!objects.has(args[0] ?? "") || args.length > MAX_WORDS) return undefined;
  const words = args.map(batchWord);
  return words.every((word): word is string => word !== undefined) ? words.join(" ") : undefined;
}

/** `ip link set dev X alias V` in the shell's own namespace as a sysfs write, or undefined. */
function sysfsAlias(step: Omit<Step, "field">): string | undefined {
  const [link, set, dev, name, alias, value, ...rest] = step.args;
  if (step.tool !== "ip" || step.netns !== undefined || step.stdin !== undefined || rest.length) return undefined;
  if (link !== "link" || set !== "set" || dev !== "dev" || alias !== "alias" || name === undefined || value === undefined) return undefined;
  // The kernel strips the one trailing newline; a name with a slash or dots could leave /sys/class/net.
  if (!/^[^/\s]+$/.test(name) || name === "." || name === "..") return undefined;
  return `printf '%s\\n' ${quoteArg(value)} >${quoteArg(`/sys/class/net/${name}/ifalias`)}`;
}

/** A step in a batch: its line, its index in the fused command ("read": the read-back), its argv. */
type Member = { line: string; index: number | "read"; args: string[] };
type Unit = { marker: number | "read"; command: string; batch?: { tool: Step["tool"]; netns?: string; members: Member[] } };

export function fusedScript(
  steps: ReadonlyArray<Step>,
  thenRead: Omit<Step, "field"> | undefined,
  argvOf: (step: Omit<Step, "field">) => string[],
): FusedScript {
  const withStdin = steps.some((step) => step.stdin !== undefined);
  const all: Array<{ step: Omit<Step, "field">; index: number | "read" }> = [
    ...steps.map((step, index) => ({ step, index })),
    ...(thenRead ? [{ step: thenRead, index: "read" as const }] : []),
  ];
  const units: Unit[] = [];
  for (const { step, index } of all) {
    const line = batchLine(step, index === "read");
    const member = line === undefined ? undefined : { line, index, args: step.args };
    const last = units[units.length - 1];
    if (member && last?.batch && last.batch.tool === step.tool && last.batch.netns === step.netns) {
      last.batch.members.push(member);
      continue;
    }
    const redirect = withStdin && step.stdin === undefined ? " </dev/null" : "";
    const command = sysfsAlias(step) ?? `${quoteArgv(argvOf(step))}${redirect}`;
    units.push({ marker: index, command, ...(member ? { batch: { tool: step.tool, netns: step.netns, members: [member] } } : {}) });
  }
  const bodies: string[] = [];
  const chain = units.map((unit) => {
    let command = unit.command;
    if (unit.batch && unit.batch.members.length > 1) {
      const reads = unit.batch.members.some((member) => member.index === "read");
      command = `${quoteArgv([unit.batch.tool, ...(unit.batch.netns ? ["-n", unit.batch.netns] : []), ...(reads ? ["-json", "-details"] : []), "-batch", "-"])} <<'${DELIMITER}'`;
      bodies.push(`${unit.batch.members.map((member) => member.line).join("\n")}\n${DELIMITER}`);
    }
    return `s=${unit.marker} && ${command}`;
  });
  const script = [`${chain.join(" && ")} && s=ok`, ...bodies, `[ "$s" = ok ] || { echo "${FAILED_STEP}$s" >&2; exit 1; }`].join("\n");

  return {
    script,
    failure(stderr) {
      const marker = new RegExp(`${FAILED_STEP}(\\w+)\\n?$`).exec(stderr);
      // No marker: the script itself did not run to its end (cut off, or no shell): the first step.
      if (!marker) return { index: 0, stderr: stderr.trim() };
      const own = stderr.slice(0, marker.index);
      const at: number | "read" = marker[1] === "read" ? "read" : Number(marker[1]);
      const unit = units.find((u) => u.marker === at);
      if (!unit?.batch || unit.batch.members.length < 2) return { index: at, stderr: own.trim() };
      // iproute2 names the failing line of a batch when the command returns an error. An argument
      // it rejects while parsing (`master nosuch`: "argument "nosuch" is wrong") ends the process
      // at once, without a line number but with the argument quoted: the first line holding it.
      // Neither (the namespace could not be entered): the first line.
      const failed = /Command failed -:(\d+)\s*$/.exec(own);
      const quoted = [...own.matchAll(/"([^"\n]+)"/g)].map((m) => m[1]!);
      const holding = unit.batch.members.findIndex((member) => quoted.some((word) => member.args.includes(word)));
      const line = failed ? Number(failed[1]) : holding >= 0 ? holding + 1 : 1;
      return { index: unit.batch.members[line - 1]?.index ?? at, stderr: (failed ? own.slice(0, failed.index) : own).trim() };
    },
  };
}
