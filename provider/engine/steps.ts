/**
 * Steps: the commands engines, objects and kinds run on a host, as data, and the argv each
 * becomes. A leaf: persist renders the same steps into boot-time scripts without the engine.
 */
/**
 * The programs a step may run on a host: fixed names, never taken from inputs. `sh` runs only
 * the fixed scripts of provider/persist (writing and removing persisted files), with inputs as
 * its positional arguments, never as script text.
 */
export type Tool = "ip" | "bridge" | "sysctl" | "wg" | "cat" | "sh";

/** One command to run on the host; `field` names the input it serves, for error messages. */
export interface Step {
  field: string;
  tool: Tool;
  /** Namespace on the host to run it in (ip/bridge -n, others through `ip netns exec`); undefined for the host's own. */
  netns?: string;
  args: string[];
  /**
   * Written to the command's stdin: how secrets (a WireGuard private key) reach the host, never
   * in argv (visible in /proc to every user of the host) nor in error messages.
   */
  stdin?: string;
}

/** A step's argv as the host runs it: `ip`/`bridge` with `-n`, other tools through `ip netns exec`. */
export function stepArgv(step: Pick<Step, "tool" | "netns" | "args">): string[] {
  if (!step.netns) return [step.tool, ...step.args];
  if (step.tool === "ip" || step.tool === "bridge") return [step.tool, "-n", step.netns, ...step.args];
  return ["ip", "netns", "exec", step.netns, step.tool, ...step.args];
}

/**
 * Steps that bring a device's addresses from `actual` to `desired`. With no desired list,
 * only the addresses this resource managed before are removed; others are left alone.
 */
export function addressSteps(
  field: string,
  netns: string | undefined,
  dev: string,
  desired: string[] | undefined,
  actual: string[],
  managedBefore: string[] = [],
): Step[] {
  const toAdd = (desired ?? []).filter((a) => !actual.includes(a));
  const toRemove = desired !== undefined ? actual.filter((a) => !desired.includes(a)) : actual.filter((a) => managedBefore.includes(a));
  return [
    ...toRemove.map((a): Step => ({ field, tool: "ip", netns, args: ["addr", "del", a, "dev", dev] })),
    ...toAdd.map((a): Step => ({ field, tool: "ip", netns, args: ["addr", "add", a, "dev", dev] })),
  ];
}
