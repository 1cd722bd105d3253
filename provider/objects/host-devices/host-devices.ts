import { createHash } from "node:crypto";
import { z } from "zod";
import { sameValue } from "../../engine/compare";
import { commonShape, DeviceEngine, type DeviceOutputs, deviceSchema, type ParsedInputs } from "../../engine/engine";
import { connectionField } from "../../engine/fields";
import { sshHosts } from "../../engine/host";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { dumpCommand, type HostSnapshot, printsOneLine, readKey, snapshotOf, wantedBy } from "../../engine/host-snapshot";
import { isIpError } from "../../engine/ip-errors";
import type { DeviceKind } from "../../engine/kind";
import { newOwnerToken, ownerKeyField, ownerTag, ownerToken, splitAlias } from "../../engine/ownership";
import { observedOutputs } from "../../engine/observed";
import { deviceNeeds, requireCapabilities } from "../../engine/preflight";
import type { AnyEngine } from "../../engine/provider-boundary";
import { autoVerdict, driftVerdict } from "../../engine/persisted-state";
import { refuseNewerState, SCHEMA_VERSION, withoutCheckOnly } from "../../engine/resource-engine";
import type { Step } from "../../engine/steps";
import { type CheckFailure, checkInputs, containsUnknown, hostMoved, parseInputs, UNKNOWN } from "../../engine/validation";
import { bondKind } from "../../kinds/bond/bond";
import { bridgeKind } from "../../kinds/bridge/bridge";
import { dummyKind } from "../../kinds/dummy/dummy";
import { geneveKind } from "../../kinds/geneve/geneve";
import { greKind } from "../../kinds/gre/gre";
import { ifbKind } from "../../kinds/ifb/ifb";
import { ipvlanKind } from "../../kinds/ipvlan/ipvlan";
import { macvlanKind } from "../../kinds/macvlan/macvlan";
import { tunKind } from "../../kinds/tun/tun";
import { vethKind } from "../../kinds/veth/veth";
import { vlanKind } from "../../kinds/vlan/vlan";
import { vrfKind } from "../../kinds/vrf/vrf";
import { vxlanKind } from "../../kinds/vxlan/vxlan";
import { isWireguardKey, wireguardKind, wireguardPrivateKey, wireguardPublicKey } from "../../kinds/wireguard/wireguard";
import { type Connection, connectionOf } from "../../ssh/connection";
import { storedConnection } from "../../ssh/stored-connection";
import {
  type Artifact,
  driftOf,
  expectedFingerprint,
  FINGERPRINT_ARGV,
  NETWORKMANAGER_DIR,
  neededFor,
  parseFingerprints,
  persistField,
  removeSteps,
  wasPersisted,
  writeSteps,
} from "../../persist/files";
import { persistFailures, persistViaOn, warnNetworkdClaims } from "../../persist/host-support";
import { PERSIST_VIAS, type PersistVia } from "../../persist/mode";

/**
 * Many devices on one host as ONE resource: each `pulumi up`, refresh or destroy is one Pulumi
 * step and, for the host, one script, where a resource per device is a step and a round trip
 * per device. Each device is still what its kind makes it: the kind's fields and rules (which
 * field changes in place, which replaces the device), its create steps, read-back, drift and
 * owner tag come from the device engine (engine/engine.ts), called per device; this engine only
 * gathers their commands into one script per operation.
 *
 * - create: every device's steps, parents and masters first, then the read-back, in one script.
 *   A device that exists already (left by a killed `up`, carrying its tag; or `adopt`) is taken
 *   over by the device engine's own create, as a device resource would be. A failure removes
 *   every device this create made (each checked against its tag on the host), then fails.
 * - diff: per device, by its kind's rules; a device whose `name` (or another field its kind
 *   cannot change in place) changes is replaced INSIDE this resource's update, and with it the
 *   devices whose master, parent or underlay device it is. Only another host replaces the
 *   resource.
 * - update: removed and replaced devices in one grouped delete; the ones that change in place
 *   read in one round trip; then their steps and the new devices' in one script.
 * - refresh: every device from one read of the host; a device that is gone leaves the outputs
 *   (the next `up` makes it again), drift shows per device.
 * - delete: one grouped delete per namespace, each device checked against its own tag, then the
 *   namespaces the devices made and left empty: all in one round trip.
 *
 * Ownership: each device carries its own owner tag, derived from this resource's and the
 * device's key (so a device keeps its tag across updates, and a killed `up` is taken back).
 *
 * Persistence: `persist` holds for every device, each written as its own resource would be
 * (its kind's networkd files, NetworkManager keyfile or oneshot unit, tagged with the device's
 * own token), in the same script as the devices; refresh lists the host's files in the same
 * read as the devices, and reports the resource's `persist` as "drifted" naming the device and
 * file; delete and a failed create remove them, each checked against its device's tag.
 *
 * Secrets: a WireGuard device's private key is not among its fields but in `privateKeys`, by
 * device key, a top-level field sealed as a secret (as a WireguardInterface's `privateKey` is):
 * a secret nested in `devices` would make every device's fields secret, and the preview's diff
 * of them unreadable. Each key reaches the host on stdin only, so a script carries at most one
 * (a plan with two WireGuard devices to key is two scripts).
 */
export const HOST_DEVICES_TYPE = "HostDevices";

/** The kinds a HostDevices may hold, by the name `kind` takes: each kind's own folder name. */
const KINDS = {
  bridge: bridgeKind,
  veth: vethKind,
  vxlan: vxlanKind,
  macvlan: macvlanKind,
  tun: tunKind,
  ifb: ifbKind,
  wireguard: wireguardKind,
  dummy: dummyKind,
  vlan: vlanKind,
  ipvlan: ipvlanKind,
  bond: bondKind,
  vrf: vrfKind,
  gre: greKind,
  geneve: geneveKind,
} as const;

type KindName = keyof typeof KINDS;

/** The common device fields a device in a HostDevices has: the connection and persistence are the resource's, the owner key its own. */
const { connection: _connection, ownerKey: _ownerKey, persist: _persist, reportKindInfo: _reportKindInfo, ...memberCommon } = commonShape;

function memberSchema<Name extends KindName, KindShape extends z.ZodRawShape>(
  name: Name,
  kind: { resourceType: string; fields: KindShape; refine?(inputs: never): { field: string; message: string } | undefined },
) {
  return deviceSchema(kind, {
    kind: z.literal(name).describe(`"${name}": a ${kind.resourceType} (see its reference page for its fields).`),
    ...memberCommon,
  });
}

const deviceKey = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -")
  .describe('A device\'s key, e.g. "br0": stable across updates; its owner tag is derived from it.');

/** A wireguard device's fields: its kind's, but the private key, which `privateKeys` holds. */
const { privateKey: _privateKey, ...wireguardFields } = wireguardKind.fields;

const memberUnion = z.discriminatedUnion("kind", [
  memberSchema("bridge", KINDS.bridge),
  memberSchema("veth", KINDS.veth),
  memberSchema("vxlan", KINDS.vxlan),
  memberSchema("macvlan", KINDS.macvlan),
  memberSchema("tun", KINDS.tun),
  memberSchema("ifb", KINDS.ifb),
  memberSchema("wireguard", { resourceType: wireguardKind.resourceType, fields: wireguardFields }),
  memberSchema("dummy", KINDS.dummy),
  memberSchema("vlan", KINDS.vlan),
  memberSchema("ipvlan", KINDS.ipvlan),
  memberSchema("bond", KINDS.bond),
  memberSchema("vrf", KINDS.vrf),
  memberSchema("gre", KINDS.gre),
  memberSchema("geneve", KINDS.geneve),
]);

/** What the host reports of every device: its own outputs (engine/observed.ts), but those of persistence and kindInfo, which a HostDevices does not offer. */
const { ifindex, operState, hwAddress, linkMtu } = observedOutputs;

/** A device of `devices` as an output: its fields as applied, what the host reports and its kind's own outputs (a WireGuard interface's publicKey). */
function memberOutput<Name extends KindName, Fields extends z.ZodRawShape, Outputs extends z.ZodRawShape>(name: Name, fields: Fields, outputs: Outputs) {
  return z.object({
    kind: z.literal(name).describe(`"${name}": a ${KINDS[name].resourceType}.`),
    ...memberCommon,
    ...fields,
    ifindex,
    operState,
    hwAddress,
    linkMtu,
    ...outputs,
  });
}

/**
 * `devices` as outputs carry it (the generated output type of HostDevices.devices): where the
 * inputs say what to make, the outputs also hold what each device is on the host.
 */
export const hostDevicesOutputShape = {
  devices: z
    .record(
      deviceKey,
      z.discriminatedUnion("kind", [
        memberOutput("bridge", KINDS.bridge.fields, {}),
        memberOutput("veth", KINDS.veth.fields, {}),
        memberOutput("vxlan", KINDS.vxlan.fields, {}),
        memberOutput("macvlan", KINDS.macvlan.fields, {}),
        memberOutput("tun", KINDS.tun.fields, {}),
        memberOutput("ifb", KINDS.ifb.fields, {}),
        memberOutput("wireguard", wireguardFields, wireguardKind.outputs!.fields),
        memberOutput("dummy", KINDS.dummy.fields, {}),
        memberOutput("vlan", KINDS.vlan.fields, {}),
        memberOutput("ipvlan", KINDS.ipvlan.fields, {}),
        memberOutput("bond", KINDS.bond.fields, {}),
        memberOutput("vrf", KINDS.vrf.fields, {}),
        memberOutput("gre", KINDS.gre.fields, {}),
        memberOutput("geneve", KINDS.geneve.fields, {}),
      ]),
    )
    .describe(
      "The devices, by key, as applied, each with what the host reports of it (ifindex, hwAddress, linkMtu, operState; a wireguard device's publicKey).",
    ),
};

/** The fields of state and inputs that are secrets: sealed by the resource class, scrubbed from every message. */
export const HOST_DEVICES_SECRET_FIELDS = ["privateKeys"] as const;

export const hostDevicesSchema = z
  .strictObject({
    connection: connectionField,
    devices: z
      .record(deviceKey, memberUnion)
      .describe(
        'The devices, by a stable key: each `{ kind: "bridge" | "veth" | "vxlan" | "macvlan" | "tun" | "ifb" | "wireguard" | "dummy" | "vlan" | "ipvlan" | "bond" | "vrf" | "gre" | "geneve", ... }` with that kind\'s fields (as its own resource takes them, without `connection`; a wireguard device without `privateKey`, which `privateKeys` holds).',
      ),
    privateKeys: z
      .record(deviceKey, wireguardPrivateKey)
      .optional()
      .describe(
        "Each wireguard device's private key (`wg genkey`), by the device's key in `devices`. Always kept as a secret, and passed to the host only on stdin, never in a command line.",
      ),
    persist: persistField.describe(
      '"networkd", "networkmanager", "systemd" or "auto": every device also gets what recreates it at boot, as its own resource would with this `persist` (see provider/persist/README.md); "none" or omitted: nothing survives a reboot.',
    ),
    /** Derived from the resource's identity by its class: see engine/ownership.ts. */
    ownerKey: ownerKeyField,
  })
  .superRefine((value, ctx) => {
    const seen = new Map<string, string>();
    for (const [key, device] of Object.entries(value.devices)) {
      const ends = [{ netns: device.netns, name: device.name }];
      if (device.kind === "veth") ends.push({ netns: device.peerNetns ?? device.netns, name: device.peerName });
      for (const end of ends) {
        const at = `${end.netns ?? ""}/${end.name}`;
        const other = seen.get(at);
        if (other !== undefined && other !== key)
          ctx.addIssue({ code: "custom", path: ["devices", key, "name"], message: `${end.name} is also devices.${other}'s (one name per namespace)` });
        seen.set(at, key);
      }
    }
    // The messages name device keys only: a private key, even a malformed one, is never quoted.
    const privateKeys = value.privateKeys ?? {};
    for (const [key, device] of Object.entries(value.devices)) {
      if (device.kind !== "wireguard") continue;
      const privateKey = privateKeys[key];
      if (privateKey === undefined) {
        ctx.addIssue({ code: "custom", path: ["privateKeys"], message: `has no key for devices.${key} (a wireguard device needs its private key here)` });
        continue;
      }
      if (!isWireguardKey(privateKey)) continue;
      const own = wireguardPublicKey(privateKey);
      if (device.peers?.some((p) => p.publicKey === own))
        ctx.addIssue({ code: "custom", path: ["devices", key, "peers"], message: "lists the interface's own public key as a peer" });
    }
    for (const key of Object.keys(privateKeys))
      if (value.devices[key]?.kind !== "wireguard")
        ctx.addIssue({ code: "custom", path: ["privateKeys"], message: `holds a key for ${JSON.stringify(key)}, which is no wireguard device in devices` });
  });

/** Nothing in the inputs replaces it but another host (the connection's rule). */
export const HOST_DEVICES_REPLACE_ON = [] as const;

type Inputs = z.output<typeof hostDevicesSchema>;
type MemberInputs = z.output<typeof memberUnion>;

/** One device of the resource, as the device engine takes it. */
interface Member {
  key: string;
  engine: DeviceEngine;
  /** Parsed as the kind's own resource parses it: with the connection, without `kind`. */
  inputs: ParsedInputs;
  /** The device's own owner token, and the id its tag is checked against (engine.ts ownedBy). */
  token: string;
  id: string;
}

/** What state holds per device: the device engine's outputs (a secret field aside: see `privateKeys`), and its kind. */
type DeviceState = DeviceOutputs & { kind: KindName };

/** Private keys by device key. */
type PrivateKeys = Record<string, string>;

/** Devices' secret fields, by the kind's field name, as state holds them: `privateKeys`. */
const SECRET_FIELD = "privateKey";

/** A device's own token: derived from the resource's and the device's key, so it is the same at every `up`. */
export function deviceToken(token: string, key: string): string {
  return createHash("sha256").update(`${token}\0${key}`).digest("hex").slice(0, 12);
}

/**
 * About the most script one exec carries: the script is one argument of `sh -c`, and Linux
 * refuses a single argument over 128 KiB (MAX_ARG_STRLEN). A plan larger than this goes as
 * several scripts, one after the other.
 */
const MAX_SCRIPT_BYTES = 48_000;

/**
 * The plan cut into consecutive parts whose steps fit one script each (a device is never cut),
 * each with at most one step that takes stdin (a script's stdin is the one channel's).
 */
export function scripts<T extends { steps: Step[] }>(plan: T[]): T[][] {
  const parts: T[][] = [[]];
  let size = 0;
  let withStdin = false;
  for (const entry of plan) {
    const bytes = entry.steps.reduce((sum, step) => sum + 24 + step.args.reduce((n, arg) => n + arg.length + 3, 0), 0);
    const stdin = entry.steps.filter((step) => step.stdin !== undefined).length;
    if (stdin > 1) throw new Error(`${HOST_DEVICES_TYPE}: a device's steps take stdin ${stdin} times; a script passes one`);
    if ((size + bytes > MAX_SCRIPT_BYTES || (withStdin && stdin)) && parts[parts.length - 1]!.length) {
      parts.push([]);
      size = 0;
      withStdin = false;
    }
    parts[parts.length - 1]!.push(entry);
    size += bytes;
    withStdin ||= stdin > 0;
  }
  return parts;
}

/** Most bytes of file contents or paths one persistence step carries (several share a script: see MAX_SCRIPT_BYTES). */
const MAX_FILES_BYTES = 16_000;

/** The one listing of every persisted file on the host (persist/files.ts), read with the devices. */
const FINGERPRINTS = { tool: "sh" as const, args: FINGERPRINT_ARGV.slice(1) };

/** A token for rendering files before the resource has one (preview's check): only their paths' kind matters. */
const PREVIEW_TOKEN = "000000000000";

/** Most devices one grouped delete carries: its script grows by a line per device (see MAX_SCRIPT_BYTES). */
const MAX_DELETE_GROUP = 400;

/** A device's dependencies among the names of the resource: its master, a macvlan's parent, a VTEP's underlay device. */
function dependsOn(inputs: Record<string, unknown>): string[] {
  return [inputs.master, inputs.parent, inputs.dev].filter((name): name is string => typeof name === "string");
}

/**
 * A device whose master, parent or underlay device is made anew in this update (replaced, or
 * added under a name the device already refers to) is replaced too: the kernel drops a port
 * from its master, and a macvlan with its parent, when that device is deleted, and the
 * dependent's own fields, unchanged, would not say so.
 */
function withDependentsReplaced(
  devices: Record<string, unknown>,
  changes: Record<string, "none" | "add" | "delete" | "replace" | "update">,
): Record<string, "none" | "add" | "delete" | "replace" | "update"> {
  const inputsOf = (key: string) => devices[key] as Record<string, unknown>;
  const keyAt = new Map(Object.keys(devices).map((key) => [`${inputsOf(key).netns ?? ""}/${inputsOf(key).name}`, key]));
  const result = { ...changes };
  for (let changed = true; changed; ) {
    changed = false;
    for (const key of Object.keys(devices)) {
      if (result[key] !== "none" && result[key] !== "update") continue;
      const inputs = inputsOf(key);
      const remade = dependsOn(inputs).some((name) => {
        const dependency = dependencyIn(keyAt, inputs.netns, name);
        return dependency !== undefined && (result[dependency] === "replace" || result[dependency] === "add");
      });
      if (remade) {
        result[key] = "replace";
        changed = true;
      }
    }
  }
  return result;
}

/**
 * The entry of `byPlace` (keyed by `<netns>/<name>`) that a device in `netns` names as its
 * dependency: a master beside it, else a parent or underlay device in the host's namespace.
 */
function dependencyIn<T>(byPlace: ReadonlyMap<string, T>, netns: unknown, name: string): T | undefined {
  return byPlace.get(`${netns ?? ""}/${name}`) ?? byPlace.get(`/${name}`);
}

/**
 * Members in an order where masters, parents and underlay devices come before the devices on
 * them, and a device holding a VTEP's `local` address (a WireGuard interface under an encrypted
 * overlay) before that VTEP. (Only an order: the VTEP is not replaced with that device.)
 */
function ordered(members: Member[]): Member[] {
  const byName = new Map(members.map((member) => [`${member.inputs.netns ?? ""}/${member.inputs.name}`, member]));
  const byAddress = new Map(
    members.flatMap((member) =>
      (Array.isArray(member.inputs.addresses) ? (member.inputs.addresses as string[]) : []).map(
        (cidr) => [`${member.inputs.netns ?? ""}/${cidr.split("/")[0]}`, member] as const,
      ),
    ),
  );
  const done = new Set<Member>();
  const out: Member[] = [];
  const visit = (member: Member, path: Set<Member>) => {
    if (done.has(member) || path.has(member)) return;
    path.add(member);
    for (const name of dependsOn(member.inputs)) {
      const dependency = dependencyIn(byName, member.inputs.netns, name);
      if (dependency) visit(dependency, path);
    }
    const local = member.inputs.local;
    const holder = typeof local === "string" ? byAddress.get(`${member.inputs.netns ?? ""}/${local}`) : undefined;
    if (holder && holder !== member) visit(holder, path);
    done.add(member);
    out.push(member);
  };
  for (const member of members) visit(member, new Set());
  return out;
}

export class HostDevicesEngine implements AnyEngine {
  readonly resourceType = HOST_DEVICES_TYPE;
  private readonly engines: Record<KindName, DeviceEngine>;

  constructor(private readonly hosts: HostFactory = sshHosts) {
    this.engines = Object.fromEntries(Object.entries(KINDS).map(([name, kind]) => [name, new DeviceEngine(kind as unknown as DeviceKind, hosts)])) as Record<
      KindName,
      DeviceEngine
    >;
  }

  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    const checked = checkInputs(hostDevicesSchema, HOST_DEVICES_TYPE, news, HOST_DEVICES_SECRET_FIELDS);
    // These inputs are state: the connection is kept without its default tuning, as every resource keeps it.
    return checked.failures.length ? checked : { ...checked, inputs: { ...checked.inputs, connection: storedConnection(checked.inputs.connection) } };
  }

  /**
   * At check, so in `pulumi preview` too, with persist on: what persistence needs of the host
   * (systemd; networkd or NetworkManager where a device is persisted through their files), from
   * the host's one probe, which the create then reuses.
   */
  async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    if (!wasPersisted(inputs.persist) || containsUnknown(inputs.connection) || containsUnknown(inputs.persist)) return [];
    const host = this.hosts(connectionOf(inputs));
    const via = await persistViaOn(host, inputs.persist);
    const files: Artifact[] = [];
    const deviceNames: string[] = [];
    for (const [key, device] of Object.entries(isRecord(inputs.devices) ? inputs.devices : {})) {
      if (!isRecord(device) || containsUnknown(device)) continue;
      if (device.netns === undefined && typeof device.name === "string") deviceNames.push(device.name);
      const { kind, ...fields } = device;
      const engine = this.engines[kind as KindName];
      if (!engine) continue;
      // A device whose fields are not all known yet (a key still an Output) is judged at `up`.
      try {
        const privateKey = isRecord(inputs.privateKeys) ? inputs.privateKeys[key] : undefined;
        const parsed = engine.parse({ ...withSecret(fields, privateKey), connection: inputs.connection, persist: via });
        files.push(...engine.persistence(parsed, PREVIEW_TOKEN));
      } catch {}
    }
    return persistFailures(host, String(inputs.persist), neededFor(files), { deviceNames });
  }

  /**
   * Another host replaces the resource (deleting first: names are fixed on a host). Anything
   * else is an update, a device's replacement included: its kind's rules decide it inside.
   */
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    if (hostMoved(olds, news)) return { changes: true, replaces: ["connection"], deleteBeforeReplace: true };
    const changes =
      !sameValue(withoutCheckOnly(olds.connection), withoutCheckOnly(news.connection)) ||
      !sameValue(olds.persist ?? "none", news.persist ?? "none") ||
      Object.values(this.deviceChanges(withPrivateKeys(olds), withPrivateKeys(news))).some((change) => change !== "none");
    return { changes, replaces: [], deleteBeforeReplace: false };
  }

  /** Per device key: what an update does to it (the devices with their private keys: see withPrivateKeys). */
  deviceChanges(before: unknown, after: unknown): Record<string, "none" | "add" | "delete" | "replace" | "update"> {
    if (!isRecord(before) || !isRecord(after) || containsUnknown(after)) {
      // Not known yet (preview) or not a record: every device may change.
      const keys = new Set([...Object.keys(isRecord(before) ? before : {}), ...Object.keys(isRecord(after) ? after : {})]);
      return Object.fromEntries([...keys, ...(keys.size ? [] : ["*"])].map((key) => [key, "update" as const]));
    }
    const changes: Record<string, "none" | "add" | "delete" | "replace" | "update"> = {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const old = before[key] as Record<string, unknown> | undefined;
      const now = after[key] as Record<string, unknown> | undefined;
      if (!old) changes[key] = "add";
      else if (!now) changes[key] = "delete";
      else if (old.kind !== now.kind || !(String(now.kind) in KINDS)) changes[key] = "replace";
      else {
        const { changed, replaces } = this.engines[now.kind as KindName].diffFields(old, now);
        changes[key] = replaces.length ? "replace" : changed.length ? "update" : "none";
      }
    }
    return withDependentsReplaced(after, changes);
  }

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const inputs = parseInputs(hostDevicesSchema, HOST_DEVICES_TYPE, rawInputs, HOST_DEVICES_SECRET_FIELDS) as unknown as Inputs;
    const host = this.hosts(inputs.connection);
    const token = newOwnerToken(inputs.ownerKey);
    const id = `${host.endpoint}/devices#${token}`;
    const members = ordered(
      Object.entries(inputs.devices).map(([key, device]) => this.member(key, device, inputs.connection, host.endpoint, token, inputs.privateKeys)),
    );
    const via = await persistViaOn(host, inputs.persist);
    // Every device's boot-time files, in the script that makes the devices.
    const files = via
      ? writeSteps(
          members.flatMap((member) => bootFiles(member, via)),
          { maxBytes: MAX_FILES_BYTES },
        )
      : [];
    const devices = await this.apply(host, members, { files, persisted: via !== undefined });
    // After the apply, whose capability check has probed the host already.
    await warnNetworkdClaims(host, hostNamespaceNames(members));
    return { id, outs: this.state(inputs, devices, inputs.privateKeys, via) };
  }

  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
    const state = this.stateFrom(props);
    const host = this.hosts(state.connection);
    const members = this.membersOf(state, host.endpoint, ownerToken(id));
    const via = wasPersisted(state.persist) ? viaOf(state) : undefined;
    // With persist on, the listing of the host's persisted files comes in the same read.
    const snapshot = await this.snapshot(host, members, undefined, via !== undefined);
    const gone: Member[] = [];
    const devices: Record<string, DeviceState> = {};
    const observedInputs: Record<string, unknown> = {};
    // The key the host has, as its kind reads it: the recorded one where the host's public key
    // follows from it, else a marker that differs (never the host's own key).
    const privateKeys: PrivateKeys = {};
    for (const member of members) {
      const observed = await member.engine.observeLink(snapshot, member.inputs, member.id, await snapshot.readLink(member.inputs.netns, member.inputs.name));
      // Gone, or no longer this resource's: it leaves the outputs, and the next `up` makes it again.
      if (!observed) {
        gone.push(member);
        continue;
      }
      const kind = state.devices[member.key]!.kind;
      devices[member.key] = { kind, ...withoutSecret(withoutConnection(observed.outs)) };
      observedInputs[member.key] = { kind, ...withoutSecret(withoutConnection(observed.inputs)) };
      const privateKey = observed.outs[SECRET_FIELD];
      if (typeof privateKey === "string") privateKeys[member.key] = privateKey;
    }
    const persist = via ? await this.persistedState(host, state, via, snapshot, members, gone) : state.persist;
    return {
      id,
      props: { ...this.state({ ...state, persist }, devices, privateKeys, via), connection: props.connection },
      inputs: {
        connection: props.connection,
        devices: observedInputs,
        ...(Object.keys(privateKeys).length ? { privateKeys } : {}),
        ...(persist !== undefined ? { persist } : {}),
        ...(state.ownerKey ? { ownerKey: state.ownerKey } : {}),
      },
    };
  }

  /**
   * What refresh records as `persist`: the mode while every present device's files are as the
   * last `up` wrote them, else "drifted" (a warning names each device and file; the next `up`
   * writes them again). A device that is gone takes its files with it: otherwise the next boot
   * would bring it back, with its owner tag, owned by no stack.
   */
  private async persistedState(
    host: Host,
    state: { persist?: string },
    via: PersistVia,
    snapshot: HostSnapshot,
    members: Member[],
    gone: Member[],
  ): Promise<string> {
    const where = `${HOST_DEVICES_TYPE} on ${host.endpoint}`;
    if (gone.length) {
      await this.runSteps(host, removeFiles(gone), where);
      console.warn(
        `netdev: ${where}: ${gone.map((member) => `devices.${member.key}`).join(", ")} gone (or no longer this resource's): removed their boot-time files`,
      );
    }
    const found = parseFingerprints(await snapshot.read(FINGERPRINTS));
    const present = members.filter((member) => !gone.includes(member));
    // Rendered from state: what the last `up` wrote (a device whose state holds what no input could be is judged at the next `up`).
    const drift = present.flatMap((member) =>
      driftOf(member.engine.bootFilesOf(member.inputs, via, member.token) ?? [], found).map((file) => `devices.${member.key}: ${file}`),
    );
    return autoVerdict(host, where, state.persist, via, driftVerdict(where, drift, String(state.persist)));
  }

  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
    const inputs = parseInputs(hostDevicesSchema, HOST_DEVICES_TYPE, news, HOST_DEVICES_SECRET_FIELDS) as unknown as Inputs;
    const previous = this.stateFrom(olds);
    const host = this.hosts(inputs.connection);
    const token = ownerToken(id);
    const changes = this.deviceChanges(withPrivateKeys(previous), withPrivateKeys(inputs));
    const before = new Map(this.membersOf(previous, host.endpoint, token).map((member) => [member.key, member]));
    const after = ordered(
      Object.entries(inputs.devices).map(([key, device]) => this.member(key, device, inputs.connection, host.endpoint, token, inputs.privateKeys)),
    );
    const via = await persistViaOn(host, inputs.persist);
    const previousVia = wasPersisted(previous.persist) ? viaOf(previous) : undefined;
    // Removed and replaced devices first, in one grouped delete: a replacement reuses the name.
    const leaving = [...before.values()].filter((member) => changes[member.key] === "delete" || changes[member.key] === "replace");
    // NetworkManager makes a profile's device again when it sees it deleted: its profile goes first.
    if (previousVia === "networkmanager" && leaving.length)
      await this.runSteps(host, removeFiles(leaving, { profilesOnly: true }), `${HOST_DEVICES_TYPE} on ${host.endpoint}`);
    await this.remove(host, leaving);
    const inPlace = after.filter((member) => changes[member.key] === "update");
    const devices: Record<string, DeviceState> = {};
    for (const member of after) if (changes[member.key] === "none") devices[member.key] = previous.devices[member.key]!;
    const made = await this.apply(
      host,
      after.filter((member) => changes[member.key] !== "none"),
      {
        inPlace: inPlace.length ? await this.inPlaceSteps(host, inPlace, previous) : undefined,
        files: syncFiles(before, after, via, previous.persist, previousVia),
        persisted: via !== undefined,
      },
    );
    await warnNetworkdClaims(host, hostNamespaceNames(after.filter((member) => changes[member.key] !== "none")));
    return { outs: this.state(inputs, { ...devices, ...made }, inputs.privateKeys, via) };
  }

  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    const state = this.stateFrom(props);
    const host = this.hosts(state.connection);
    const members = this.membersOf(state, host.endpoint, ownerToken(id));
    if (!wasPersisted(state.persist)) return this.remove(host, members);
    const where = `${HOST_DEVICES_TYPE} on ${host.endpoint}`;
    // NetworkManager makes a profile's device again when it sees it deleted: the profiles go first.
    if (viaOf(state) === "networkmanager") await this.runSteps(host, removeFiles(members, { profilesOnly: true }), where);
    // The files go even where a device stays (refused: not this resource's): they would bring
    // this resource's device back at boot.
    try {
      await this.remove(host, members);
    } finally {
      await this.runSteps(host, removeFiles(members), where);
    }
  }

  // ---- the devices ----

  private member(key: string, device: MemberInputs, connection: Connection, endpoint: string, token: string, privateKeys: PrivateKeys = {}): Member {
    const { kind, ...fields } = device as Record<string, unknown> & { kind: KindName };
    const own = deviceToken(token, key);
    const inputs = { ...withSecret(fields, privateKeys[key]), connection } as unknown as ParsedInputs;
    return { key, engine: this.engines[kind], inputs, token: own, id: `${endpoint}/${inputs.netns ?? "-"}/${inputs.name}#${own}` };
  }

  /** The devices as state holds them: their recorded fields are what the device engines read and delete by. */
  private membersOf(
    state: { connection: Connection; devices: Record<string, DeviceState>; privateKeys?: PrivateKeys },
    endpoint: string,
    token: string,
  ): Member[] {
    return Object.entries(state.devices).map(([key, device]) => {
      const { kind, ...fields } = device;
      if (!(kind in KINDS)) throw new Error(`${HOST_DEVICES_TYPE} devices.${key}: unknown kind ${JSON.stringify(kind)} in state`);
      const own = deviceToken(token, key);
      const inputs = { ...withSecret(fields, state.privateKeys?.[key]), connection: state.connection } as unknown as ParsedInputs;
      return { key, engine: this.engines[kind], inputs, token: own, id: `${endpoint}/${inputs.netns ?? "-"}/${inputs.name}#${own}` };
    });
  }

  /** How messages name a device: its kind, name, key and host. */
  private where(host: Host, member: Member): string {
    const { name, netns } = member.inputs;
    return `${member.engine.resourceType} ${name}${netns ? ` in namespace ${netns}` : ""} (${HOST_DEVICES_TYPE} devices.${member.key}) on ${host.endpoint}`;
  }

  /** The host read in one round trip for these devices: their namespaces' dumps, what their kinds read and, with `fingerprints`, the listing of persisted files. */
  private snapshot(host: Host, members: Member[], inHand?: ReadonlyMap<string, string>, fingerprints = false): Promise<HostSnapshot> {
    return snapshotOf(
      host,
      members.map((member) => member.inputs.netns),
      async (recorder) => {
        await this.recordReads(recorder, members);
        if (fingerprints) await recorder.read(FINGERPRINTS);
      },
      inHand,
    );
  }

  /** Each device's read against a recording snapshot (DeviceEngine.recordRead). */
  private async recordReads(recorder: HostSnapshot, members: Member[]): Promise<void> {
    for (const member of members) await member.engine.recordRead(recorder, member.inputs);
  }

  /** Each in-place device's steps, from one read of the host: refused, as a device resource refuses, when it is not this resource's device. */
  private async inPlaceSteps(
    host: Host,
    members: Member[],
    previous: { devices: Record<string, DeviceState>; privateKeys?: PrivateKeys },
  ): Promise<Map<Member, Step[]>> {
    const snapshot = await this.snapshot(host, members);
    const steps = new Map<Member, Step[]>();
    for (const member of members) {
      const before = withSecret(previous.devices[member.key]!, previous.privateKeys?.[member.key]);
      const link = await snapshot.readLink(member.inputs.netns, member.inputs.name);
      const owned =
        link &&
        (splitAlias(link.ifalias).token === member.token || (before.tagLost === true && before.ifindex === link.ifindex && !splitAlias(link.ifalias).token));
      if (!link || !owned)
        throw new Error(`${this.where(host, member)} is missing or no longer the device this resource created; run \`pulumi refresh\` so it is recreated`);
      steps.set(member, await member.engine.convergeSteps(snapshot, member.inputs, link, member.token, before as unknown as ParsedInputs));
    }
    return steps;
  }

  /**
   * Makes the devices that are not in `changing` and changes those that are, in ONE script
   * (parents and masters first), then reads them all back (in the same script when they share a
   * namespace and their kinds read nothing more). A device whose create needs the host first (a
   * tun/tap, a device made beside its parent) or finds its name taken goes through the device
   * engine's own create, which takes back this resource's device or adopts. On failure, every
   * device this call made is removed again (checked against its tag on the host), and its
   * boot-time files with it. `files` (the boot-time files' writes and removals) run after the
   * devices' steps, in the same script where they fit.
   */
  private async apply(
    host: Host,
    members: Member[],
    { inPlace = new Map<Member, Step[]>(), files = [], persisted = false }: { inPlace?: Map<Member, Step[]>; files?: Step[]; persisted?: boolean } = {},
  ): Promise<Record<string, DeviceState>> {
    const creates = members.filter((member) => !inPlace.has(member));
    await Promise.all(
      creates.map((member) =>
        requireCapabilities(host, deviceNeeds(member.engine.kind, member.engine.createSteps(member.inputs, member.token)), this.where(host, member)),
      ),
    );
    const ownCreate = (member: Member) => {
      const kind = member.engine.kind;
      return (
        !inPlace.has(member) && (kind.createStep !== undefined || kind.prepare !== undefined || (kind.hasParent === true && member.inputs.netns !== undefined))
      );
    };
    const fused = members.filter((member) => !ownCreate(member));
    // The devices' steps, then each step of the files (an entry without a member).
    const plan: Array<{ member?: Member; steps: Step[] }> = [
      ...fused.map((member) => ({ member, steps: inPlace.get(member) ?? member.engine.createSteps(member.inputs, member.token) })),
      ...files.map((step) => ({ steps: [step] })),
    ];
    const madeIn = (entries: typeof plan) => entries.flatMap((entry) => (entry.member && !inPlace.has(entry.member) ? [entry.member] : []));
    const namespaces = [...new Set(creates.flatMap((member) => member.engine.namespacesOf(member.inputs)))];
    // What the read-back reads, in the script's own command, so that it costs no round trip of
    // its own: the namespaces' dumps, and the kinds' reads that print one line each.
    const wanted = await wantedBy(
      host,
      members.map((member) => member.inputs.netns),
      (recorder) => this.recordReads(recorder, members),
    );
    const readBack = [...wanted.namespaces.map((netns) => dumpCommand(netns || undefined)), ...wanted.reads.filter(printsOneLine)];
    const made: Member[] = [];
    const inHand = new Map<string, string>();
    try {
      let failedAt = plan.length;
      let offset = 0;
      const parts = scripts(plan);
      for (const [index, part] of parts.entries()) {
        const steps = part.flatMap((entry) => entry.steps);
        try {
          const where = `${HOST_DEVICES_TYPE} on ${host.endpoint}`;
          if (steps.length && index === parts.length - 1) {
            const answers = await host.applyAllThenRead(steps, where, readBack, namespaces);
            for (const [i, stdout] of answers.entries()) if (stdout !== undefined) inHand.set(readKey(readBack[i]!), stdout);
          } else if (steps.length) await host.applyAll(steps, where, undefined, namespaces);
          made.push(...madeIn(part));
          offset += part.length;
        } catch (error) {
          if (!(error instanceof StepError) || error.stepIndex === undefined) {
            // No answer: which devices were made is unknown; each is removed if it carries its tag.
            made.push(...creates);
            throw error;
          }
          let at = error.stepIndex;
          const within = part.findIndex((entry) => {
            if (at < entry.steps.length) return true;
            at -= entry.steps.length;
            return false;
          });
          failedAt = offset + within;
          const failed = part[within]!;
          made.push(...madeIn(part.slice(0, within)));
          // The boot-time files could not be written: the error, once the devices made are removed.
          if (!failed.member) throw error;
          // Anything but a create's first step (its add): the script stopped inside a device; it is the error.
          if (inPlace.has(failed.member) || at > 0) {
            if (!inPlace.has(failed.member)) made.push(failed.member);
            throw this.named(error, host, failed.member);
          }
          break;
        }
      }
      // From a device whose add failed on (its name taken, …): one device at a time, each as its own resource would.
      const rest = plan.slice(failedAt);
      const alone = [...rest.flatMap((entry) => (entry.member ? [entry.member] : [])), ...members.filter(ownCreate)];
      for (const member of alone) await this.alone(host, member, inPlace.get(member), made);
      // Then the files that script did not reach.
      await this.runSteps(
        host,
        rest.filter((entry) => !entry.member).flatMap((entry) => entry.steps),
        `${HOST_DEVICES_TYPE} on ${host.endpoint}`,
      );
      // The script's read-back predates what was made after it.
      if (alone.length) inHand.clear();
      const snapshot = await this.snapshot(host, members, inHand);
      const devices: Record<string, DeviceState> = {};
      for (const member of members) {
        const link = await snapshot.readLink(member.inputs.netns, member.inputs.name);
        const observed = await member.engine.observeLink(snapshot, member.inputs, member.id, link);
        if (!observed) throw new Error(`${this.where(host, member)} vanished right after it was ${inPlace.has(member) ? "changed" : "created"}`);
        devices[member.key] = { kind: this.kindOf(member), ...withoutSecret(withoutConnection(observed.outs)) };
      }
      return devices;
    } catch (error) {
      // The files first: NetworkManager would make a device whose profile it holds again.
      if (persisted) await this.runSteps(host, removeFiles(made), `${HOST_DEVICES_TYPE} on ${host.endpoint}`).catch(() => undefined);
      await this.remove(host, made).catch(() => undefined);
      await this.removeNamespaces(host, creates).catch(() => undefined);
      throw error;
    }
  }

  /** Steps run in as few scripts as they fit, one after the other. */
  private async runSteps(host: Host, steps: Step[], where: string): Promise<void> {
    for (const part of scripts(steps.map((step) => ({ steps: [step] })))) {
      const all = part.flatMap((entry) => entry.steps);
      if (all.length) await host.applyAll(all, where);
    }
  }

  /** One device made (or changed) on its own: the device engine's create handles a taken name (take back, adopt, refuse). */
  private async alone(host: Host, member: Member, steps: Step[] | undefined, made: Member[]): Promise<void> {
    if (steps) {
      if (steps.length) await host.applyAll(steps, this.where(host, member));
      return;
    }
    await member.engine.createOn(host, member.inputs, member.id, { token: member.token, where: this.where(host, member), files: [] });
    made.push(member);
  }

  /**
   * Deletes the devices: per namespace one grouped delete, each device checked against its own
   * tag on the host. One that is not plainly this resource's (another tag, none, a failure) goes
   * through the device engine's own delete, which knows a tag cleared by hand, and refuses others.
   */
  private async remove(host: Host, members: Member[]): Promise<void> {
    const byNamespace = new Map<string, Member[]>();
    for (const member of members) {
      const netns = member.inputs.netns ?? "";
      byNamespace.set(netns, [...(byNamespace.get(netns) ?? []), member]);
    }
    const errors: unknown[] = [];
    const groups = [...byNamespace].flatMap(([netns, all]) =>
      Array.from({ length: Math.ceil(all.length / MAX_DELETE_GROUP) }, (_, i) => [netns, all.slice(i * MAX_DELETE_GROUP, (i + 1) * MAX_DELETE_GROUP)] as const),
    );
    // Every group's delete, then the namespaces they leave empty: one round trip.
    const { outcomes, namespaceErrors } = await host.deleteAllThenRemoveNamespaces(
      groups.map(([netns, group]) => ({
        netns: netns || undefined,
        expected: group.map((member) => ({ name: member.inputs.name, tag: ownerTag(member.token) })),
        devices: group.map((member) => this.where(host, member)),
      })),
      this.namespacesOf(members),
    );
    errors.push(...namespaceErrors);
    // A device the group left goes on its own, and then removes the namespaces it kept in use.
    for (const [g, [, group]] of groups.entries()) {
      for (const [i, outcome] of outcomes[g]!.entries()) {
        if (outcome.outcome === "deleted" || outcome.outcome === "absent") continue;
        const member = group[i]!;
        await member.engine.deleteOn(host, member.id, member.inputs).catch((error: unknown) => errors.push(error));
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new Error(errors.map((error) => (error instanceof Error ? error.message : String(error))).join("; "));
  }

  private namespacesOf(members: Member[]): string[] {
    return [...new Set(members.flatMap((member) => member.engine.namespacesOf(member.inputs)))];
  }

  /** Namespaces made implicitly for these devices, removed once nothing but lo is left in them. */
  private async removeNamespaces(host: Host, members: Member[]): Promise<void> {
    for (const netns of this.namespacesOf(members)) await host.removeImplicitNetns(netns);
  }

  private named(error: StepError, host: Host, member: Member): StepError {
    const message = error.message.startsWith(`${HOST_DEVICES_TYPE} on `)
      ? `${this.where(host, member)}${error.message.slice(error.message.indexOf(":"))}`
      : error.message;
    const unsupported = isIpError(error.stderr, "unknown-device-type") ? ` (the kernel lacks ${member.engine.kind.kernelFeature} support)` : "";
    return new StepError(error.field, error.host, error.stderr, `${message}${unsupported}`, error.stepIndex);
  }

  private kindOf(member: Member): KindName {
    return (Object.entries(this.engines) as Array<[KindName, DeviceEngine]>).find(([, engine]) => engine === member.engine)![0];
  }

  private state(
    inputs: { connection: Connection; ownerKey?: string; persist?: string },
    devices: Record<string, DeviceState>,
    privateKeys: PrivateKeys = {},
    via?: PersistVia,
  ): Record<string, unknown> {
    const sortedByKey = <T>(record: Record<string, T>) =>
      Object.fromEntries(
        Object.keys(record)
          .sort()
          .map((key) => [key, record[key]]),
      );
    // Only the keys of devices there are: a device gone from the host takes its key out of state.
    const keys = Object.fromEntries(Object.entries(privateKeys).filter(([key]) => devices[key] !== undefined));
    return {
      connection: storedConnection(inputs.connection),
      devices: sortedByKey(devices),
      ...(Object.keys(keys).length ? { privateKeys: sortedByKey(keys) } : {}),
      ...(inputs.persist !== undefined ? { persist: inputs.persist } : {}),
      ...(via ? { persistVia: via } : {}),
      ...(inputs.ownerKey ? { ownerKey: inputs.ownerKey } : {}),
      schemaVersion: SCHEMA_VERSION,
    };
  }

  private stateFrom(props: Record<string, unknown>): {
    connection: Connection;
    devices: Record<string, DeviceState>;
    privateKeys: PrivateKeys;
    persist?: string;
    persistVia?: unknown;
    ownerKey?: string;
  } {
    refuseNewerState(HOST_DEVICES_TYPE, props);
    return {
      connection: connectionOf(props),
      devices: (isRecord(props.devices) ? props.devices : {}) as Record<string, DeviceState>,
      privateKeys: (isRecord(props.privateKeys) ? props.privateKeys : {}) as PrivateKeys,
      ...(typeof props.persist === "string" ? { persist: props.persist } : {}),
      ...(props.persistVia !== undefined ? { persistVia: props.persistVia } : {}),
      ...(typeof props.ownerKey === "string" ? { ownerKey: props.ownerKey } : {}),
    };
  }
}

/** The devices' names in the host's namespace. */
function hostNamespaceNames(members: Member[]): string[] {
  return members.filter((member) => member.inputs.netns === undefined).map((member) => member.inputs.name);
}

/** A device's boot-time files, written for `via`, as its own resource would write them. */
function bootFiles(member: Member, via: PersistVia): Artifact[] {
  return member.engine.persistence({ ...member.inputs, persist: via } as ParsedInputs, member.token);
}

/** Steps removing every boot-time file these devices may have (or only their NetworkManager profiles), each checked against its device's token. */
function removeFiles(members: Member[], { profilesOnly = false } = {}): Step[] {
  return removeSteps(
    members.map((member) => ({
      token: member.token,
      paths: member.engine.bootPaths(member.inputs, member.token).filter((path) => !profilesOnly || path.startsWith(`${NETWORKMANAGER_DIR}/`)),
    })),
    { maxBytes: MAX_FILES_BYTES },
  );
}

/**
 * What an update does to the boot-time files: each device's written where they differ from what
 * the last `up` wrote for it (all of them after drift, or when they are for another mode now),
 * and the files no device wants any more removed (all of a device that leaves).
 */
function syncFiles(
  before: ReadonlyMap<string, Member>,
  after: Member[],
  via: PersistVia | undefined,
  previousPersist: unknown,
  previousVia: PersistVia | undefined,
): Step[] {
  const rewriteAll = previousPersist === "drifted" || previousVia !== via;
  const writes: Artifact[] = [];
  const removals: Array<{ token: string; paths: string[] }> = [];
  for (const member of after) {
    const wanted = via ? bootFiles(member, via) : [];
    const old = before.get(member.key);
    // What the last `up` wrote for this device (undefined: not known, as state holds what no input could be).
    const had = old && previousVia ? old.engine.bootFilesOf(old.inputs, previousVia, old.token) : [];
    const written = new Map((had ?? []).map((file) => [file.path, expectedFingerprint(file)]));
    writes.push(...wanted.filter((file) => rewriteAll || had === undefined || written.get(file.path) !== expectedFingerprint(file)));
    if (!old || !previousVia) continue;
    const keep = new Set(wanted.map((file) => file.path));
    const stale = rewriteAll || had === undefined ? old.engine.bootPaths(old.inputs, old.token) : [...written.keys()];
    removals.push({ token: member.token, paths: stale.filter((path) => !keep.has(path)) });
  }
  const staying = new Set(after.map((member) => member.key));
  if (previousVia)
    for (const old of before.values()) if (!staying.has(old.key)) removals.push({ token: old.token, paths: old.engine.bootPaths(old.inputs, old.token) });
  return [...removeSteps(removals, { maxBytes: MAX_FILES_BYTES }), ...writeSteps(writes, { maxBytes: MAX_FILES_BYTES })];
}

/** What the last `up` wrote the files for: state says (a persisted state always records it). */
function viaOf(state: { persistVia?: unknown }): PersistVia {
  return (PERSIST_VIAS as readonly unknown[]).includes(state.persistVia) ? (state.persistVia as PersistVia) : "systemd";
}

/** A device's fields with its private key (from `privateKeys`) put back among them, as its kind takes it. */
function withSecret<T extends Record<string, unknown>>(fields: T, privateKey: unknown): T {
  return privateKey === undefined ? fields : { ...fields, [SECRET_FIELD]: privateKey };
}

/** A device's fields without its secret one: the resource holds it in `privateKeys`. */
function withoutSecret<T extends Record<string, unknown>>(fields: T): T {
  const { [SECRET_FIELD]: _secret, ...rest } = fields;
  return rest as T;
}

/**
 * The devices of inputs or state with each one's private key put back among its fields, so that
 * the kind's own rules compare it (a changed key is an in-place change of that device).
 */
function withPrivateKeys(props: { devices?: unknown; privateKeys?: unknown }): unknown {
  if (!isRecord(props.devices) || props.privateKeys === undefined) return props.devices;
  // Not known yet (preview): every device that may hold one may change.
  if (!isRecord(props.privateKeys)) return UNKNOWN;
  const privateKeys = props.privateKeys;
  return Object.fromEntries(Object.entries(props.devices).map(([key, device]) => [key, isRecord(device) ? withSecret(device, privateKeys[key]) : device]));
}

/** A device's outputs without the connection its engine was handed: the resource holds it once. */
function withoutConnection<T extends Record<string, unknown>>(fields: T): T {
  const { connection: _connection, ...rest } = fields;
  return rest as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export const hostDevicesEngine = new HostDevicesEngine();
