import { RemoteCommandError } from "../ssh/errors";
import type { ExecResult } from "../ssh/pool";
import { quoteArgv } from "../ssh/quote";
import { parseRemoteJson } from "../ssh/scrub";
import type { GroupedDevice } from "./grouped-delete";
import type { Command, Host, OwnedDeletion, ReadCommand } from "./host-interface";
import { isIpError, linkAbsent } from "./ip-errors";
import { type LinkState, linkNamed, parseLinks } from "./iplink";
import type { Step } from "./steps";
import { stepArgv } from "./steps";

/**
 * A host as it was read at one moment, for reading many devices with ONE round trip: every
 * namespace's links from one dump each, and the kinds' own reads (a veth's peer sysctl, a
 * VTEP's FDB, a tun's owner) answered from results fetched in the same batch. Whatever it does
 * not hold is asked of the real host, and every change goes to it.
 *
 * Which reads a kind will make is learnt by running its `read` once against a recording
 * snapshot (`recording`), which answers every read with an empty result and a link of the
 * asked name, and notes the commands and namespaces asked for; those, with the namespaces'
 * dumps, are then fetched in one batch (snapshotOf). A kind whose reads depend on what the
 * host answers still gets right answers: a read not recorded goes to the host.
 *
 * A recording in "links" mode notes each link asked for as its own read (linkReadCommand)
 * instead of its namespace's dump: what one device's create reads back, where a namespace may
 * hold thousands of devices that are not its.
 */
export class HostSnapshot implements Host {
  /** Reads the recording pass was asked for, by key. */
  readonly wanted = new Map<string, ReadCommand>();
  /** Namespaces whose links the recording pass was asked for ("" for the host's own). */
  readonly wantedNamespaces = new Set<string>();

  constructor(
    readonly host: Host,
    /** Each dumped namespace's links by name; null: the namespace does not exist. */
    private readonly links: ReadonlyMap<string, ReadonlyMap<string, LinkState> | null>,
    private readonly answers: ReadonlyMap<string, ExecResult>,
    private readonly recording: false | "namespaces" | "links" = false,
  ) {}

  get endpoint(): string {
    return this.host.endpoint;
  }

  /** The links of a namespace as dumped, or undefined when it was not dumped. */
  namespace(netns: string | undefined): ReadonlyMap<string, LinkState> | null | undefined {
    return this.links.get(netns ?? "");
  }

  private answer(command: Omit<Command, "idempotent">): ExecResult | undefined {
    if (command.stdin !== undefined) return undefined;
    const key = readKey(command);
    const known = this.answers.get(key);
    if (known || !this.recording) return known;
    this.wanted.set(key, { tool: command.tool, netns: command.netns, args: command.args });
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  async exec(command: Command): Promise<ExecResult> {
    return (command.idempotent ? this.answer(command) : undefined) ?? this.host.exec(command);
  }

  async run(command: Command): Promise<string> {
    const known = command.idempotent ? this.answer(command) : undefined;
    if (!known) return this.host.run(command);
    if (known.exitCode !== 0) throw new RemoteCommandError(this.endpoint, quoteArgv(stepArgv(command)), known.exitCode, known.stderr);
    return known.stdout;
  }

  read(step: Omit<Command, "idempotent">): Promise<string> {
    return this.run({ ...step, idempotent: true });
  }

  async readJson<T>(step: Omit<Command, "idempotent">, what = quoteArgv(stepArgv(step))): Promise<T> {
    return parseRemoteJson<T>((await this.read(step)).trim() || "[]", what);
  }

  async readLink(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    const links = this.namespace(netns);
    if (links !== undefined) return links?.get(name);
    if (this.recording === "namespaces") this.wantedNamespaces.add(netns ?? "");
    if (this.recording === "links") this.answer(linkReadCommand(netns, name));
    if (this.recording) return placeholderLink(name);
    const read = this.answers.get(readKey(linkReadCommand(netns, name)));
    if (read?.exitCode === 0) return linkNamed(read.stdout, name);
    // As Host.readLink answers: no such device, or no such namespace.
    if (read && linkAbsent(read.stderr, netns)) return undefined;
    return this.host.readLink(netns, name);
  }

  readLinkShared(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    return this.readLink(netns, name);
  }

  async readShared(argv: readonly string[]): Promise<string> {
    return this.host.readShared(argv);
  }

  /** A parent in the host's namespace is found in its dump, when there is one. */
  async parentOf(link: LinkState): Promise<string | undefined> {
    if (link.link !== undefined || link.linkIndex === undefined) return link.link;
    const root = this.namespace(undefined);
    if (root) return [...root.values()].find((l) => l.ifindex === link.linkIndex)?.ifname;
    return this.recording ? undefined : this.host.parentOf(link);
  }

  apply(step: Step, device: string): Promise<void> {
    return this.host.apply(step, device);
  }

  applyAll(steps: Step[], device: string, thenRead?: Omit<Step, "field">, namespaces?: readonly string[]): Promise<string> {
    return this.host.applyAll(steps, device, thenRead, namespaces);
  }

  applyAllThenRead(steps: Step[], device: string, reads: ReadonlyArray<ReadCommand>, namespaces?: readonly string[]): Promise<Array<string | undefined>> {
    return this.host.applyAllThenRead(steps, device, reads, namespaces);
  }

  deleteOwned(netns: string | undefined, name: string, token: string, device: string): Promise<OwnedDeletion> {
    return this.host.deleteOwned(netns, name, token, device);
  }

  deleteChecked(netns: string | undefined, expected: GroupedDevice, device: string): Promise<OwnedDeletion> {
    return this.host.deleteChecked(netns, expected, device);
  }

  deleteAllChecked(netns: string | undefined, expected: readonly GroupedDevice[], devices: readonly string[]): Promise<OwnedDeletion[]> {
    return this.host.deleteAllChecked(netns, expected, devices);
  }

  readAll(commands: ReadonlyArray<ReadCommand>): Promise<ExecResult[]> {
    return this.host.readAll(commands);
  }

  deleteAllThenRemoveNamespaces(
    groups: ReadonlyArray<{ netns: string | undefined; expected: readonly GroupedDevice[]; devices: readonly string[] }>,
    namespaces: readonly string[],
  ): Promise<{ outcomes: OwnedDeletion[][]; namespaceErrors: unknown[] }> {
    return this.host.deleteAllThenRemoveNamespaces(groups, namespaces);
  }

  removeImplicitNetns(netns: string): Promise<void> {
    return this.host.removeImplicitNetns(netns);
  }

  deleteNamespaceIfStill(netns: string, tag: string, force: boolean, where: string): Promise<"deleted" | "changed"> {
    return this.host.deleteNamespaceIfStill(netns, tag, force, where);
  }
}

/** How a snapshot keys a read: its argv. */
export function readKey(command: ReadCommand): string {
  return JSON.stringify(stepArgv(command));
}

/** What a recording snapshot answers for a link: present, with its name and nothing else known. */
export function placeholderLink(name: string, infoKind?: string): LinkState {
  return { ifname: name, ifindex: 0, mtu: 0, address: "", operstate: "UNKNOWN", up: false, infoKind, infoData: {}, addresses: [] };
}

/** The command that reads one link with its details and addresses (Host.readLink's). */
export function linkReadCommand(netns: string | undefined, name: string): ReadCommand {
  return { tool: "ip", netns, args: ["-json", "-details", "addr", "show", "dev", name] };
}

/** The command that dumps a namespace's links with their details and addresses. */
export function dumpCommand(netns: string | undefined): ReadCommand {
  return { tool: "ip", netns, args: ["-json", "-details", "addr", "show"] };
}

/**
 * Whether a read's whole answer is one line, so that a script can return it framed by lines
 * (Host.applyAllThenRead): `ip -json` and `bridge -json` print one line, and so does `sysctl -n`
 * of one key.
 */
export function printsOneLine(read: Pick<Command, "tool" | "args">): boolean {
  if (read.tool === "sysctl") return read.args.length === 2 && read.args[0] === "-n" && !read.args[1]!.startsWith("-");
  return read.args.includes("-json");
}

/**
 * What a snapshot of these namespaces, with what `record` asks of a recording snapshot, reads:
 * the namespaces to dump ("" for the host's own) and the kinds' other reads. Asks nothing of the host.
 */
export async function wantedBy(
  host: Host,
  namespaces: Iterable<string | undefined>,
  record: (recorder: HostSnapshot) => Promise<void>,
  mode: "namespaces" | "links" = "namespaces",
): Promise<{ namespaces: string[]; reads: Array<ReadCommand> }> {
  const recorder = new HostSnapshot(host, new Map(), new Map(), mode);
  await record(recorder);
  return {
    namespaces: [...new Set([...[...namespaces].map((netns) => netns ?? ""), ...recorder.wantedNamespaces])],
    reads: [...recorder.wanted.values()],
  };
}

/**
 * The host read in ONE round trip: the namespaces' dumps and whatever `record` asks of a
 * recording snapshot (a kind's `read` of each device), except what `inHand` holds (stdout by
 * readKey, answered by an earlier command). No round trip at all when everything is in hand.
 */
export async function snapshotOf(
  host: Host,
  namespaces: Iterable<string | undefined>,
  record: (recorder: HostSnapshot) => Promise<void>,
  inHand: ReadonlyMap<string, string> = new Map(),
): Promise<HostSnapshot> {
  const asked = await wantedBy(host, namespaces, record);
  const dumped = new Map(
    asked.namespaces.flatMap((netns) => {
      const json = inHand.get(readKey(dumpCommand(netns || undefined)));
      return json === undefined ? [] : [[netns, json] as const];
    }),
  );
  const wanted = new Set(asked.namespaces.filter((netns) => !dumped.has(netns)));
  const dumps = [...wanted].map((netns) => dumpCommand(netns || undefined));
  const reads = asked.reads.filter((read) => !inHand.has(readKey(read)));
  const results = await host.readAll([...dumps, ...reads]);
  const links = new Map<string, ReadonlyMap<string, LinkState> | null>();
  const byName = (json: string) => new Map(parseLinks(json.trim() || "[]").map((link) => [link.ifname, link]));
  for (const [netns, json] of dumped) links.set(netns, byName(json));
  for (const [i, netns] of [...wanted].entries()) {
    const result = results[i]!;
    if (result.exitCode === 0) links.set(netns, byName(result.stdout));
    else if (netns && isIpError(result.stderr, "namespace-missing")) links.set(netns, null);
    else throw new RemoteCommandError(host.endpoint, quoteArgv(stepArgv(dumps[i]!)), result.exitCode, result.stderr);
  }
  const answers = new Map(reads.map((command, i) => [readKey(command), results[dumps.length + i]!]));
  for (const [key, stdout] of inHand) if (!answers.has(key)) answers.set(key, { stdout, stderr: "", exitCode: 0 });
  return new HostSnapshot(host, links, answers);
}
