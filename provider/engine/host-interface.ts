import type { Connection } from "../ssh/connection";
import type { ExecResult } from "../ssh/pool";
import type { GroupedDevice } from "./grouped-delete";
import type { LinkState } from "./iplink";
import type { Step } from "./steps";

/** A command for a host: a fixed tool, its argv, where to run it, and optional stdin. */
export type Command = Omit<Step, "field"> & {
  /** Only reads: the transport may retry it, and it may share a batch with other reads. */
  idempotent?: boolean;
};

/** A read that can share one script with other reads: no stdin of its own, idempotent by nature. */
export type ReadCommand = Omit<Command, "idempotent" | "stdin">;

/** A failed step: says which input it was applying, on which host, and what `ip` answered. */
export class StepError extends Error {
  override name = "StepError";
  constructor(
    readonly field: string,
    readonly host: string,
    readonly stderr: string,
    message: string,
    /** Which step of an applyAll failed (undefined: a single step, or not known). */
    readonly stepIndex?: number,
  ) {
    super(message);
  }
}

/** What deleteOwned found. */
export type OwnedDeletion = { outcome: "deleted" | "absent" | "not-ours" } | { outcome: "failed"; error: StepError };

/**
 * Everything an engine, an object or a kind may ask of a host. HostShell answers over SSH
 * (one round trip per call); test/support/fake-host.ts answers from a model of a host's
 * namespaces, links, routes and files, so the engines' decisions are tested without a kernel.
 */
export interface Host {
  /** `user@host:port`: how errors and ids name the host. */
  readonly endpoint: string;
  /** Runs one command; its exit status and output come back whatever they are. */
  exec(command: Command): Promise<ExecResult>;
  /** Runs one command, throwing a RemoteCommandError (with its stderr) unless it exits 0; its stdout. */
  run(command: Command): Promise<string>;
  /** Runs a command that only reads, which the transport may therefore retry. */
  read(step: Omit<Command, "idempotent">): Promise<string>;
  /** Reads a tool's JSON output (`ip -json`, `bridge -json`); `what` names it in a parse error. */
  readJson<T>(step: Omit<Command, "idempotent">, what?: string): Promise<T>;
  /** Runs a step, turning a failure into a StepError that names the input field. */
  apply(step: Step, device: string): Promise<void>;
  /**
   * Runs steps in order as one command, stopping at the first that fails (a StepError with its
   * `stepIndex`); `thenRead`'s stdout is returned. `namespaces`: implicit namespaces the steps
   * create devices in, made when missing and held against removal throughout.
   */
  applyAll(steps: Step[], device: string, thenRead?: Omit<Step, "field">, namespaces?: readonly string[]): Promise<string>;
  /**
   * applyAll, then in the same command each of `reads`, which must print its answer as one line
   * (`ip -json`, `bridge -json`: a newline inside a name or alias is escaped): each one's
   * stdout, in order, or undefined where it failed (a namespace that is not there), which the
   * caller asks again on its own.
   */
  applyAllThenRead(steps: Step[], device: string, reads: ReadonlyArray<ReadCommand>, namespaces?: readonly string[]): Promise<Array<string | undefined>>;
  /** Deletes the device if its alias carries this owner token; anything else is reported, not touched. */
  deleteOwned(netns: string | undefined, name: string, token: string, device: string): Promise<OwnedDeletion>;
  /** Deletes the device if it is still as checked: its tag (undefined: none at all) and, with `ifindex`, that very device. */
  deleteChecked(netns: string | undefined, expected: GroupedDevice, device: string): Promise<OwnedDeletion>;
  /** deleteChecked for many devices of one namespace in ONE round trip (grouped-delete.ts); an outcome per device, in order. */
  deleteAllChecked(netns: string | undefined, expected: readonly GroupedDevice[], devices: readonly string[]): Promise<OwnedDeletion[]>;
  /**
   * deleteAllChecked for each group (a namespace's devices), then removeImplicitNetns for each of
   * `namespaces`, in that order, in ONE round trip: an outcome per device of each group, and the
   * namespaces' failures (none reported when the command got no answer and devices were in it:
   * each device's outcome is then "failed", and deleting it on its own removes its namespaces).
   */
  deleteAllThenRemoveNamespaces(
    groups: ReadonlyArray<{ netns: string | undefined; expected: readonly GroupedDevice[]; devices: readonly string[] }>,
    namespaces: readonly string[],
  ): Promise<{ outcomes: OwnedDeletion[][]; namespaceErrors: unknown[] }>;
  /** Commands that only read, run together in ONE round trip (ssh/batch.ts): each one's result, in order, whatever its exit status. */
  readAll(commands: ReadonlyArray<ReadCommand>): Promise<ExecResult[]>;
  /** The link named `name` in `netns` (undefined: the host's own namespace), or undefined if absent. */
  readLink(netns: string | undefined, name: string): Promise<LinkState | undefined>;
  /** readLink for a refresh, answered from one dump of the namespace that overlapping refreshes share. */
  readLinkShared(netns: string | undefined, name: string): Promise<LinkState | undefined>;
  /** A read-only command's stdout, shared by every caller that asks for it at about the same time. */
  readShared(argv: readonly string[]): Promise<string>;
  /** The parent (lower) device's name of a macvlan/ipvlan/vlan, wherever the parent lives. */
  parentOf(link: LinkState): Promise<string | undefined>;
  /** Removes a namespace this provider made implicitly once it holds nothing but lo. */
  removeImplicitNetns(netns: string): Promise<void>;
  /** Deletes a namespace a NetworkNamespace resource owns if lo still carries `tag` and (unless `force`) nothing else is in it. */
  deleteNamespaceIfStill(netns: string, tag: string, force: boolean, where: string): Promise<"deleted" | "changed">;
}

/** How an engine reaches the host a resource's connection names. */
export type HostFactory = (connection: Connection) => Host;
