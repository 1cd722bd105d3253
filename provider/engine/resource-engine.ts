import type { z } from "zod";
import { type Connection, connectionOf } from "../ssh/connection";
import { storedConnection, withTuningDefaults } from "../ssh/stored-connection";
import { type Artifact, NETWORKMANAGER_DIR, removeStep, syncSteps, wasPersisted } from "../persist/files";
import { persistFailures, persistViaOn, warnNetworkdClaims } from "../persist/host-support";
import { PERSIST_VIAS, type PersistVia } from "../persist/mode";
import { sameValue } from "./compare";
import { sshHosts } from "./host";
import type { Host, HostFactory } from "./host-interface";
import { hasOwnerToken, newOwnerToken, ownerToken } from "./ownership";
import { autoVerdict, persistedState } from "./persisted-state";
import { previewCapabilities, requireCapabilities } from "./preflight";
import type { Needs } from "./preflight-needs";
import type { Step } from "./steps";
import { type CheckFailure, checkInputs, containsUnknown, hostMoved, parseInputs } from "./validation";

/**
 * Bumped when the shape of outputs changes. The provider code stored in state only `require`s
 * the installed runtime (dynamic.ts), so read, update and delete always run the installed
 * release against state that older releases may have written: they must understand every
 * earlier version, and refuse state from a newer one (stateFrom) rather than misread it.
 */
export const SCHEMA_VERSION = 1;

/** What every type's parsed inputs have. */
export type BaseInputs = Record<string, unknown> & { connection: Connection; ownerKey?: string; persist?: string };

/**
 * The connection without what only `check` reads (`preflight`: whether preview probes the
 * host): turning it on or off changes nothing on the host, so it must not show every resource
 * of the stack as an update. The state keeps the value of the last real change; `check`
 * always reads the new inputs.
 */
export function withoutCheckOnly(connection: unknown): unknown {
  if (connection === null || typeof connection !== "object" || !("preflight" in connection)) return connection;
  const { preflight: _preflight, ...rest } = connection as Record<string, unknown>;
  return rest;
}

/** Throws, naming `what`, when the state was written by a newer release than this one: it could misread it. */
export function refuseNewerState(what: string, props: Record<string, unknown>): void {
  if (typeof props.schemaVersion === "number" && props.schemaVersion > SCHEMA_VERSION)
    throw new Error(
      `${what}: its state was written by a newer pulumi-netdev (schema ${props.schemaVersion}; this one understands up to ${SCHEMA_VERSION}); install that release or newer`,
    );
}

/** Prior state (outputs of an earlier create, update or read), with the connection parsed. */
export type PriorState = Record<string, unknown> & { connection: Connection; persist?: unknown };

/** A token for building a resource's create steps before it has one (preview's capability check): only their shape matters. */
const PREVIEW_TOKEN = "000000000000";

/** What the per-type hooks are handed besides their inputs. */
export interface Context {
  /** The owner token: the end of the id. */
  token: string;
  /** How messages name the resource: its type, its description and its host. */
  where: string;
  /** The steps that bring the host's boot-time files in line with the inputs (none without persistence). */
  files: Step[];
}

/**
 * The one lifecycle of every resource type (devices, NetworkNamespace, Route): parsing,
 * prior state (refused when a newer release wrote it), what the host must offer (checked
 * before the first change there, engine/preflight.ts), the persistence pre-check, the
 * boot-time files written, checked and removed, how messages name the resource, and the
 * connection's part of a diff. A type adds small hooks, the split pulumi-go-provider's
 * `infer` uses: identify, observe, create, update and delete on a host.
 */
export abstract class ResourceEngine<Inputs extends BaseInputs, Outputs extends Record<string, unknown>> {
  abstract readonly resourceType: string;
  abstract readonly schema: z.ZodType<Record<string, unknown>>;
  /** Input fields: what read stores as inputs, and what persistence renders from state. */
  protected abstract readonly inputFields: readonly string[];
  protected readonly secretFields: readonly string[] = [];

  constructor(
    /** How the engine reaches a host: over SSH unless a test passes a fake one. */
    protected readonly hosts: HostFactory = sshHosts,
  ) {}

  /** "br0 in namespace c1": the resource in messages, after its type and before its host. */
  protected abstract describe(state: Record<string, unknown>): string;
  /** The resource's id on this host, ending in `#<token>`. */
  protected abstract identify(inputs: Inputs, endpoint: string, token: string): string;
  /** Changes (and replacements) in every field but the connection. */
  protected abstract diffFields(olds: Record<string, unknown>, news: Record<string, unknown>): { changed: string[]; replaces: string[] };
  /** The resource as it is on the host: outputs, and the inputs as they are now (for drift); undefined when gone or not this resource's. */
  protected abstract observe(host: Host, state: PriorState, id: string): Promise<{ outs: Outputs; inputs: Record<string, unknown> } | undefined>;
  protected abstract createOn(host: Host, inputs: Inputs, id: string, context: Context): Promise<Outputs>;
  protected abstract updateOn(host: Host, id: string, inputs: Inputs, previous: PriorState, context: Context): Promise<Outputs>;
  protected abstract deleteOn(host: Host, id: string, state: PriorState, where: string): Promise<void>;
  /** What recreates the resource at boot, `inputs.persist` being a resolved mode (PersistVia; pure). */
  abstract persistence(inputs: Inputs, token: string): Artifact[];
  /** Every path persistence may ever have written for this resource (removal is tag-checked). */
  protected abstract persistedPaths(state: Record<string, unknown>, token: string): string[];
  /**
   * What the resource needs of its host (engine/preflight.ts), from the commands its create runs
   * (preflight.ts's stepNeeds): checked before its create or update changes anything there.
   */
  protected abstract needs(inputs: Inputs, token: string): Needs;
  /** What it needs whatever its inputs say: what a preview checks while some are still unknown. */
  protected fixedNeeds(): Needs {
    return { resourceType: this.resourceType, tools: [] };
  }
  /** Names it gives devices in the host's namespace (a device's own): checked against what systemd-networkd claims there. */
  protected hostNamespaceNames(_inputs: Inputs): string[] {
    return [];
  }
  /** What the host must run for persistence to work, `inputs.persist` being a resolved mode (persist/host-support.ts). */
  protected persistNeeds(_inputs: Record<string, unknown>): { needs: "systemd" | "networkd" | "networkmanager"; routes?: boolean; deviceNames?: string[] } {
    return { needs: "systemd" };
  }

  /** Validates inputs; nothing touches a host. Values unknown during preview are checked later, at create/update. */
  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    const checked = checkInputs(this.schema, this.resourceType, news, this.secretFields);
    // These inputs are state: the connection is stored without its default tuning (stored-connection.ts).
    return checked.failures.length ? checked : { ...checked, inputs: withStoredConnection(checked.inputs) };
  }

  /** Parses inputs that must be complete (create/update), throwing one error that names every bad field. */
  parse(inputs: Record<string, unknown>): Inputs {
    return parseInputs(this.schema, this.resourceType, inputs, this.secretFields) as unknown as Inputs;
  }

  /**
   * At check, so in `pulumi preview` too: what the host offers, when the connection asks for it
   * (`preflight: true`); then, with persist on, what persistence needs there (persist/host-support.ts;
   * what "auto" picks there is said here, in preview). Both come from the one probe of the host
   * (engine/preflight.ts), which a create then reuses.
   */
  async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    const what = containsUnknown(inputs) ? this.resourceType : `${this.resourceType} ${this.describe(inputs)}`;
    const capabilities = await previewCapabilities(what, inputs, this.hosts, () => this.needs(this.parse(inputs), PREVIEW_TOKEN), this.fixedNeeds());
    return [...capabilities, ...(await this.persistPreflight(inputs))];
  }

  private async persistPreflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
    if (!wasPersisted(inputs.persist) || containsUnknown(inputs.connection)) return [];
    const host = this.hosts(connectionOf(inputs));
    const via = await persistViaOn(host, inputs.persist);
    const { needs, ...options } = this.persistNeeds({ ...inputs, persist: via });
    return persistFailures(host, String(inputs.persist), needs, options);
  }

  /**
   * Another host replaces the resource; new credentials for the same host are an update, so
   * that refresh and delete use them. A replacement deletes first: names are fixed on a host.
   */
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const { changed, replaces } = this.diffFields(olds, news);
    if (hostMoved(olds, news)) replaces.unshift("connection");
    // A connection with its default tuning spelled out (as state may hold it) is the same connection without it.
    else if (!sameValue(withTuningDefaults(withoutCheckOnly(olds.connection)), withTuningDefaults(withoutCheckOnly(news.connection))))
      changed.push("connection");
    return { changes: changed.length + replaces.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  }

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Outputs }> {
    const inputs = this.parse(rawInputs);
    const host = this.hosts(inputs.connection);
    const token = newOwnerToken(inputs.ownerKey);
    const id = this.identify(inputs, host.endpoint, token);
    const where = this.where(host, inputs);
    await requireCapabilities(host, this.needs(inputs, token), where);
    await warnNetworkdClaims(host, this.hostNamespaceNames(inputs));
    const via = await persistViaOn(host, inputs.persist);
    const outs = await this.createOn(host, inputs, id, { token, where, files: this.persistSteps(inputs, token, via) });
    return { id, outs: { ...withStoredConnection(withoutVia(outs)), ...(via ? { persistVia: via } : {}), schemaVersion: SCHEMA_VERSION } };
  }

  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
    const state = this.stateFrom(props);
    const host = this.hosts(state.connection);
    const persisted = wasPersisted(state.persist) && hasOwnerToken(id);
    const found = await this.observe(host, state, id);
    const observed = found && { outs: withoutVia(found.outs), inputs: withoutVia(found.inputs) };
    // An empty id tells the engine the resource is gone; any other answer must carry the id.
    if (!observed) {
      // The resource leaves the stack: what would bring it back at boot, with this resource's
      // owner tag, goes with it (only files carrying that tag).
      if (persisted) {
        await this.removeBootFiles(host, state, ownerToken(id));
        console.warn(`netdev: ${this.where(host, state)} is gone (or no longer this resource's): removed its boot-time files`);
      }
      return { id: "", props: {} };
    }
    let persistVia: PersistVia | undefined;
    if (persisted) {
      // What the last `up` wrote for: state says (before persistVia existed, only networkd was).
      persistVia = isVia(state.persistVia) ? state.persistVia : isVia(state.persist) ? state.persist : "networkd";
      // The files as parsed from state render exactly what the last `up` wrote, unless a refresh
      // stored drift there since (a key that differs on the host, an alias set by hand): state
      // then holds what the host showed, which is no input and renders nothing the last `up`
      // wrote. The last verdict stands; the `up` that undoes the drift rewrites the files.
      const where = this.where(host, state);
      const files = this.bootFilesOf(state, persistVia, ownerToken(id));
      const found = files ? await persistedState(host, where, files, String(state.persist)) : String(state.persist);
      // "auto" on a host that now runs another network manager: the files are for the old one.
      const verdict = await autoVerdict(host, where, state.persist, persistVia, found);
      observed.inputs.persist = (observed.outs as Record<string, unknown>).persist = verdict;
    }
    // The connection as state holds it, not as parsed: a refresh changes nothing the host does not.
    const asStored = (fields: Record<string, unknown>) => ("connection" in fields ? { ...fields, connection: props.connection } : fields);
    return {
      id,
      props: { ...asStored(observed.outs), ...(persistVia ? { persistVia } : {}), schemaVersion: SCHEMA_VERSION },
      inputs: asStored(observed.inputs),
    };
  }

  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Outputs }> {
    const inputs = this.parse(news);
    const previous = this.stateFrom(olds);
    const host = this.hosts(inputs.connection);
    const token = ownerToken(id);
    const where = this.where(host, inputs);
    await requireCapabilities(host, this.needs(inputs, token), where);
    await warnNetworkdClaims(host, this.hostNamespaceNames(inputs));
    const via = await persistViaOn(host, inputs.persist);
    const outs = await this.updateOn(host, id, inputs, previous, {
      token,
      where,
      files: this.persistSteps(inputs, token, via, previous.persist),
    });
    return { outs: { ...withStoredConnection(withoutVia(outs)), ...(via ? { persistVia: via } : {}), schemaVersion: SCHEMA_VERSION } };
  }

  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    const state = this.stateFrom(props);
    const host = this.hosts(state.connection);
    // A NetworkManager profile goes first (unloaded, the device left as it is): NetworkManager
    // makes a profile's device again when it sees it deleted while the profile autoconnects.
    if (state.persistVia === "networkmanager" && hasOwnerToken(id)) {
      const profiles = this.persistedPaths(state, ownerToken(id)).filter((path) => path.startsWith(`${NETWORKMANAGER_DIR}/`));
      await host.applyAll(removeStep(profiles, ownerToken(id)), this.where(host, state));
    }
    await this.deleteOn(host, id, state, this.where(host, state));
    // Gone: its boot-time files go too (those carrying this resource's tag).
    if (wasPersisted(state.persist) && hasOwnerToken(id)) await this.removeBootFiles(host, state, ownerToken(id));
  }

  /**
   * The boot-time files the last `up` wrote for this state (its input fields, written for `via`);
   * undefined when state holds what no input could be (drift a refresh stored there).
   */
  bootFilesOf(state: Record<string, unknown>, via: PersistVia, token: string): Artifact[] | undefined {
    const stored = this.schema.safeParse({ ...Object.fromEntries(this.inputFields.map((key) => [key, state[key]])), persist: via });
    return stored.success ? this.persistence(stored.data as unknown as Inputs, token) : undefined;
  }

  /** Every path persistence may have written for this resource, whichever way (removal checks the token). */
  bootPaths(state: Record<string, unknown>, token: string): string[] {
    return this.persistedPaths(state, token);
  }

  protected where(host: Host, state: Record<string, unknown>): string {
    return `${this.resourceType} ${this.describe(state)} on ${host.endpoint}`;
  }

  /** Removes the boot-time files persistence may have written for this resource, those carrying this token. */
  protected async removeBootFiles(host: Host, state: Record<string, unknown>, token: string): Promise<void> {
    await host.applyAll(this.unpersistSteps(state, token), this.where(host, state));
  }

  /** The step that removes every boot-time file of this resource that carries its token. */
  protected unpersistSteps(state: Record<string, unknown>, token: string): Step[] {
    return removeStep(this.persistedPaths(state, token), token);
  }

  /** Steps that bring the host's persisted files in line with the inputs (written for `via`): write what is wanted, remove what is not. */
  protected persistSteps(inputs: Inputs, token: string, via: PersistVia | undefined, before?: unknown): Step[] {
    return syncSteps(via ? this.persistence({ ...inputs, persist: via }, token) : undefined, this.persistedPaths(inputs, token), token, before);
  }

  /** State written by this or an older schema version, with the connection parsed. */
  protected stateFrom(props: Record<string, unknown>): PriorState {
    refuseNewerState(`${this.resourceType} ${this.describe(props)}`, props);
    return { ...props, connection: connectionOf(props) };
  }
}

/** Inputs or outputs with their connection (when they have one) as state keeps it. */
function withStoredConnection<T extends Record<string, unknown>>(fields: T): T {
  return "connection" in fields ? { ...fields, connection: storedConnection(fields.connection) } : fields;
}

function isVia(value: unknown): value is PersistVia {
  return (PERSIST_VIAS as readonly unknown[]).includes(value);
}

/** Outputs without a stale `persistVia` (state echoed back): the engine sets it from what it wrote. */
function withoutVia<T extends Record<string, unknown>>(record: T): T {
  const { persistVia: _via, ...rest } = record;
  return rest as T;
}
