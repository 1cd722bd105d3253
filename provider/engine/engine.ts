import { z } from "zod";
import type { Connection } from "../ssh/connection";
import { aliasText, addressList, connectionField, interfaceName, macAddress, mtu, namespaceName } from "./fields";
import { sameValue } from "./compare";
import { type Host, type HostFactory, type ReadCommand, StepError } from "./host-interface";
import { HostSnapshot, linkReadCommand, placeholderLink, printsOneLine, readKey, wantedBy } from "./host-snapshot";
import { type Context, type PriorState, ResourceEngine } from "./resource-engine";
import { isIpError } from "./ip-errors";
import type { LinkState } from "./iplink";
import type { CommonFields, DeviceKind, Step } from "./kind";
import { OWNER_PREFIX, ownerKeyField, ownerTag, splitAlias } from "./ownership";
import { addressSteps } from "./steps";
import { type Artifact, neededFor, persistField, wasPersisted } from "../persist/files";
import { deviceNeeds } from "./preflight";
import type { Needs } from "./preflight-needs";
import { networkdArtifacts, networkdPaths } from "../persist/networkd";
import { keyfileCanDescribe, keyfilePath, networkManagerArtifacts } from "../persist/networkmanager";
import { oneshotArtifacts, oneshotPaths } from "../persist/oneshot";
import { containsUnknown, ownerToken } from "./validation";
import type { ExecResult } from "../ssh/pool";

export { sameValue };
export { SCHEMA_VERSION } from "./resource-engine";

export const commonShape = {
  connection: connectionField,
  name: interfaceName.describe('The device\'s name on the host: 1-15 characters, letters, digits and _ . @ + -, e.g. "br0".'),
  netns: namespaceName
    .optional()
    .describe(
      'The network namespace the device lives in, e.g. "web"; omitted, the host\'s own. Created when missing, and then removed again with the last device in it.',
    ),
  mtu: mtu
    .optional()
    .describe("The device's MTU in bytes (68-65535); omitted, the kernel's default for the kind. The `linkMtu` output is the MTU the device actually has."),
  up: z.boolean().default(true).describe("Whether the device is administratively up (`ip link set up`)."),
  macAddress: macAddress
    .optional()
    .describe('The device\'s MAC address, unicast, e.g. "02:00:00:aa:bb:cc"; omitted, the kernel picks one (the `hwAddress` output).'),
  addresses: addressList
    .optional()
    .describe(
      'IPv4 and IPv6 addresses in CIDR form, e.g. ["10.0.0.1/24", "fd00::1/64"]: the device holds exactly these. Omitted, addresses are left as they are.',
    ),
  master: interfaceName.optional().describe('A bridge, bond or VRF this device joins, by name, in the same namespace, e.g. "br0".'),
  alias: aliasText
    .optional()
    .describe("Free text stored as the device's alias (ifalias), after the owner tag netdev writes there; printable, at most 235 bytes in UTF-8."),
  adopt: z
    .boolean()
    .default(false)
    .describe("Take over an existing device of this name and kind instead of failing (`pulumi import` does not work for dynamic providers)."),
  /** Off by default: outputs are state, which the Pulumi CLI rewrites after every step, so each output costs every later step. */
  reportKindInfo: z.boolean().optional().describe("Also output `kindInfo`: everything `ip -details` reports for the kind (a bridge's is 37 attributes)."),
  /** Derived from the resource's identity by its class: see ownership.ts. */
  ownerKey: ownerKeyField,
  persist: persistField.describe(
    '"networkd", "networkmanager", "systemd": also write what recreates the device at boot (systemd-networkd files, NetworkManager keyfiles, or a oneshot unit; "systemd": the unit only); "auto": the first of these the host runs (the `persistVia` output says which). See provider/persist/README.md. "none" or omitted: nothing survives a reboot.',
  ),
};

/** Fields whose change always replaces a device, whatever its kind: the kernel cannot rename a device in place without breaking whatever refers to it by name. */
export const REPLACE_ALWAYS = ["name", "netns"];

export interface DeviceOutputs extends Record<string, unknown> {
  ifindex: number;
  operState: string;
  hwAddress: string;
  linkMtu: number;
  /** Only with reportKindInfo. */
  kindInfo?: Record<string, unknown>;
}

/**
 * A kind's fields with `shape` (the common fields, or a subset of them plus whatever holds the
 * device elsewhere: HostDevices' `kind`), and the rules across fields every device obeys.
 */
export function deviceSchema<Shape extends z.ZodRawShape, KindShape extends z.ZodRawShape>(
  kind: { fields: KindShape; refine?(inputs: never): { field: string; message: string } | undefined },
  shape: Shape,
) {
  const refine = kind.refine as ((inputs: ParsedInputs) => { field: string; message: string } | undefined) | undefined;
  return z.strictObject({ ...shape, ...kind.fields } as Shape & KindShape).superRefine((parsed, ctx) => {
    const value = parsed as unknown as CommonFields;
    const problem = refine?.(parsed as unknown as ParsedInputs);
    if (problem) ctx.addIssue({ code: "custom", path: [problem.field], message: problem.message });
    if (value.master !== undefined && value.master === value.name)
      ctx.addIssue({ code: "custom", path: ["master"], message: "a device cannot be its own master" });
  });
}

/** Whether the device carries the owner tag of the resource with this id. */
function ownedBy(link: LinkState, id: string): boolean {
  return splitAlias(link.ifalias).token === ownerToken(id);
}

/** Parsed inputs of any kind: the common fields typed, the kind's own fields as the kind parsed them. */
export type ParsedInputs = Record<string, unknown> & CommonFields & { connection: Connection; adopt: boolean; ownerKey?: string };

/**
 * The device engine: the lifecycle of ResourceEngine with a device kind's hooks. It is not
 * generic in the kind's shape: it only passes the kind's parsed inputs back to the kind, so it
 * sees every kind as DeviceKind<ZodRawShape> (registry.ts widens each kind once) and needs no
 * casts at those calls.
 */
export class DeviceEngine extends ResourceEngine<ParsedInputs, DeviceOutputs> {
  readonly resourceType: string;
  readonly schema: z.ZodType<Record<string, unknown>>;
  protected readonly inputFields: string[];
  protected override readonly secretFields: readonly string[];

  constructor(
    readonly kind: DeviceKind,
    hosts?: HostFactory,
  ) {
    super(hosts);
    this.resourceType = kind.resourceType;
    this.secretFields = kind.secretFields ?? [];
    this.inputFields = [...Object.keys(commonShape), ...Object.keys(kind.fields)];
    this.schema = deviceSchema(kind, commonShape) as unknown as z.ZodType<Record<string, unknown>>;
  }

  protected describe(state: Record<string, unknown>): string {
    return `${String(state.name)}${state.netns ? ` in namespace ${String(state.netns)}` : ""}`;
  }

  protected identify(inputs: ParsedInputs, endpoint: string, token: string): string {
    return `${endpoint}/${inputs.netns ?? "-"}/${inputs.name}#${token}`;
  }

  /** The kind's kernel support, and what its create's commands need (engine/preflight.ts). */
  protected needs(inputs: ParsedInputs, token: string): Needs {
    return deviceNeeds(this.kind, this.createSteps(inputs, token));
  }

  /** Whatever the inputs: the kind's kernel support. */
  protected override fixedNeeds(): Needs {
    return deviceNeeds(this.kind, []);
  }

  protected override hostNamespaceNames(inputs: ParsedInputs): string[] {
    return inputs.netns === undefined ? [inputs.name] : [];
  }

  /**
   * With persist on (`inputs.persist` a resolved mode): systemd, and networkd or NetworkManager
   * for the kinds persisted by their files; see persist/host-support.ts.
   */
  protected override persistNeeds(inputs: Record<string, unknown>): { needs: "systemd" | "networkd" | "networkmanager"; deviceNames: string[] } {
    const needs = containsUnknown(inputs) ? "systemd" : neededFor(this.persistence(this.parse(inputs), "000000000000"));
    // A device in the host's namespace only: networkd does not see the others.
    return { needs, deviceNames: inputs.netns === undefined && typeof inputs.name === "string" ? [inputs.name] : [] };
  }

  /**
   * A known change of `master` moves the device in place. An unknown one is what Pulumi asks
   * about when the master this device's `master` Output came from must be replaced: deleting
   * the master releases its members, and nothing would enslave them to the new one, so the
   * answer is "replace", and Pulumi deletes the member before the master and makes it again
   * after (its dependent replacement; parents, namespaces and route devices already replace).
   */
  diffFields(olds: Record<string, unknown>, news: Record<string, unknown>): { changed: string[]; replaces: string[] } {
    const replaceKeys = new Set([...REPLACE_ALWAYS, ...this.kind.replaceOn]);
    const changed: string[] = [];
    const replaces: string[] = [];
    for (const key of this.inputFields) {
      // Neither changes the device: adopt matters only at create, ownerKey is fixed by the id;
      // the connection is the lifecycle's (ResourceEngine.diff).
      if (key === "adopt" || key === "ownerKey" || key === "connection") continue;
      const before = olds[key];
      const after = news[key];
      if (containsUnknown(after) || !sameValue(before, after)) {
        changed.push(key);
        if (replaceKeys.has(key) || (key === "master" && containsUnknown(after))) replaces.push(key);
      }
    }
    // A device whose tag was cleared by hand (see observe) is tagged again by an update.
    if (olds.tagLost === true && replaces.length === 0) changed.push("alias");
    return { changed, replaces };
  }

  async createOn(host: Host, inputs: ParsedInputs, id: string, { token, where, files }: Context): Promise<DeviceOutputs> {
    // The device as `from` reads it: the host, or what the create's own script read back.
    const finish = async (from: Host = host) => {
      const outs = await this.observeLink(from, inputs, id);
      if (!outs) throw new Error(`${where} vanished right after it was created`);
      return outs.outs;
    };
    const custom = this.kind.createStep?.(inputs);
    // A device on a parent is made beside the parent and moved into its namespace under a
    // temporary name: older kernels refuse the move when the host has a device of that name.
    const viaHost = this.kind.hasParent === true && inputs.netns !== undefined;
    // `ip link add` itself refuses a taken name, so it needs no read first; these do not say so
    // at the add (a temporary name; `ip tuntap add` may attach to an existing persistent tap).
    if (viaHost || custom) {
      const existing = await host.readLink(inputs.netns, inputs.name);
      if (existing) {
        await this.takeOver(host, inputs, existing, token, where, files);
        return finish();
      }
    }
    await this.kind.prepare?.(inputs, host);
    const temporaryName = `ndtmp${token.slice(0, 10)}`;
    const steps = this.createSteps(inputs, token);
    // One round trip: every step, the persisted files and the read-back (the device, and what its
    // kind reads of it) in one remote script (HostShell.applyAllThenRead).
    const reads = oneLine(await this.readsOf(host, inputs));
    try {
      // Namespaces it needs are made (and locked against removal) in the same script.
      return await finish(answeredBy(host, reads, await this.applyWithFiles(host, steps, files, where, reads, this.namespacesOf(inputs))));
    } catch (error) {
      if (error instanceof StepError && error.stepIndex === 0) {
        if (isIpError(error.stderr, "unknown-device-type")) {
          await this.removeImplicitNamespaces(host, inputs).catch(() => undefined);
          throw new Error(`kernel on ${host.endpoint} lacks ${this.kind.kernelFeature} support: cannot create ${where} (ip: ${error.stderr})`);
        }
        if (isIpError(error.stderr, "not-supported")) {
          await this.removeImplicitNamespaces(host, inputs).catch(() => undefined);
          throw new Error(`kernel on ${host.endpoint} does not support ${this.kind.kernelFeature} with these settings: ${error.message}`);
        }
        const existing = isIpError(error.stderr, "exists") ? await host.readLink(inputs.netns, inputs.name) : undefined;
        if (existing) {
          await this.takeOver(host, inputs, existing, token, where, files);
          return finish();
        }
        await this.removeImplicitNamespaces(host, inputs).catch(() => undefined);
        throw error;
      }
      // Nothing may leak: a device that could not be fully configured is removed again (when
      // the outcome is unknown, only if it carries this resource's tag, checked on the host in
      // the script that deletes it).
      const made = error instanceof StepError && error.stepIndex !== undefined;
      if (viaHost) await host.run({ tool: "ip", netns: inputs.netns, args: ["link", "del", "dev", temporaryName] }).catch(() => undefined);
      if (made) await host.run({ tool: "ip", netns: inputs.netns, args: ["link", "del", "dev", inputs.name] }).catch(() => undefined);
      else await host.deleteChecked(inputs.netns, { name: inputs.name, tag: ownerTag(token) }, where).catch(() => undefined);
      if (wasPersisted(inputs.persist)) await host.applyAll(this.unpersistSteps(inputs, token), where).catch(() => undefined);
      await this.removeImplicitNamespaces(host, inputs).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Every command a create runs, in order, once the name is known to be free: the add (or the
   * kind's own create step), the rename of a device made beside its parent, then tag, master,
   * the kind's extra steps, addresses, up. Pure: the hostile-input fuzz test builds them too.
   */
  createSteps(inputs: ParsedInputs, token: string): Step[] {
    const custom = this.kind.createStep?.(inputs);
    const viaHost = this.kind.hasParent === true && inputs.netns !== undefined;
    const temporaryName = `ndtmp${token.slice(0, 10)}`;
    const linkAttributes = [...(inputs.mtu ? ["mtu", String(inputs.mtu)] : []), ...(inputs.macAddress ? ["address", inputs.macAddress] : [])];
    const add: Step = custom ?? {
      field: "create",
      tool: "ip",
      netns: viaHost ? undefined : inputs.netns,
      args: [
        "link",
        "add",
        "name",
        viaHost ? temporaryName : inputs.name,
        ...linkAttributes,
        ...(viaHost ? ["netns", inputs.netns!] : []),
        ...(this.kind.createArgs?.(inputs) ?? []),
      ],
    };
    return [
      add,
      ...(viaHost ? [{ field: "name", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", temporaryName, "name", inputs.name] } satisfies Step] : []),
      ...(custom ? this.mtuAndMacSteps(inputs) : []),
      ...this.tagAndAttachSteps(inputs, token),
      ...(this.kind.afterCreate?.(inputs) ?? []),
      ...addressSteps("addresses", inputs.netns, inputs.name, inputs.addresses, []),
      this.upStep(inputs),
      ...(this.kind.afterUp?.(inputs) ?? []),
    ];
  }

  /**
   * An existing device of this name: this resource's own (made by a `pulumi up` that died
   * before recording it), or one to adopt, or a refusal that changes nothing.
   */
  private async takeOver(host: Host, inputs: ParsedInputs, existing: LinkState, token: string, where: string, files: Step[]): Promise<void> {
    const owner = splitAlias(existing.ifalias).token;
    if (owner === token) return this.retake(host, inputs, existing, token, where, files);
    await this.removeImplicitNamespaces(host, inputs).catch(() => undefined);
    if (!inputs.adopt) {
      throw new Error(`${where} already exists (a ${existing.infoKind ?? "plain"} device); set adopt: true to take it over, or choose another name`);
    }
    if (!this.kind.infoKinds.includes(existing.infoKind ?? "")) {
      throw new Error(`cannot adopt ${where}: it is a ${existing.infoKind ?? "plain"} device, not ${this.kind.infoKinds.join("/")}`);
    }
    if (owner) throw new Error(`cannot adopt ${where}: it is already managed by another netdev resource (owner tag ${owner})`);
    await this.retake(host, inputs, existing, token, `cannot adopt ${where}`, files);
  }

  /** Refresh reads every device at about the same time: they share one dump per host and namespace. */
  protected async observe(host: Host, state: PriorState, id: string): Promise<{ outs: DeviceOutputs; inputs: Record<string, unknown> } | undefined> {
    const device = state as PriorState & CommonFields;
    return this.observeLink(host, device, id, await host.readLinkShared(device.netns, device.name));
  }

  protected async updateOn(host: Host, id: string, inputs: ParsedInputs, prior: PriorState, { token, where, files }: Context): Promise<DeviceOutputs> {
    const previous = prior as PriorState & CommonFields;
    // The device and what its kind reads of it, at once: overlapping reads of a host travel as one exec.
    const reads = await this.readsOf(host, inputs);
    const now = answeredBy(host, reads, await Promise.all(reads.map((read) => host.exec({ ...read, idempotent: true }))));
    const link = await now.readLink(inputs.netns, inputs.name);
    if (!link || (!ownedBy(link, id) && !(previous.tagLost === true && this.lostItsTag(link, previous)))) {
      throw new Error(`${where} is missing or no longer the device this resource created; run \`pulumi refresh\` so it is recreated`);
    }
    const readBack = oneLine(reads);
    const answers = await this.converge(now, inputs, link, token, previous, { reads: readBack, files });
    const outs = await this.observeLink(answeredBy(host, readBack, answers), inputs, id);
    if (!outs) throw new Error(`${where} vanished during the update`);
    return outs.outs;
  }

  async deleteOn(host: Host, id: string, prior: PriorState): Promise<void> {
    const state = prior as PriorState & CommonFields;
    // The common case in one round trip: the host checks our tag and deletes.
    const fused = await host.deleteOwned(state.netns, state.name, ownerToken(id), this.where(host, state));
    if (fused.outcome === "deleted" || fused.outcome === "absent") return this.removeImplicitNamespaces(host, state);
    if (fused.outcome === "failed") {
      // Gone all the same (deleted by the time we look): done. Else the delete's own error says why.
      const link = await host.readLink(state.netns, state.name).catch(() => {
        throw fused.error;
      });
      if (!link) return this.removeImplicitNamespaces(host, state);
      throw fused.error;
    }
    // Not carrying our tag: a device whose tag was cleared by hand may still be ours (see lostItsTag).
    const link = await host.readLink(state.netns, state.name);
    if (!link) return this.removeImplicitNamespaces(host, state);
    const owner = splitAlias(link.ifalias).token;
    const refusal = (seen: string | undefined) =>
      new Error(
        `refusing to delete ${this.where(host, state)}: it is not the device this resource created (owner tag ${seen ?? "none"}, expected ${ownerToken(id)}). ` +
          "If the device is no longer this stack's, run `pulumi refresh` (it drops this resource from the stack, leaving the device alone), then `pulumi destroy` again; " +
          "to remove the device itself, delete it by hand (`ip link del`) first.",
      );
    if (owner !== ownerToken(id) && !(state.tagLost === true && this.lostItsTag(link, state))) throw refusal(owner);
    // Deleted only if it is still the device just read (its ifindex) with the tag it had then,
    // checked on the host just before the delete: not one swapped in under the name meanwhile.
    const checked = await host.deleteChecked(
      state.netns,
      { name: state.name, tag: owner === undefined ? undefined : ownerTag(owner), ifindex: link.ifindex },
      this.where(host, state),
    );
    if (checked.outcome === "failed") throw checked.error;
    if (checked.outcome === "not-ours") throw refusal(splitAlias((await host.readLink(state.netns, state.name))?.ifalias).token);
    await this.removeImplicitNamespaces(host, state);
  }

  /**
   * Takes over an existing device of this kind: one this resource made before a crash (its own
   * tag), or an untagged one to adopt. Fields that cannot change in place must already match;
   * the rest converge, and the owner tag is written last, so a failed adopt leaves the device
   * with the alias it had.
   */
  private async retake(host: Host, inputs: ParsedInputs, existing: LinkState, token: string, refusal: string, files: Step[]): Promise<void> {
    if (!this.kind.infoKinds.includes(existing.infoKind ?? "")) {
      throw new Error(`${refusal}: it is a ${existing.infoKind ?? "plain"} device, not ${this.kind.infoKinds.join("/")}`);
    }
    const actual = await this.kind.read(existing, host, inputs.netns, inputs);
    const fixed = this.kind.replaceOn.filter((key) => inputs[key] !== undefined && !sameValue(inputs[key], actual[key]));
    if (fixed.length) {
      const detail = fixed.map((key) => `${key} is ${JSON.stringify(actual[key])} on the host, ${JSON.stringify(inputs[key])} in the inputs`).join("; ");
      throw new Error(`${refusal}: ${detail}, and these cannot change in place; match the inputs to the device, or delete it first`);
    }
    try {
      // The boot files first: a failure there has not touched the device.
      await this.converge(host, inputs, existing, token, undefined, { tagLast: true, filesFirst: true, files });
    } catch (error) {
      await this.restore(host, inputs, existing, actual, token).catch(() => undefined);
      throw error;
    }
  }

  /**
   * After a failed take-over: the device back exactly as it was found (`existing`, and `kindBefore`
   * from the kind's read), and no boot files of this token. Only while it is still that device
   * (same ifindex). The alias comes first: whatever else fails, no owner tag is left behind. A
   * secret field (a WireGuard private key) is never read, so it cannot be put back.
   */
  private async restore(host: Host, inputs: ParsedInputs, existing: LinkState, kindBefore: Record<string, unknown>, token: string): Promise<void> {
    const where = this.where(host, inputs);
    const [ns, dev] = [inputs.netns, inputs.name];
    if (wasPersisted(inputs.persist)) await this.removeBootFiles(host, inputs, token).catch(() => undefined);
    const now = await host.readLink(ns, dev);
    if (!now || now.ifindex !== existing.ifindex) return;
    const set = (field: string, ...args: string[]): Step => ({ field, tool: "ip", netns: ns, args: ["link", "set", "dev", dev, ...args] });
    const steps: Step[] = [];
    if (now.ifalias !== existing.ifalias) steps.push(set("alias", "alias", existing.ifalias ?? ""));
    if (now.master !== existing.master) steps.push(existing.master ? set("master", "master", existing.master) : set("master", "nomaster"));
    if (now.mtu !== existing.mtu) steps.push(set("mtu", "mtu", String(existing.mtu)));
    if (now.address !== existing.address && existing.address) steps.push(set("macAddress", "address", existing.address));
    steps.push(...addressSteps("addresses", ns, dev, existing.addresses, now.addresses));
    if (now.up !== existing.up) steps.push(set("up", existing.up ? "up" : "down"));
    if (steps.length) await host.applyAll(steps, where);
    const secret = new Set<string>(this.kind.secretFields ?? []);
    const kindNow = await this.kind.read(now, host, ns, inputs);
    const kindSteps = this.kind.update({ ...inputs, ...kindBefore }, kindNow, inputs).filter((step) => !secret.has(step.field));
    if (kindSteps.length) await host.applyAll(kindSteps, where);
  }

  /**
   * The very device this resource recorded (same ifindex: not deleted and made again by
   * someone else) of this kind, with no owner tag at all: its alias was cleared by hand.
   */
  private lostItsTag(link: LinkState, state: Record<string, unknown>): boolean {
    return state.ifindex === link.ifindex && splitAlias(link.ifalias).token === undefined && this.kind.infoKinds.includes(link.infoKind ?? "");
  }

  /** Namespaces this device lives in (or its other end does), for implicit-namespace cleanup. */
  namespacesOf(inputs: Record<string, unknown> & CommonFields): string[] {
    return [inputs.netns, ...(this.kind.namespacesUsed?.(inputs) ?? [])].filter((ns): ns is string => ns !== undefined);
  }

  /** Removes namespaces the provider made implicitly for this device once nothing but lo is left in them. */
  async removeImplicitNamespaces(host: Host, inputs: Record<string, unknown> & CommonFields): Promise<void> {
    for (const netns of new Set(this.namespacesOf(inputs))) await host.removeImplicitNetns(netns);
  }

  /**
   * What recreates the device at boot (`inputs.persist` a resolved mode, never "auto"):
   * networkd's files where the kind can describe the device to networkd (host namespace, no
   * master: networkd names a master by its kind, which the inputs do not say), NetworkManager's
   * keyfile where a profile can (persist/networkmanager.ts), else a oneshot unit replaying
   * exactly the argv of createSteps. Pure: the unit tier renders it for every kind.
   */
  persistence(inputs: ParsedInputs, token: string): Artifact[] {
    if (inputs.persist !== "networkd" && inputs.persist !== "networkmanager" && inputs.persist !== "systemd") return [];
    const what = `${this.kind.resourceType} ${inputs.name}${inputs.netns ? ` in namespace ${inputs.netns}` : ""}`;
    const networkd = inputs.persist === "networkd" && inputs.netns === undefined && inputs.master === undefined ? this.kind.networkd?.(inputs) : undefined;
    if (networkd) return networkdArtifacts(networkd, inputs, this.aliasValue(inputs, token), token, what);
    const profile = inputs.persist === "networkmanager" && keyfileCanDescribe(inputs) ? this.kind.networkmanager?.(inputs) : undefined;
    if (profile) return networkManagerArtifacts(profile, inputs, this.aliasValue(inputs, token), token, what);
    const parent = this.kind.hasParent && typeof inputs.parent === "string" ? [{ name: inputs.parent, up: true }] : [];
    return oneshotArtifacts({
      token,
      what,
      steps: this.createSteps(inputs, token),
      namespaces: this.namespacesOf(inputs),
      waitFor: [...parent, ...(inputs.master ? [{ netns: inputs.netns, name: inputs.master }] : [])],
      exists: { field: "name", tool: "ip", netns: inputs.netns, args: ["link", "show", "dev", inputs.name] },
    });
  }

  /** Every path persistence may have written for this device, whichever way (removal is tag-checked). */
  protected persistedPaths(state: Record<string, unknown>, token: string): string[] {
    return [...Object.values(networkdPaths(String(state.name))), keyfilePath(String(state.name)), ...oneshotPaths(token)];
  }

  /**
   * What reading the device takes: the device itself, then each read its kind makes of it (a
   * veth's peer and its sysctl, a VTEP's FDB), learnt by running the kind's read against a
   * recording snapshot. Asks nothing of the host: an update reads them all in one round trip,
   * and a create or an update reads back those that print one line in its own script.
   */
  private async readsOf(host: Host, inputs: ParsedInputs): Promise<Array<ReadCommand>> {
    const own = linkReadCommand(inputs.netns, inputs.name);
    const wanted = await wantedBy(host, [], (recorder) => this.recordRead(recorder, inputs), "links");
    return [own, ...wanted.reads.filter((read) => readKey(read) !== readKey(own))];
  }

  /** The kind's read of this device against a recording snapshot: only to learn which commands it reads (what it makes of the empty answers is dropped). */
  async recordRead(recorder: HostSnapshot, inputs: ParsedInputs): Promise<void> {
    await this.kind.read(placeholderLink(inputs.name, this.kind.infoKinds[0]), recorder, inputs.netns, inputs).catch(() => undefined);
  }

  /**
   * Steps and the persisted files' writes in one round trip, then `reads` (each one line, or
   * undefined where it failed) in the same command; two only when both need stdin (a WireGuard
   * key kept for boot).
   */
  private async applyWithFiles(
    host: Host,
    steps: Step[],
    files: Step[],
    where: string,
    reads: ReadonlyArray<ReadCommand> = [],
    namespaces: readonly string[] = [],
    filesFirst = false,
  ): Promise<Array<string | undefined>> {
    const run = async (these: Step[], withNamespaces: readonly string[]) => {
      if (reads.length) return host.applyAllThenRead(these, where, reads, withNamespaces);
      await host.applyAll(these, where, undefined, withNamespaces);
      return [];
    };
    const oneCommand = [...steps, ...files].filter((step) => step.stdin !== undefined).length <= 1;
    if (filesFirst) {
      if (oneCommand) return run([...files, ...steps], namespaces);
      await host.applyAll(files, where);
      return run(steps, namespaces);
    }
    if (oneCommand) return run([...steps, ...files], namespaces);
    const out = await run(steps, namespaces);
    await host.applyAll(files, where).catch((error: unknown) => {
      // Numbered after the first command's steps, as in one command: to create, a failure at
      // step 0 means nothing was made, and a device made and tagged must not be kept.
      if (error instanceof StepError && error.stepIndex !== undefined)
        throw new StepError(error.field, error.host, error.stderr, error.message, steps.length + error.stepIndex);
      throw error;
    });
    return out;
  }

  /** MTU and MAC steps for what the inputs set and the device (when known) does not already have. */
  private mtuAndMacSteps(inputs: CommonFields, link?: LinkState): Step[] {
    const steps: Step[] = [];
    if (inputs.mtu !== undefined && inputs.mtu !== link?.mtu)
      steps.push({ field: "mtu", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, "mtu", String(inputs.mtu)] });
    if (inputs.macAddress !== undefined && inputs.macAddress !== link?.address)
      steps.push({ field: "macAddress", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, "address", inputs.macAddress] });
    return steps;
  }

  private tagAndAttachSteps(inputs: CommonFields, token: string): Step[] {
    const steps: Step[] = [
      { field: "alias", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, "alias", this.aliasValue(inputs, token)] },
    ];
    if (inputs.master) steps.push({ field: "master", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, "master", inputs.master] });
    return steps;
  }

  private aliasValue(inputs: CommonFields, token: string): string {
    return `${OWNER_PREFIX}${token}${inputs.alias ? ` ${inputs.alias}` : ""}`;
  }

  private upStep(inputs: CommonFields): Step {
    return { field: "up", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, inputs.up ? "up" : "down"] };
  }

  /** Applies in place whatever differs between the inputs and the device as it is. */
  private async converge(
    host: Host,
    inputs: ParsedInputs,
    link: LinkState,
    token: string,
    previous: CommonFields | undefined,
    options: { tagLast?: boolean; reads?: ReadonlyArray<ReadCommand>; files?: Step[]; filesFirst?: boolean } = {},
  ): Promise<Array<string | undefined>> {
    const steps = await this.convergeSteps(host, inputs, link, token, previous, options);
    // One round trip for every step, and the read-back when asked for.
    return this.applyWithFiles(host, steps, options.files ?? [], this.where(host, inputs), options.reads ?? [], [], options.filesFirst);
  }

  /**
   * The steps that bring the device from `link` (as read) to the inputs in place, in order;
   * the host is only read (a bond master's kind, the kind's own read). Pure otherwise: a caller
   * that changes many devices at once runs them in its own command.
   */
  async convergeSteps(
    host: Host,
    inputs: ParsedInputs,
    link: LinkState,
    token: string,
    previous: CommonFields | undefined,
    options: { tagLast?: boolean } = {},
  ): Promise<Step[]> {
    const ns = inputs.netns;
    const dev = inputs.name;
    const steps: Step[] = this.mtuAndMacSteps(inputs, link);
    const tag: Step[] =
      link.ifalias !== this.aliasValue(inputs, token)
        ? [{ field: "alias", tool: "ip", netns: ns, args: ["link", "set", "dev", dev, "alias", this.aliasValue(inputs, token)] }]
        : [];
    if (!options.tagLast) steps.push(...tag);
    // A bond refuses a member that is up ("can not be enslaved while up"): such a member goes
    // down just before it joins, and comes up again below. Bridges and VRFs take it as it is.
    let downForBond = false;
    if (inputs.master !== undefined && inputs.master !== link.master) {
      downForBond = link.up && (await host.readLink(ns, inputs.master))?.infoKind === "bond";
      if (downForBond) steps.push({ field: "master", tool: "ip", netns: ns, args: ["link", "set", "dev", dev, "down"] });
      steps.push({ field: "master", tool: "ip", netns: ns, args: ["link", "set", "dev", dev, "master", inputs.master] });
    }
    if (inputs.master === undefined && previous?.master !== undefined && link.master !== undefined)
      steps.push({ field: "master", tool: "ip", netns: ns, args: ["link", "set", "dev", dev, "nomaster"] });
    const kindActual = await this.kind.read(link, host, ns, inputs);
    steps.push(...this.kind.update(inputs, kindActual, previous as Record<string, unknown> | undefined));
    steps.push(...addressSteps("addresses", ns, dev, inputs.addresses, link.addresses, previous?.addresses));
    if (inputs.up !== link.up || (downForBond && inputs.up)) steps.push(this.upStep(inputs));
    if (options.tagLast) steps.push(...tag);
    return steps;
  }

  /** Reads the device back: outputs for state, and the inputs as they now are on the host (for drift). */
  async observeLink(
    host: Host,
    state: Record<string, unknown> & CommonFields,
    id: string,
    alreadyRead?: LinkState,
  ): Promise<{ outs: DeviceOutputs; inputs: Record<string, unknown> } | undefined> {
    const link = alreadyRead ?? (await host.readLink(state.netns, state.name));
    if (!link) return undefined;
    const tagLost = this.lostItsTag(link, state);
    if (!ownedBy(link, id) && !tagLost) return undefined;
    if (tagLost) {
      // Someone cleared the alias (and our tag with it): the device is still there under its
      // name and kind, so it stays in the stack instead of silently leaving it; the next `up` tags it again.
      console.warn(
        `netdev: ${this.where(host, state)} has lost its owner tag (its alias was changed by hand); keeping it in the stack, the next \`pulumi up\` tags it again`,
      );
    }
    const kindActual = await this.kind.read(link, host, state.netns, state);
    const managed = (key: string, actual: unknown) => (state[key] === undefined ? undefined : actual);
    const inputs: Record<string, unknown> = {
      ...Object.fromEntries(this.inputFields.map((key) => [key, state[key]])),
      mtu: managed("mtu", link.mtu),
      macAddress: managed("macAddress", link.address),
      addresses: managed("addresses", link.addresses),
      master: state.master === undefined ? undefined : (link.master ?? null),
      alias: state.alias === undefined ? undefined : splitAlias(link.ifalias).alias,
      up: link.up,
      ...Object.fromEntries(Object.keys(this.kind.fields).map((key) => [key, managed(key, kindActual[key])])),
    };
    for (const key of Object.keys(inputs)) if (inputs[key] === undefined) delete inputs[key];
    const outs: DeviceOutputs = {
      ...inputs,
      ifindex: link.ifindex,
      operState: link.operstate,
      hwAddress: link.address,
      linkMtu: link.mtu,
      ...(state.reportKindInfo === true ? { kindInfo: withoutTimers(link.infoData) } : {}),
      ...this.kind.outputs?.compute(kindActual, state as never),
      ...(tagLost ? { tagLost: true } : {}),
    };
    return { outs, inputs };
  }
}

/**
 * info_data without its running timers (a bridge's hello_timer, gc_timer, …): they change every
 * second, so stored as an output they would make every refresh report a change, and they are
 * state that Pulumi rewrites after each step.
 */
function withoutTimers(infoData: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(infoData).filter(([key]) => !key.endsWith("_timer")));
}

/** The reads a script can return framed by lines (printsOneLine). */
function oneLine(reads: ReadonlyArray<ReadCommand>): Array<ReadCommand> {
  return reads.filter(printsOneLine);
}

/**
 * The host as these reads found it: each of `reads` answered by `answers` (a result, or a
 * script's stdout; undefined where a read's line failed, which then goes to the host), everything
 * else asked of the host itself.
 */
function answeredBy(host: Host, reads: ReadonlyArray<ReadCommand>, answers: ReadonlyArray<string | ExecResult | undefined>): HostSnapshot {
  const known = new Map<string, ExecResult>();
  for (const [i, answer] of answers.entries()) {
    if (answer === undefined || !reads[i]) continue;
    known.set(readKey(reads[i]), typeof answer === "string" ? { stdout: answer, stderr: "", exitCode: 0 } : answer);
  }
  return new HostSnapshot(host, new Map(), known);
}
