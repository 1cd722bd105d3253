import type { Connection } from "../ssh/connection";
import { RemoteCommandError } from "../ssh/errors";
import { type ExecResult, sshPool } from "../ssh/pool";
import { sharedRead } from "../ssh/shared-reads";
import { batchScript, parseBatchOutput } from "../ssh/batch";
import { quoteArgv } from "../ssh/quote";
import { parseRemoteJson } from "../ssh/scrub";
import { poolKey } from "../ssh/connection";
import { DeleteLanes } from "./delete-lanes";
import { type GroupedDevice, groupableName, groupDeleteOutcomes, groupDeleteScript, ownedDeleteScript, randomGroup } from "./grouped-delete";
import { fusedScript } from "./ip-batch";
import { isIpError, linkAbsent } from "./ip-errors";
import { linkNamed, parseLinks, type LinkState } from "./iplink";
import { deleteIfStillScript, ensureNamespaces, lockNamespaces, NAMESPACE_CHANGED, NAMESPACE_FAILED, removeIfImplicitAndEmptyScript } from "./namespace-lock";
import { ownerTag } from "./ownership";
import { type Step, stepArgv } from "./steps";
import { type Command, type Host, type HostFactory, type OwnedDeletion, type ReadCommand, StepError } from "./host-interface";
import { linkReadCommand } from "./host-snapshot";

export { type Command, type OwnedDeletion, StepError };

/**
 * A transport error's message with the script it ran (`error.command`, the whole `sh -c …`)
 * replaced by what the resource knows it asked for.
 */
function naming(error: RemoteCommandError, shown: string): string {
  return error.message.split(`\`${error.command}\``).join(shown);
}

/** A device for a grouped delete: its name, owner token, and how errors name it. */
interface OwnedDevice {
  name: string;
  token: string;
  device: string;
}

/** Most devices one grouped delete carries (the script grows by a line per device). */
const MAX_GROUP = 64;

/** The delete lanes of each pool (per host and namespace; see delete-lanes.ts). */
const deleteLanes = new WeakMap<ReturnType<typeof sshPool>, DeleteLanes<OwnedDevice, OwnedDeletion>>();

/** Each shared dump parsed once, however many devices it answers for. */
const parsedDumps = new WeakMap<ExecResult, Map<string, LinkState>>();

/**
 * The only door to a host: every kind, object and engine runs its commands through this class
 * (which alone talks to the SSH pool), so tool placement (`-n` or `ip netns exec`), stdin for
 * secrets, error attribution and ownership checks are written once.
 */
export class HostShell implements Host {
  constructor(readonly connection: Connection) {}

  get endpoint(): string {
    return `${this.connection.user}@${this.connection.host}:${this.connection.port}`;
  }

  argv(step: Omit<Command, "stdin">): string[] {
    return stepArgv(step);
  }

  /** Runs one command; its exit status and output come back whatever they are. */
  async exec(command: Command): Promise<ExecResult> {
    return sshPool().exec(this.connection, this.argv(command), { idempotent: command.idempotent, stdin: command.stdin });
  }

  /** Runs one command, throwing a RemoteCommandError (with its stderr) unless it exits 0; its stdout. */
  async run(command: Command): Promise<string> {
    return sshPool().run(this.connection, this.argv(command), { idempotent: command.idempotent, stdin: command.stdin });
  }

  /** Runs a command that only reads, which the transport may therefore retry. */
  async read(step: Omit<Command, "idempotent">): Promise<string> {
    return this.run({ ...step, idempotent: true });
  }

  /** Reads a tool's JSON output (`ip -json`, `bridge -json`); `what` names it in a parse error. */
  async readJson<T>(step: Omit<Command, "idempotent">, what = quoteArgv(this.argv(step))): Promise<T> {
    return parseRemoteJson<T>((await this.read(step)).trim() || "[]", what);
  }

  /** Runs a step, turning a failure into a StepError that names the input field. */
  async apply(step: Step, device: string): Promise<void> {
    try {
      await this.run(step);
    } catch (error) {
      if (!(error instanceof RemoteCommandError)) throw error;
      // No exit code: the command was cut off or never started; the error says which.
      const stderr = error.exitCode === null ? error.message : error.stderr.trim();
      throw new StepError(
        step.field,
        this.endpoint,
        stderr,
        `${device}: ${step.field === "create" ? "create" : `setting ${step.field}`} failed: \`${error.command}\`: ${stderr || `exit ${error.exitCode}`}`,
      );
    }
  }

  /**
   * Runs steps in order as ONE remote command (one round trip instead of one per step), stopping
   * at the first that fails, which is reported as a StepError naming its field and carrying
   * `stepIndex`. The script (ip-batch.ts) is built only from argv quoted by quoteArgv, words of an
   * `ip -batch` here-document (batchWord) and fixed shell syntax, with as few processes as the
   * steps allow. With `thenRead`, that command's stdout (e.g. the device read back) is returned.
   *
   * `namespaces`: implicit namespaces the steps create devices in. The script holds their
   * host-side locks throughout and first makes each one missing (namespace-lock.ts), so the
   * removal of a namespace whose last device just went cannot take this device with it; a
   * failure there is a StepError of field "netns" at step 0 (nothing ran).
   */
  async applyAll(steps: Step[], device: string, thenRead?: Omit<Step, "field">, namespaces: readonly string[] = []): Promise<string> {
    if (steps.length === 0) return thenRead ? this.read(thenRead) : "";
    // The script's stdin is the channel's: it goes to the one step that takes stdin, none to the others.
    const withStdin = steps.filter((step) => step.stdin !== undefined);
    if (withStdin.length > 1) throw new Error(`${device}: at most one step of a fused command may take stdin (${withStdin.map((s) => s.field).join(", ")})`);
    const fused = fusedScript(steps, thenRead, (step) => this.argv(step));
    const script = namespaces.length ? [lockNamespaces(namespaces), ensureNamespaces(namespaces), fused.script].join("\n") : fused.script;
    const result = await sshPool()
      .exec(this.connection, ["sh", "-c", script], { stdin: withStdin[0]?.stdin })
      .catch((error: unknown) => {
        if (!(error instanceof RemoteCommandError)) throw error;
        // No answer: which steps ran is unknown. Name them by the first, not by the whole script.
        const first = `\`${quoteArgv(this.argv(steps[0]!))}\``;
        const named = steps.length > 1 ? `${first} and ${steps.length - 1} more step${steps.length > 2 ? "s" : ""} (one command)` : first;
        const message = naming(error, named);
        throw new StepError(steps[0]!.field, this.endpoint, message, `${device}: ${message}`, undefined);
      });
    if (result.exitCode === 0) return result.stdout;
    const unmade = namespaces.length ? namespaceFailure(result.stderr) : undefined;
    if (unmade !== undefined) throw new StepError("netns", this.endpoint, unmade, `${device}: namespace ${unmade} (on ${this.endpoint})`, 0);
    const { index, stderr } = fused.failure(result.stderr);
    if (index === "read") throw new RemoteCommandError(this.endpoint, quoteArgv(this.argv(thenRead!)), 1, stderr);
    const step = steps[index]!;
    throw new StepError(
      step.field,
      this.endpoint,
      stderr,
      `${device}: ${step.field === "create" ? "create" : `setting ${step.field}`} failed: \`${quoteArgv(this.argv(step))}\`: ${stderr || `exit ${result.exitCode}`}`,
      index,
    );
  }

  async applyAllThenRead(
    steps: Step[],
    device: string,
    reads: ReadonlyArray<ReadCommand>,
    namespaces: readonly string[] = [],
  ): Promise<Array<string | undefined>> {
    // A line per read frames them (each prints one line): "null" where it failed.
    const script = reads.map((read) => `${quoteArgv(this.argv(read))} 2>/dev/null || echo null`).join("\n");
    const out = await this.applyAll(steps, device, { tool: "sh", args: ["-c", script] }, namespaces);
    const lines = out.split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length !== reads.length) return reads.map(() => undefined);
    return lines.map((line) => (line === "null" ? undefined : `${line}\n`));
  }

  /**
   * Deletes the device in ONE round trip if its alias carries this owner token: the host
   * compares the tag (read from sysfs, which knows only real names, never `if<N>`) and deletes
   * in the same script. Anything else (absent, another owner or none) is reported, not touched.
   * Deletes that overlap on this host and namespace share that round trip (deleteTogether).
   */
  async deleteOwned(netns: string | undefined, name: string, token: string, device: string): Promise<OwnedDeletion> {
    const pool = sshPool();
    // Coalescing off (NETDEV_COALESCE_MS=off) sends every command alone, deletes included.
    if (pool.coalesceWindowMs === undefined || !groupableName(name)) return this.deleteOneOwned(netns, name, token, device);
    let lanes = deleteLanes.get(pool);
    if (!lanes) deleteLanes.set(pool, (lanes = new DeleteLanes(pool.coalesceWindowMs, MAX_GROUP)));
    return lanes.submit(`${poolKey(this.connection)}\0${netns ?? ""}`, { name, token, device }, (devices) => this.deleteTogether(netns, devices));
  }

  /**
   * Deletes overlapping on this host and namespace, each only if it carries its owner tag, in
   * ONE round trip and, for two or more, one netlink request (grouped-delete.ts): the kernel's
   * per-request cost is paid once. Each device gets its own outcome, as deleteOneOwned gives.
   */
  private async deleteTogether(netns: string | undefined, devices: OwnedDevice[]): Promise<OwnedDeletion[]> {
    if (devices.length === 1) return [await this.deleteOneOwned(netns, devices[0]!.name, devices[0]!.token, devices[0]!.device)];
    const script = groupDeleteScript(
      devices.map(({ name, token }) => ({ name, tag: ownerTag(token) })),
      randomGroup(),
    );
    return this.runDeleteScript(netns, script, devices);
  }

  /** deleteOwned for one device alone: the host compares the tag and deletes in one script. */
  private async deleteOneOwned(netns: string | undefined, name: string, token: string, device: string): Promise<OwnedDeletion> {
    return this.deleteChecked(netns, { name, tag: ownerTag(token) }, device);
  }

  /**
   * Deletes the device in one script if it is still as checked (grouped-delete.ts): its tag
   * (`tag` undefined: no owner tag at all) and, with `ifindex`, that very device, not one made
   * since under its name. Checked again on the host just before the delete, which goes by ifindex.
   */
  async deleteChecked(netns: string | undefined, expected: GroupedDevice, device: string): Promise<OwnedDeletion> {
    return (await this.runDeleteScript(netns, ownedDeleteScript(expected), [{ name: expected.name, device }]))[0]!;
  }

  /**
   * deleteChecked for many devices of one namespace: one script and, for two or more, one
   * netlink request (grouped-delete.ts), each checked on the host as deleteChecked checks it.
   */
  async deleteAllChecked(netns: string | undefined, expected: readonly GroupedDevice[], devices: readonly string[]): Promise<OwnedDeletion[]> {
    return (await this.deleteAllThenRemoveNamespaces([{ netns, expected, devices }], [])).outcomes[0]!;
  }

  /**
   * Reads in ONE round trip: the host runs them together (ssh/batch.ts) and each result comes
   * back on its own. A batch whose output is not whole fails as one read.
   */
  async readAll(commands: ReadonlyArray<ReadCommand>): Promise<ExecResult[]> {
    if (commands.length === 0) return [];
    if (commands.length === 1) return [await this.exec({ ...commands[0]!, idempotent: true })];
    const argvs = commands.map((command) => this.argv(command));
    return this.execBatch(argvs, { idempotent: true, inOrder: false }, `${quoteArgv(argvs[0]!)} and ${argvs.length - 1} more reads (one command)`);
  }

  /**
   * Commands as ONE exec (ssh/batch.ts), each one's own result; a batch whose output is not
   * whole fails as one RemoteCommandError naming it as `what`.
   */
  private async execBatch(argvs: ReadonlyArray<readonly string[]>, options: { idempotent: boolean; inOrder: boolean }, what: string): Promise<ExecResult[]> {
    const batch = batchScript(argvs, undefined, options.inOrder);
    const result = await sshPool().exec(this.connection, batch.argv, { stdin: batch.stdin, idempotent: options.idempotent });
    const { results, complete } = parseBatchOutput(result.stdout, batch.boundary, argvs.length);
    if (!complete) throw new RemoteCommandError(this.endpoint, what, result.exitCode, result.stderr);
    return results as ExecResult[];
  }

  /**
   * deleteAllChecked for each group (a namespace's devices), then the removal of each namespace
   * in `namespaces` that this provider made implicitly and that holds nothing but lo by then:
   * ONE round trip, run in that order (ssh/batch.ts, in order). An outcome per device of each
   * group; a namespace that could not be removed is an error in `namespaceErrors`.
   */
  async deleteAllThenRemoveNamespaces(
    groups: ReadonlyArray<{ netns: string | undefined; expected: readonly GroupedDevice[]; devices: readonly string[] }>,
    namespaces: readonly string[],
  ): Promise<{ outcomes: OwnedDeletion[][]; namespaceErrors: unknown[] }> {
    const parts = groups
      .filter((group) => group.expected.length > 0)
      .map((group) => {
        const script = group.expected.length === 1 ? ownedDeleteScript(group.expected[0]!) : groupDeleteScript(group.expected, randomGroup());
        const devices = group.expected.map(({ name }, i) => ({ name, device: group.devices[i]! }));
        return { netns: group.netns, argv: this.deleteArgv(group.netns, script), devices };
      });
    const outcomes = groups.map((group) => (group.expected.length > 0 ? undefined : ([] as OwnedDeletion[])));
    const fill = (answers: OwnedDeletion[][]) => {
      let next = 0;
      return outcomes.map((known) => known ?? answers[next++]!);
    };
    // One script alone needs no framing.
    if (parts.length === 1 && namespaces.length === 0)
      return { outcomes: fill([this.deleteOutcomes(parts[0]!.netns, await this.execDelete(parts[0]!.argv), parts[0]!.devices)]), namespaceErrors: [] };
    if (parts.length === 0 && namespaces.length <= 1) {
      const namespaceErrors: unknown[] = [];
      if (namespaces.length) await this.removeImplicitNetns(namespaces[0]!).catch((error: unknown) => namespaceErrors.push(error));
      return { outcomes: fill([]), namespaceErrors };
    }
    const removals = namespaces.map((netns) => ["sh", "-c", removeIfImplicitAndEmptyScript(netns)]);
    let results: ExecResult[];
    try {
      results = await this.execBatch(
        [...parts.map((part) => part.argv), ...removals],
        { idempotent: false, inOrder: true },
        `${parts.length} grouped deletes and ${removals.length} namespace removals (one command)`,
      );
    } catch (error) {
      if (!(error instanceof RemoteCommandError)) throw error;
      // No whole answer: which devices and namespaces went is unknown. Every device is then
      // "failed", and a caller deletes each on its own, which removes its namespaces too.
      return { outcomes: fill(parts.map((part) => this.deleteOutcomes(part.netns, error, part.devices))), namespaceErrors: parts.length ? [] : [error] };
    }
    return {
      outcomes: fill(parts.map((part, i) => this.deleteOutcomes(part.netns, results[i]!, part.devices))),
      namespaceErrors: namespaces.flatMap((netns, i) => this.implicitNetnsFailure(netns, results[parts.length + i]!) ?? []),
    };
  }

  private deleteArgv(netns: string | undefined, script: string): string[] {
    return netns ? ["ip", "netns", "exec", netns, "sh", "-c", script] : ["sh", "-c", script];
  }

  /** The result of a delete script's exec, or the transport error that left it unanswered. */
  private async execDelete(argv: string[]): Promise<ExecResult | RemoteCommandError> {
    try {
      return await sshPool().exec(this.connection, argv);
    } catch (error) {
      if (!(error instanceof RemoteCommandError)) throw error;
      return error;
    }
  }

  /** Runs a grouped-delete.ts script in the namespace; one outcome per device, in order. */
  private async runDeleteScript(netns: string | undefined, script: string, devices: Array<{ name: string; device: string }>): Promise<OwnedDeletion[]> {
    return this.deleteOutcomes(netns, await this.execDelete(this.deleteArgv(netns, script)), devices);
  }

  /** What a grouped-delete.ts script's answer (or its transport error) says of each device, in order. */
  private deleteOutcomes(
    netns: string | undefined,
    answer: ExecResult | RemoteCommandError,
    devices: ReadonlyArray<{ name: string; device: string }>,
  ): OwnedDeletion[] {
    const grouped = devices.length > 1;
    const own = (name: string) => quoteArgv(this.argv({ tool: "ip", netns, args: ["link", "del", "dev", name] }));
    if (answer instanceof RemoteCommandError) {
      // No answer: which devices went is unknown; each error names its own device's delete.
      return devices.map(({ name, device }) => {
        const message = naming(answer, `\`${own(name)}\`${grouped ? ` (deleted in a group of ${devices.length})` : ""}`);
        return { outcome: "failed", error: new StepError("delete", this.endpoint, message, `${device}: ${message}`) };
      });
    }
    const result = answer;
    // The namespace itself is gone: so is every device in it.
    if (netns && result.exitCode !== 0 && isIpError(result.stderr, "namespace-missing") && !result.stdout.trim())
      return devices.map(() => ({ outcome: "absent" }));
    return groupDeleteOutcomes(result.stdout, devices.length).map((outcome, i): OwnedDeletion => {
      const { name, device } = devices[i]!;
      if (outcome === undefined) {
        const why = result.stderr.trim() || `exit ${result.exitCode}`;
        return {
          outcome: "failed",
          error: new StepError(
            "delete",
            this.endpoint,
            why,
            `${device}: delete failed: \`${own(name)}\`${grouped ? ` (in a group of ${devices.length})` : ""} did not report back: ${why}`,
          ),
        };
      }
      if (outcome.outcome !== "failed") return outcome;
      return {
        outcome: "failed",
        error: new StepError("delete", this.endpoint, outcome.stderr, `${device}: delete failed: \`${own(name)}\`: ${outcome.stderr || "no error text"}`),
      };
    });
  }

  /** The link named `name` in `netns` (undefined: the host's own namespace), or undefined if absent. */
  async readLink(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    const result = await this.exec({ ...linkReadCommand(netns, name), idempotent: true });
    if (result.exitCode !== 0) {
      if (linkAbsent(result.stderr, netns)) return undefined;
      throw new RemoteCommandError(
        this.endpoint,
        this.argv({ tool: "ip", netns, args: ["addr", "show", "dev", name] }).join(" "),
        result.exitCode,
        result.stderr,
      );
    }
    return linkNamed(result.stdout, name);
  }

  /**
   * readLink for a refresh: answered from one dump of the whole namespace that every device
   * refreshed at about the same time shares (see sharedRead), so N devices cost one round trip.
   */
  async readLinkShared(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    const argv = this.argv({ tool: "ip", netns, args: ["-json", "-details", "addr", "show"] });
    let result: ExecResult;
    try {
      result = await sharedRead(sshPool(), this.connection, argv);
    } catch (error) {
      // A namespace too large to dump within the output cap: read the device alone.
      if (error instanceof RemoteCommandError && error.cause.kind === "overflow") return this.readLink(netns, name);
      throw error;
    }
    if (result.exitCode !== 0) {
      if (netns && isIpError(result.stderr, "namespace-missing")) return undefined;
      throw new RemoteCommandError(this.endpoint, quoteArgv(argv), result.exitCode, result.stderr);
    }
    let byName = parsedDumps.get(result);
    if (!byName) parsedDumps.set(result, (byName = new Map(parseLinks(result.stdout || "[]").map((link) => [link.ifname, link]))));
    return byName.get(name);
  }

  /**
   * A read-only command's stdout, shared by every caller that asks for it at about the same
   * time on this host (see sharedRead): refresh of N resources pays one round trip for it.
   */
  async readShared(argv: readonly string[]): Promise<string> {
    const result = await sharedRead(sshPool(), this.connection, argv);
    if (result.exitCode !== 0) throw new RemoteCommandError(this.endpoint, quoteArgv(argv), result.exitCode, result.stderr);
    return result.stdout;
  }

  /**
   * The parent (lower) device's name. A macvlan/ipvlan/vlan moved into a namespace keeps its
   * parent in the host's namespace; `ip` then reports only the parent's ifindex.
   */
  async parentOf(link: LinkState): Promise<string | undefined> {
    if (link.link !== undefined || link.linkIndex === undefined) return link.link;
    const links = parseLinks(await this.read({ tool: "ip", args: ["-json", "link", "show"] }));
    return links.find((l) => l.ifindex === link.linkIndex)?.ifname;
  }

  /**
   * Removes a namespace this provider made implicitly once it holds nothing but lo, in one
   * script under the namespace's host-side lock (namespace-lock.ts), so a create in it that
   * overlaps either happens before the check (and the namespace stays) or after the removal
   * (and makes it again).
   */
  async removeImplicitNetns(netns: string): Promise<void> {
    const failure = this.implicitNetnsFailure(netns, await sshPool().exec(this.connection, ["sh", "-c", removeIfImplicitAndEmptyScript(netns)]));
    if (failure) throw failure;
  }

  /** The error a removeIfImplicitAndEmptyScript's answer reports, if any. */
  private implicitNetnsFailure(netns: string, result: ExecResult): StepError | undefined {
    if (result.exitCode === 0) return undefined;
    const failure = namespaceFailure(result.stderr);
    const stderr = failure ?? (result.stderr.trim() || `exit ${result.exitCode}`);
    return new StepError(
      "netns",
      this.endpoint,
      stderr,
      failure ? `namespace ${failure} (on ${this.endpoint})` : `removing namespace ${netns} on ${this.endpoint} failed: ${stderr}`,
    );
  }

  /**
   * Deletes a namespace a NetworkNamespace resource owns, in one script under the namespace's
   * host-side lock that checks again that lo carries `tag` and (unless `force`) that nothing
   * else is in it: "changed" when that no longer holds (nothing deleted), "deleted" when it is
   * gone (already, or now).
   */
  async deleteNamespaceIfStill(netns: string, tag: string, force: boolean, where: string): Promise<"deleted" | "changed"> {
    const result = await sshPool().exec(this.connection, ["sh", "-c", deleteIfStillScript(netns, tag, force)]);
    if (result.exitCode === 0) return "deleted";
    if (result.exitCode === 3 && result.stderr.includes(NAMESPACE_CHANGED)) return "changed";
    const failure = namespaceFailure(result.stderr);
    const stderr = failure ?? (result.stderr.trim() || `exit ${result.exitCode}`);
    throw new StepError("name", this.endpoint, stderr, `${where}: delete failed: ${failure ? `namespace ${failure}` : stderr}`);
  }
}

/** The message of a namespace-lock.ts script's failure, if that is how it failed. */
/** The hosts a resource's connection names, reached over SSH: every engine's default. */
export const sshHosts: HostFactory = (connection) => new HostShell(connection);

function namespaceFailure(stderr: string): string | undefined {
  const at = stderr.lastIndexOf(NAMESPACE_FAILED);
  return at < 0 ? undefined : stderr.slice(at + NAMESPACE_FAILED.length).trim();
}
