import { createHash } from "node:crypto";
import type { Connection } from "../../provider/ssh/connection";
import { RemoteCommandError } from "../../provider/ssh/errors";
import type { ExecResult } from "../../provider/ssh/pool";
import { quoteArgv } from "../../provider/ssh/quote";
import type { GroupedDevice } from "../../provider/engine/grouped-delete";
import { type Command, type Host, type OwnedDeletion, type ReadCommand, StepError } from "../../provider/engine/host-interface";
import { type LinkState, parseLinks } from "../../provider/engine/iplink";
import { type Step, stepArgv } from "../../provider/engine/steps";
import { IMPLICIT_NAMESPACE_MARK, OWNER_PREFIX, ownerTag } from "../../provider/engine/ownership";
import { FINGERPRINT_ARGV } from "../../provider/persist/files";
import { wireguardPublicKey } from "../../provider/kinds/wireguard/wireguard";

/**
 * A host for the unit tier: a model of its namespaces, links, addresses, routes and persisted
 * files, answering what the engines ask (Host) by interpreting the argv they would run, with
 * iproute2's error texts where the engines tell errors apart (ip-errors.ts). Tests script it
 * (links left by a crashed `up`, another owner's devices, a step that fails) and assert on its
 * state afterwards. What only a kernel or sshd can answer stays in the lab tier.
 */
export interface FakeLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  up: boolean;
  master?: string;
  ifalias?: string;
  /** The parent's name (macvlan, vlan). */
  link?: string;
  kind?: string;
  infoData: Record<string, unknown>;
  addresses: string[];
  /** A veth's other end. */
  peer?: { netns: string; name: string };
  /** A VTEP's FDB entries (`bridge fdb`), e.g. its all-zero flood entries. */
  fdb?: Array<{ mac: string; dst: string }>;
  /** A WireGuard interface's peers (`wg set`/`wg show`), by public key. */
  wgPeers?: Array<{ publicKey: string; endpoint?: string; allowedIps: string[]; persistentKeepalive?: number }>;
  /** A WireGuard interface's own settings (`wg set … private-key|listen-port|fwmark`). */
  wg?: { privateKey?: string; listenPort?: number; fwmark?: number };
}

export interface FakeRoute {
  dst: string;
  family: 4 | 6;
  gateway?: string;
  dev?: string;
  metric: number;
  protocol: string;
}

interface FakeNamespace {
  links: Map<string, FakeLink>;
  routes: FakeRoute[];
}

type FakeFile = { content: string; mode: string } | { linkTo: string };

/** The host's own namespace, in the model's map of namespaces. */
const ROOT = "";

/** Kinds `ip link add` accepts here; others answer "Unknown device type" as a kernel without the module does. */
const KINDS = ["dummy", "bridge", "bond", "vrf", "veth", "vlan", "macvlan", "macvtap", "ipvlan", "vxlan", "geneve", "gre", "gretap", "wireguard"];

const ok = (stdout = ""): ExecResult => ({ stdout, stderr: "", exitCode: 0 });
/** engine/preflight-probe.ts's script: it asks for ip's version, or tries kinds in a throwaway namespace. */
const PROBE = /^echo "ip \$\(ip -V|^try\(\) \{/m;

const fail = (stderr: string, exitCode = 2): ExecResult => ({ stdout: "", stderr: `${stderr}\n`, exitCode });

export class FakeHost implements Host {
  readonly endpoint: string;
  readonly namespaces = new Map<string, FakeNamespace>([[ROOT, { links: new Map(), routes: [] }]]);
  readonly files = new Map<string, FakeFile>();
  /** Every command run, as its argv would be shown; a fused applyAll logs each of its steps. */
  readonly commands: string[] = [];
  /** Round trips: one per Host call, as HostShell pays them. */
  roundTrips = 0;
  /** What the capability probe's persistence lines (persist/host-probe.ts) find; systemd "" for a host without it. */
  support = { systemd: "systemd 252 (252.39-1~deb12u2)", networkd: "enabled", networkdActive: "active", networkManager: "", manageForeignRoutes: "no" };
  /** NetworkManager profiles loaded from keyfiles (`nmcli connection load`), by path: forgotten when loaded after the file went. */
  nmProfiles = new Set<string>();
  /** Tools the capability probe finds missing from the login's PATH (wg, bridge, sysctl); every other one is there. */
  readonly missingTools = new Set<string>();
  /** The capability probe finds an iproute2 too old for `ip -json` (4.9's: -batch works). */
  oldIproute2 = false;
  /** What `ip netns add` of the probe's throwaway namespace answers when it fails; undefined: it works. */
  netnsRefusal: string | undefined;
  /** Kernel kinds the capability probe (engine/preflight-probe.ts) finds missing; every other kind it tries is there. */
  readonly missingKinds = new Set<string>();
  private nextIfindex = 2;
  private readonly failures: Array<{ match: (command: string) => boolean; stderr: string; times: number }> = [];

  constructor(connection?: Pick<Connection, "user" | "host" | "port">) {
    this.endpoint = connection ? `${connection.user}@${connection.host}:${connection.port}` : "root@fake:22";
    this.namespaces.get(ROOT)!.links.set("lo", this.newLink("lo", { ifindex: 1, up: true, mtu: 65536 }));
  }

  // ---- scripting ----

  /** The next `times` commands whose shown argv matches fail with `stderr` (exit 2), as a host would refuse them. */
  failOn(match: RegExp | string, stderr = "RTNETLINK answers: Operation not permitted", times = 1): this {
    const test = typeof match === "string" ? (command: string) => command.includes(match) : (command: string) => match.test(command);
    this.failures.push({ match: test, stderr, times });
    return this;
  }

  /** A namespace, with lo (its alias `loAlias`, up), as `ip netns add` and whoever tagged it left it. */
  addNamespace(name: string, loAlias?: string): this {
    const namespace: FakeNamespace = { links: new Map(), routes: [] };
    namespace.links.set("lo", this.newLink("lo", { ifindex: 1, up: true, mtu: 65536, ifalias: loAlias }));
    this.namespaces.set(name, namespace);
    return this;
  }

  /** A link, as someone (another stack, a crashed `up`, a person) left it. */
  addLink(netns: string | undefined, name: string, kind: string, fields: Partial<Omit<FakeLink, "ifname" | "kind">> = {}): FakeLink {
    const link = this.newLink(name, { kind, ...fields });
    this.ns(netns).links.set(name, link);
    return link;
  }

  addRoute(netns: string | undefined, route: Partial<FakeRoute> & { dst: string }): this {
    this.ns(netns).routes.push({ family: route.dst.includes(":") || route.gateway?.includes(":") ? 6 : 4, metric: 0, protocol: "boot", ...route });
    return this;
  }

  link(netns: string | undefined, name: string): FakeLink | undefined {
    return this.namespaces.get(netns ?? ROOT)?.links.get(name);
  }

  /** Link names in a namespace, lo left out, sorted; undefined when the namespace does not exist. */
  linkNames(netns?: string): string[] | undefined {
    const namespace = this.namespaces.get(netns ?? ROOT);
    return namespace && [...namespace.links.keys()].filter((name) => name !== "lo").sort();
  }

  routes(netns?: string): FakeRoute[] {
    return this.namespaces.get(netns ?? ROOT)?.routes ?? [];
  }

  namespaceNames(): string[] {
    return [...this.namespaces.keys()].filter((name) => name !== ROOT).sort();
  }

  // ---- Host ----

  async exec(command: Command): Promise<ExecResult> {
    this.roundTrips++;
    return this.execArgv(stepArgv(command), command.stdin);
  }

  async run(command: Command): Promise<string> {
    const result = await this.exec(command);
    if (result.exitCode !== 0) throw new RemoteCommandError(this.endpoint, quoteArgv(stepArgv(command)), result.exitCode, result.stderr);
    return result.stdout;
  }

  read(step: Omit<Command, "idempotent">): Promise<string> {
    return this.run({ ...step, idempotent: true });
  }

  async readJson<T>(step: Omit<Command, "idempotent">): Promise<T> {
    return JSON.parse((await this.read(step)).trim() || "[]") as T;
  }

  async apply(step: Step, device: string): Promise<void> {
    const result = await this.exec(step);
    if (result.exitCode !== 0) throw this.stepError(step, device, result);
  }

  async applyAll(steps: Step[], device: string, thenRead?: Omit<Step, "field">, namespaces: readonly string[] = []): Promise<string> {
    if (steps.length === 0) return thenRead ? this.read(thenRead) : "";
    // As HostShell: the one command's stdin can go to one step only.
    const withStdin = steps.filter((step) => step.stdin !== undefined);
    if (withStdin.length > 1) throw new Error(`${device}: at most one step of a fused command may take stdin (${withStdin.map((s) => s.field).join(", ")})`);
    this.roundTrips++;
    for (const netns of namespaces) if (!this.namespaces.has(netns)) this.addNamespace(netns, IMPLICIT_NAMESPACE_MARK);
    for (const [index, step] of steps.entries()) {
      const result = this.execArgv(stepArgv(step), step.stdin);
      if (result.exitCode !== 0) throw this.stepError(step, device, result, index);
    }
    if (!thenRead) return "";
    const result = this.execArgv(stepArgv(thenRead));
    if (result.exitCode !== 0) throw new RemoteCommandError(this.endpoint, quoteArgv(stepArgv(thenRead)), 1, result.stderr);
    return result.stdout;
  }

  async applyAllThenRead(
    steps: Step[],
    device: string,
    reads: ReadonlyArray<ReadCommand>,
    namespaces: readonly string[] = [],
  ): Promise<Array<string | undefined>> {
    // One command, as on a real host, with steps or without.
    if (steps.length) await this.applyAll(steps, device, undefined, namespaces);
    else this.roundTrips++;
    return reads.map((read) => {
      const result = this.execArgv(stepArgv(read));
      return result.exitCode === 0 ? result.stdout : undefined;
    });
  }

  deleteOwned(netns: string | undefined, name: string, token: string, device: string): Promise<OwnedDeletion> {
    return this.deleteChecked(netns, { name, tag: ownerTag(token) }, device);
  }

  async deleteChecked(netns: string | undefined, expected: GroupedDevice, device: string): Promise<OwnedDeletion> {
    this.roundTrips++;
    const command = quoteArgv(stepArgv({ tool: "ip", netns, args: ["link", "del", "dev", expected.name] }));
    this.commands.push(command);
    const failure = this.scriptedFailure(command);
    if (failure) return { outcome: "failed", error: new StepError("delete", this.endpoint, failure, `${device}: delete failed: \`${command}\`: ${failure}`) };
    const link = this.namespaces.get(netns ?? ROOT)?.links.get(expected.name);
    if (!link) return { outcome: "absent" };
    const alias = link.ifalias ?? "";
    const tagged = expected.tag === undefined ? !alias.startsWith(OWNER_PREFIX) : alias === expected.tag || alias.startsWith(`${expected.tag} `);
    if (!tagged || (expected.ifindex !== undefined && expected.ifindex !== link.ifindex)) return { outcome: "not-ours" };
    this.removeLink(netns ?? ROOT, expected.name);
    return { outcome: "deleted" };
  }

  async deleteAllChecked(netns: string | undefined, expected: readonly GroupedDevice[], devices: readonly string[]): Promise<OwnedDeletion[]> {
    if (expected.length === 0) return [];
    const outcomes: OwnedDeletion[] = [];
    for (const [i, device] of expected.entries()) outcomes.push(await this.deleteChecked(netns, device, devices[i]!));
    // One script on the host, however many devices.
    this.roundTrips -= expected.length - 1;
    return outcomes;
  }

  async deleteAllThenRemoveNamespaces(
    groups: ReadonlyArray<{ netns: string | undefined; expected: readonly GroupedDevice[]; devices: readonly string[] }>,
    namespaces: readonly string[],
  ): Promise<{ outcomes: OwnedDeletion[][]; namespaceErrors: unknown[] }> {
    const before = this.roundTrips;
    const outcomes: OwnedDeletion[][] = [];
    for (const group of groups) outcomes.push(await this.deleteAllChecked(group.netns, group.expected, group.devices));
    const namespaceErrors: unknown[] = [];
    for (const netns of namespaces) await this.removeImplicitNetns(netns).catch((error: unknown) => namespaceErrors.push(error));
    // One command on the host, as HostShell sends it.
    this.roundTrips = before + (this.roundTrips > before ? 1 : 0);
    return { outcomes, namespaceErrors };
  }

  async readAll(commands: ReadonlyArray<ReadCommand>): Promise<ExecResult[]> {
    if (commands.length === 0) return [];
    this.roundTrips++;
    return commands.map((command) => this.execArgv(stepArgv(command)));
  }

  async readLink(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    this.roundTrips++;
    const link = this.namespaces.get(netns ?? ROOT)?.links.get(name);
    return link && parseLinks(JSON.stringify([this.raw(link)]))[0];
  }

  readLinkShared(netns: string | undefined, name: string): Promise<LinkState | undefined> {
    return this.readLink(netns, name);
  }

  async readShared(argv: readonly string[]): Promise<string> {
    this.roundTrips++;
    const result = this.execArgv([...argv]);
    if (result.exitCode !== 0) throw new RemoteCommandError(this.endpoint, quoteArgv([...argv]), result.exitCode, result.stderr);
    return result.stdout;
  }

  async parentOf(link: LinkState): Promise<string | undefined> {
    if (link.link !== undefined || link.linkIndex === undefined) return link.link;
    this.roundTrips++;
    return [...this.ns(undefined).links.values()].find((l) => l.ifindex === link.linkIndex)?.ifname;
  }

  async removeImplicitNetns(netns: string): Promise<void> {
    this.roundTrips++;
    const namespace = this.namespaces.get(netns);
    if (!namespace) return;
    if (namespace.links.size === 1 && namespace.links.get("lo")?.ifalias === IMPLICIT_NAMESPACE_MARK) this.namespaces.delete(netns);
  }

  async deleteNamespaceIfStill(netns: string, tag: string, force: boolean): Promise<"deleted" | "changed"> {
    this.roundTrips++;
    const namespace = this.namespaces.get(netns);
    if (!namespace) return "deleted";
    if (namespace.links.get("lo")?.ifalias !== tag || (!force && namespace.links.size > 1)) return "changed";
    this.deleteNamespace(netns);
    return "deleted";
  }

  // ---- the commands ----

  private stepError(step: Step, device: string, result: ExecResult, index?: number): StepError {
    const stderr = result.stderr.trim();
    const what = step.field === "create" ? "create" : `setting ${step.field}`;
    return new StepError(step.field, this.endpoint, stderr, `${device}: ${what} failed: \`${quoteArgv(stepArgv(step))}\`: ${stderr}`, index);
  }

  private scriptedFailure(command: string): string | undefined {
    const failure = this.failures.find((f) => f.times > 0 && f.match(command));
    if (!failure) return undefined;
    failure.times--;
    return failure.stderr;
  }

  private execArgv(argv: string[], stdin?: string): ExecResult {
    const command = quoteArgv(argv);
    this.commands.push(command);
    // The capability probe answers from missingKinds alone (failOn patterns such as "type dummy" are meant for the create).
    if (argv[0] === "sh" && argv[2] !== undefined && PROBE.test(argv[2])) return this.capabilityProbe(argv[2]);
    const failure = this.scriptedFailure(command);
    if (failure !== undefined) return fail(failure);
    let netns: string | undefined;
    let rest = argv;
    if (rest[0] === "ip" && rest[1] === "netns" && rest[2] === "exec") [netns, rest] = [rest[3], rest.slice(4)];
    else if ((rest[0] === "ip" || rest[0] === "bridge") && rest[1] === "-n") [netns, rest] = [rest[2], [rest[0], ...rest.slice(3)]];
    if (netns !== undefined && !this.namespaces.has(netns)) return fail(`Cannot open network namespace "${netns}": No such file or directory`, 1);
    switch (rest[0]) {
      case "ip":
        return this.ip(netns ?? ROOT, rest.slice(1));
      case "bridge":
        return this.bridge(netns ?? ROOT, rest.slice(1));
      case "wg":
        return this.wg(netns ?? ROOT, rest.slice(1), stdin);
      case "sh":
        return this.sh(rest.slice(1), stdin);
      case "sysctl":
        return this.sysctl(netns ?? ROOT, rest.slice(1));
      default:
        return fail(`fake host: ${rest[0]} is not modelled`, 127);
    }
  }

  /** Values written by `sysctl -w key=value`, per namespace and key; a key never written reads 0. */
  private readonly sysctls = new Map<string, string>();

  private sysctl(netns: string, args: string[]): ExecResult {
    if (args.includes("-w")) {
      for (const arg of args.filter((a) => a.includes("="))) {
        const at = arg.indexOf("=");
        this.sysctls.set(`${netns}\0${arg.slice(0, at)}`, arg.slice(at + 1));
      }
      return ok();
    }
    const key = args.find((a) => !a.startsWith("-"));
    return ok(`${(key && this.sysctls.get(`${netns}\0${key}`)) ?? "0"}\n`);
  }

  private ip(netns: string, args: string[]): ExecResult {
    const flags = new Set<string>();
    while (args[0]?.startsWith("-")) flags.add(args.shift()!);
    const [object, verb, ...rest] = args;
    if (object === "netns") return this.netnsCommand(verb, rest);
    if (object === "link") return this.linkCommand(netns, verb, rest);
    if (object === "addr" || object === "address") return this.addrCommand(netns, verb, rest);
    if (object === "route") return this.routeCommand(netns, flags.has("-6") ? 6 : 4, verb, rest);
    return fail(`fake host: ip ${object} is not modelled`, 127);
  }

  /** `bridge [-json] fdb show|append|del <mac> dev <dev> [dst <ip>]`, as the kernel answers a VTEP's entries. */
  private bridge(netns: string, args: string[]): ExecResult {
    const rest = args.filter((arg) => arg !== "-json");
    if (rest[0] !== "fdb") return fail(`fake host: bridge ${rest[0]} is not modelled`, 127);
    const verb = rest[1];
    const named = (key: string) => {
      const at = rest.indexOf(key);
      return at < 0 ? undefined : rest[at + 1];
    };
    const dev = named("dev")!;
    const link = this.ns(netns).links.get(dev);
    if (!link) return fail(`Cannot find device "${dev}"`, 1);
    const fdb = (link.fdb ??= []);
    if (verb === "show") return ok(JSON.stringify(fdb.map((entry) => ({ mac: entry.mac, ifname: dev, dst: entry.dst, flags: ["self"], state: "permanent" }))));
    const mac = rest[2]!;
    const dst = named("dst")!;
    const at = fdb.findIndex((entry) => entry.mac === mac && entry.dst === dst);
    if (verb === "append") {
      // The kernel keeps an existing destination as it is: appending it again succeeds.
      if (at < 0) fdb.push({ mac, dst });
      return ok();
    }
    if (verb === "del") {
      if (at < 0) return fail("RTNETLINK answers: No such file or directory");
      fdb.splice(at, 1);
      return ok();
    }
    return fail(`fake host: bridge fdb ${verb} is not modelled`, 127);
  }

  /**
   * `wg show <dev> endpoints|allowed-ips|persistent-keepalive` and `wg set <dev> [private-key
   * <file>] [listen-port <n>] [fwmark <n>] [peer <key> [remove] [endpoint <e>] [allowed-ips
   * <list>] [persistent-keepalive <n|off>]]…`, as wg answers them for the interface's peers.
   */
  private wg(netns: string, args: string[], stdin?: string): ExecResult {
    const [verb, dev, ...rest] = args;
    const link = this.ns(netns).links.get(dev ?? "");
    if (link?.kind !== "wireguard") return fail(`Unable to ${verb === "set" ? "modify" : "access"} interface: No such device`, 1);
    const peers = (link.wgPeers ??= []);
    const own = (link.wg ??= {});
    if (verb === "show" && rest[0] === "public-key") return ok(`${own.privateKey ? wireguardPublicKey(own.privateKey) : "(none)"}\n`);
    if (verb === "show" && rest[0] === "listen-port") return ok(`${own.listenPort ?? 0}\n`);
    if (verb === "show" && rest[0] === "fwmark") return ok(`${own.fwmark ? `0x${own.fwmark.toString(16)}` : "off"}\n`);
    if (verb === "show") {
      const value = (peer: (typeof peers)[number]) =>
        rest[0] === "endpoints"
          ? (peer.endpoint ?? "(none)")
          : rest[0] === "allowed-ips"
            ? peer.allowedIps.join(" ") || "(none)"
            : rest[0] === "persistent-keepalive"
              ? String(peer.persistentKeepalive ?? "off")
              : undefined;
      if (peers.some((peer) => value(peer) === undefined)) return fail(`fake host: wg show ${rest[0]} is not modelled`, 127);
      return ok(peers.map((peer) => `${peer.publicKey}\t${value(peer)}\n`).join(""));
    }
    if (verb !== "set") return fail(`fake host: wg ${verb} is not modelled`, 127);
    let peer: (typeof peers)[number] | undefined;
    for (let i = 0; i < rest.length; i += 2) {
      const [key, value] = [rest[i]!, rest[i + 1]];
      if (key === "peer") {
        peer = peers.find((p) => p.publicKey === value);
        if (!peer) peers.push((peer = { publicKey: value!, allowedIps: [] }));
      } else if (key === "remove" && peer) {
        peers.splice(peers.indexOf(peer), 1);
        peer = undefined;
        i--;
      } else if (key === "endpoint" && peer) peer.endpoint = value;
      else if (key === "allowed-ips" && peer) peer.allowedIps = value ? value.split(",") : [];
      else if (key === "persistent-keepalive" && peer) peer.persistentKeepalive = value === "off" ? undefined : Number(value);
      else if (key === "private-key" && !peer) own.privateKey = stdin?.trim();
      else if (key === "listen-port" && !peer) own.listenPort = Number(value);
      else if (key === "fwmark" && !peer) own.fwmark = value === "off" ? 0 : Number(value);
      else return fail(`fake host: wg set ${key} is not modelled`, 127);
    }
    peers.sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
    return ok();
  }

  private netnsCommand(verb: string | undefined, rest: string[]): ExecResult {
    const name = rest[0]!;
    switch (verb) {
      case "list":
        return ok(JSON.stringify(this.namespaceNames().map((n) => ({ name: n }))));
      case "add":
        if (this.namespaces.has(name)) return fail(`Cannot create namespace file "/run/netns/${name}": File exists`, 1);
        this.addNamespace(name);
        this.namespaces.get(name)!.links.get("lo")!.up = false;
        return ok();
      case "del":
        if (!this.namespaces.has(name)) return fail(`Cannot remove namespace file "/run/netns/${name}": No such file or directory`, 1);
        this.deleteNamespace(name);
        return ok();
    }
    return fail(`fake host: ip netns ${verb} is not modelled`, 127);
  }

  private linkCommand(netns: string, verb: string | undefined, rest: string[]): ExecResult {
    const links = this.ns(netns).links;
    switch (verb) {
      case "add":
        return this.linkAdd(netns, rest);
      case "set": {
        const name = rest[0] === "dev" ? rest[1]! : rest[0]!;
        const link = links.get(name);
        if (!link) return fail(`Cannot find device "${name}"`, 1);
        return this.linkSet(netns, link, rest.slice(rest[0] === "dev" ? 2 : 1));
      }
      case "del": {
        const name = rest[0] === "dev" ? rest[1]! : rest[0]!;
        if (!links.has(name)) return fail(`Cannot find device "${name}"`, 1);
        this.removeLink(netns, name);
        return ok();
      }
      case "show":
        return this.show(netns, rest);
    }
    return fail(`fake host: ip link ${verb} is not modelled`, 127);
  }

  private linkAdd(netns: string, args: string[]): ExecResult {
    const settings: Record<string, string> = {};
    let i = 0;
    for (; i < args.length && args[i] !== "type"; i += 2) settings[args[i]!] = args[i + 1]!;
    const kind = args[i + 1];
    if (!kind || !KINDS.includes(kind)) return fail("Error: Unknown device type.");
    const into = settings.netns ?? netns;
    if (!this.namespaces.has(into)) return fail(`Cannot open network namespace "${into}": No such file or directory`, 1);
    const name = settings.name!;
    if (this.ns(into).links.has(name)) return fail("RTNETLINK answers: File exists");
    if (settings.link && !this.ns(netns).links.has(settings.link)) return fail(`Cannot find device "${settings.link}"`, 1);
    if (settings.master && !this.ns(into).links.has(settings.master)) return fail(`Error: argument "${settings.master}" is wrong: Device does not exist`, 1);
    const infoData: Record<string, unknown> = {};
    const extra = args.slice(i + 2);
    let peer: { name: string; netns: string } | undefined;
    for (let j = 0; j < extra.length; j += 2) {
      if (kind === "veth" && extra[j] === "peer") {
        const peerSettings: Record<string, string> = {};
        for (let k = j + 1; k < extra.length; k += 2) peerSettings[extra[k]!] = extra[k + 1]!;
        peer = { name: peerSettings.name!, netns: peerSettings.netns ?? netns };
        if (!this.namespaces.has(peer.netns)) return fail(`Cannot open network namespace "${peer.netns}": No such file or directory`, 1);
        if (this.ns(peer.netns).links.has(peer.name)) return fail("RTNETLINK answers: File exists");
        break;
      }
      infoData[extra[j]!] = /^\d+$/.test(extra[j + 1] ?? "") ? Number(extra[j + 1]) : extra[j + 1];
    }
    const link = this.newLink(name, {
      kind,
      infoData,
      mtu: settings.mtu ? Number(settings.mtu) : undefined,
      address: settings.address,
      link: settings.link,
      master: settings.master,
    });
    this.ns(into).links.set(name, link);
    if (peer) {
      link.peer = peer;
      this.ns(peer.netns).links.set(peer.name, this.newLink(peer.name, { kind: "veth", peer: { name, netns: into } }));
    }
    return ok();
  }

  private linkSet(netns: string, link: FakeLink, args: string[]): ExecResult {
    const links = this.ns(netns).links;
    for (let i = 0; i < args.length; i++) {
      const value = args[i + 1];
      switch (args[i]) {
        case "up":
        case "down":
          link.up = args[i] === "up";
          continue;
        case "nomaster":
          link.master = undefined;
          continue;
        case "alias":
          link.ifalias = value || undefined;
          break;
        case "master":
          if (!links.has(value!)) return fail(`Error: argument "${value}" is wrong: Device does not exist`, 1);
          link.master = value;
          break;
        case "mtu":
          link.mtu = Number(value);
          break;
        case "address":
          link.address = value!.toLowerCase();
          break;
        case "name":
          if (links.has(value!)) return fail("RTNETLINK answers: File exists");
          links.delete(link.ifname);
          link.ifname = value!;
          links.set(value!, link);
          break;
        case "netns":
          if (!this.namespaces.has(value!)) return fail(`Cannot open network namespace "${value}": No such file or directory`, 1);
          if (this.ns(value).links.has(link.ifname)) return fail("RTNETLINK answers: File exists");
          links.delete(link.ifname);
          this.ns(value).links.set(link.ifname, link);
          break;
        case "type":
          for (let j = i + 2; j < args.length; j += 2) link.infoData[args[j]!] = /^\d+$/.test(args[j + 1] ?? "") ? Number(args[j + 1]) : args[j + 1];
          return ok();
        default:
          return fail(`fake host: ip link set ${args[i]} is not modelled`, 127);
      }
      i++;
    }
    return ok();
  }

  private show(netns: string, args: string[]): ExecResult {
    let links = [...this.ns(netns).links.values()];
    for (let i = 0; i < args.length; i += 2) {
      const value = args[i + 1];
      if (args[i] === "dev") {
        links = links.filter((l) => l.ifname === value);
        if (links.length === 0) return fail(`Device "${value}" does not exist.`, 1);
      } else if (args[i] === "master") links = links.filter((l) => l.master === value);
      else if (args[i] === "type") links = links.filter((l) => l.kind === value);
    }
    return ok(JSON.stringify(links.map((l) => this.raw(l))));
  }

  private addrCommand(netns: string, verb: string | undefined, rest: string[]): ExecResult {
    if (verb === "show") return this.show(netns, rest);
    const [address, , dev] = rest;
    const link = this.ns(netns).links.get(dev!);
    if (!link) return fail(`Cannot find device "${dev}"`, 1);
    if (verb === "add") {
      if (link.addresses.includes(address!)) return fail("RTNETLINK answers: File exists");
      link.addresses.push(address!);
      return ok();
    }
    if (verb === "del") {
      if (!link.addresses.includes(address!)) return fail("RTNETLINK answers: Cannot assign requested address");
      link.addresses = link.addresses.filter((a) => a !== address);
      return ok();
    }
    return fail(`fake host: ip addr ${verb} is not modelled`, 127);
  }

  private routeCommand(netns: string, family: 4 | 6, verb: string | undefined, rest: string[]): ExecResult {
    const routes = this.ns(netns).routes;
    if (verb === "show") {
      const exact = rest[rest.indexOf("exact") + 1];
      const dst = exact === "0.0.0.0/0" || exact === "::/0" ? "default" : exact;
      const shown = routes
        .filter((r) => r.family === family && r.dst === dst)
        .map((r) => ({
          dst: r.dst,
          ...(r.gateway ? { gateway: r.gateway } : {}),
          ...(r.dev ? { dev: r.dev } : {}),
          ...(r.metric ? { metric: r.metric } : {}),
          ...(r.protocol !== "boot" ? { protocol: r.protocol } : {}),
        }));
      return ok(JSON.stringify(shown));
    }
    const spec: Partial<FakeRoute> & { dst: string } = { dst: rest[0]!, family };
    for (let i = 1; i < rest.length; i += 2) {
      const value = rest[i + 1]!;
      if (rest[i] === "via") spec.gateway = value;
      else if (rest[i] === "dev") spec.dev = value;
      else if (rest[i] === "metric") spec.metric = Number(value);
      else if (rest[i] === "proto") spec.protocol = value;
    }
    if (spec.dev && !this.ns(netns).links.has(spec.dev)) return fail(`Cannot find device "${spec.dev}"`, 1);
    if (verb === "add" || verb === "replace") {
      const same = routes.findIndex((r) => r.family === family && r.dst === spec.dst && r.metric === (spec.metric ?? 0));
      if (same >= 0 && verb === "add") return fail("RTNETLINK answers: File exists");
      if (same >= 0) routes.splice(same, 1);
      routes.push({ metric: 0, protocol: "boot", ...spec, family });
      return ok();
    }
    if (verb === "del") {
      const at = routes.findIndex(
        (r) =>
          r.family === family &&
          r.dst === spec.dst &&
          (spec.gateway === undefined || r.gateway === spec.gateway) &&
          (spec.dev === undefined || r.dev === spec.dev) &&
          (spec.metric === undefined || r.metric === spec.metric) &&
          (spec.protocol === undefined || r.protocol === spec.protocol),
      );
      if (at < 0) return fail("RTNETLINK answers: No such process");
      routes.splice(at, 1);
      return ok();
    }
    return fail(`fake host: ip route ${verb} is not modelled`, 127);
  }

  /** The fixed scripts of provider/persist (write, remove, fingerprint). */
  private sh(args: string[], stdin?: string): ExecResult {
    const [, script, name, ...positional] = args;
    if (name === "netdev-persist") {
      for (let i = 0; i < positional.length; ) {
        const op = positional[i]!;
        if (op === "file") {
          this.files.set(positional[i + 2]!, { mode: positional[i + 1]!, content: positional[i + 3]! });
          i += 4;
        } else if (op === "stdin") {
          this.files.set(positional[i + 2]!, { mode: positional[i + 1]!, content: stdin ?? "" });
          i += 3;
        } else if (op === "link") {
          this.files.set(positional[i + 2]!, { linkTo: positional[i + 1]! });
          i += 3;
        } else return fail(`netdev: unknown write op ${op}`);
      }
      return ok();
    }
    if (name === "netdev-unpersist") {
      // Groups of: the owner's tag, its token, how many paths, the paths.
      for (let i = 0; i + 2 < positional.length; ) {
        const [tag, token, count] = positional.slice(i, i + 3);
        const paths = positional.slice(i + 3, i + 3 + Number(count));
        i += 3 + paths.length;
        for (const path of paths) {
          const file = this.files.get(path);
          if (!file) continue;
          const named = "linkTo" in file ? false : path.split("/").pop()!.includes(token!);
          const ours = "linkTo" in file ? file.linkTo.includes("/pulumi-netdev-") : named || file.content.includes(tag!);
          if (ours) this.files.delete(path);
          if (ours && !named && path.startsWith("/etc/NetworkManager/") && this.support.networkManager) this.nmProfiles.delete(path);
        }
      }
      return ok();
    }
    if (name === "netdev-nm-load") {
      if (this.support.networkManager !== "active") return fail("Error: NetworkManager is not running.", 8);
      for (const path of positional) {
        if (this.files.has(path)) this.nmProfiles.add(path);
        else this.nmProfiles.delete(path);
      }
      return ok();
    }
    if (script === FINGERPRINT_ARGV[2]) {
      const persisted =
        /^(\/etc\/systemd\/network\/10-pulumi-netdev-|\/etc\/NetworkManager\/system-connections\/pulumi-netdev-.*\.nmconnection$|\/etc\/systemd\/system\/(multi-user\.target\.wants\/)?pulumi-netdev-|\/etc\/pulumi-netdev\/)/;
      const lines = [...this.files]
        .filter(([path]) => persisted.test(path))
        .map(([path, file]) => ("linkTo" in file ? `-> ${file.linkTo} ${path}` : `${createHash("sha256").update(file.content).digest("hex")}  ${path}`));
      return ok(lines.map((line) => `${line}\n`).join(""));
    }
    return fail("fake host: this script is not modelled", 127);
  }

  /** The capability probe's answer: its base (with persistence's lines when it asks them), then its kinds in the throwaway namespace. */
  private capabilityProbe(script: string): ExecResult {
    const { systemd, networkd, networkdActive, networkManager, manageForeignRoutes } = this.support;
    const persist = script.includes("systemctl --version")
      ? systemd
        ? [
            `systemd=${systemd}`,
            `networkd=${networkd}`,
            `networkdActive=${networkdActive}`,
            ...(networkManager ? [`nm=${networkManager}`] : []),
            `foreign=${manageForeignRoutes}`,
          ]
        : ["systemd="]
      : [];
    const base = script.includes("ip -V")
      ? [
          this.oldIproute2 ? "ip ip utility, iproute2-ss161212" : "ip ip utility, iproute2-6.1.0",
          this.oldIproute2 ? "json no" : "json ok",
          "batch ok",
          ...["wg", "bridge", "sysctl"].map((tool) => `tool ${tool} ${this.missingTools.has(tool) ? "no" : "ok"}`),
          "uid 0",
          ...persist,
        ]
      : [];
    const kinds = [...script.matchAll(/^\s*try (\S+) /gm)].map((match) => match[1]!);
    if (kinds.length && this.netnsRefusal !== undefined) return ok([...base, `netns no ${this.netnsRefusal}`].map((line) => `${line}\n`).join(""));
    const answers = kinds.map((kind) => (this.missingKinds.has(kind) ? `kind ${kind} no Error: Unknown device type.` : `kind ${kind} ok`));
    return ok([...base, ...(kinds.length ? ["netns ok"] : []), ...answers].map((line) => `${line}\n`).join(""));
  }

  // ---- the model ----

  private ns(netns: string | undefined): FakeNamespace {
    const namespace = this.namespaces.get(netns ?? ROOT);
    if (!namespace) throw new Error(`fake host: no namespace ${netns}`);
    return namespace;
  }

  private newLink(ifname: string, fields: Partial<Omit<FakeLink, "ifname">>): FakeLink {
    const ifindex = fields.ifindex ?? this.nextIfindex++;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    return {
      ifindex,
      mtu: 1500,
      address: `02:00:00:00:${(ifindex >> 8).toString(16).padStart(2, "0")}:${(ifindex & 255).toString(16).padStart(2, "0")}`,
      up: false,
      infoData: {},
      addresses: [],
      ...defined,
      ifname,
    };
  }

  private removeLink(netns: string, name: string): void {
    const namespace = this.ns(netns);
    const link = namespace.links.get(name);
    if (!link) return;
    namespace.links.delete(name);
    for (const other of namespace.links.values()) if (other.master === name) other.master = undefined;
    namespace.routes = namespace.routes.filter((route) => route.dev !== name);
    if (link.peer && this.namespaces.get(link.peer.netns)?.links.get(link.peer.name)?.peer?.name === name)
      this.namespaces.get(link.peer.netns)!.links.delete(link.peer.name);
  }

  /** A namespace goes with everything in it; a veth's other end elsewhere goes with it. */
  private deleteNamespace(name: string): void {
    for (const link of [...this.ns(name).links.keys()]) this.removeLink(name, link);
    this.namespaces.delete(name);
  }

  /** A link as `ip -json -details addr show` prints it. */
  private raw(link: FakeLink): Record<string, unknown> {
    return {
      ifname: link.ifname,
      ifindex: link.ifindex,
      mtu: link.mtu,
      address: link.address,
      operstate: link.up ? "UNKNOWN" : "DOWN",
      flags: link.up ? ["BROADCAST", "UP"] : ["BROADCAST"],
      ...(link.master ? { master: link.master } : {}),
      ...(link.ifalias ? { ifalias: link.ifalias } : {}),
      ...(link.link ? { link: link.link } : {}),
      ...(link.kind ? { linkinfo: { info_kind: link.kind, info_data: link.infoData } } : {}),
      addr_info: link.addresses.map((cidr) => {
        const [local, prefixlen] = cidr.split("/");
        return { family: local!.includes(":") ? "inet6" : "inet", local, prefixlen: Number(prefixlen), scope: "global" };
      }),
    };
  }
}
