import { z } from "zod";
import { connectionField, namespaceName } from "../../engine/fields";
import { sameValue } from "../../engine/engine";
import { sshHosts } from "../../engine/host";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { connectionOf, type Connection } from "../../ssh/connection";
import { newOwnerToken, OWNER_PREFIX, ownerKeyField, ownerTag, ownerToken } from "../../engine/ownership";
import { type CheckFailure, checkInputs, containsUnknown, hostMoved, parseInputs } from "../../engine/validation";
import type { Step } from "../../engine/kind";
import { persistedState } from "../../engine/persisted-state";
import { persistField, removeStep, syncSteps, wasPersisted, type Artifact } from "../../persist/files";
import { namespaceUnitName, oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";
import { persistFailures } from "../../persist/host-support";

/**
 * A named network namespace on a host (`ip netns add`), with its loopback up: a "container"
 * that devices are moved into.
 *
 * Ownership: a namespace has no alias of its own, so the owner tag (the same `netdev#<token>`
 * the device engine writes into ifalias) goes on the namespace's `lo`. Delete refuses a
 * namespace whose tag differs (someone else's), and refuses one that still holds devices other
 * than `lo` (deleting the namespace would silently destroy them, and a veth's host end with
 * them) unless `force: true`. In a Pulumi program the devices inside depend on the namespace,
 * so they are deleted first and the check passes.
 *
 * `name` and the host (connection) force replacement; `force` and `adopt` change nothing on
 * the host. Lab hosts (netns-based) each have a private /run/netns, so names are per host.
 */
export const NAMESPACE_TYPE = "NetworkNamespace";

export const namespaceSchema = z.strictObject({
  connection: connectionField,
  name: namespaceName.describe('The namespace\'s name (`ip netns`), 1-64 characters: letters, digits and _ . -, e.g. "web".'),
  adopt: z.boolean().default(false).describe("Take over an existing namespace of this name instead of failing."),
  force: z.boolean().default(false).describe("Delete the namespace even when devices other than lo are still inside (they are destroyed with it)."),
  /** Derived from the resource's identity by its class: see engine/ownership.ts. */
  ownerKey: ownerKeyField,
  persist: persistField.describe(
    '"networkd": recreate the namespace at boot (a oneshot unit that devices in it order after). "none" or omitted: nothing survives a reboot.',
  ),
});

type NamespaceInputs = z.output<typeof namespaceSchema>;

export interface NamespaceOutputs extends Record<string, unknown> {
  name: string;
  /** Interfaces in the namespace other than lo, as last observed. */
  devices: string[];
}

async function exists(host: Host, name: string): Promise<boolean> {
  const list = await host.readJson<Array<{ name: string }>>({ tool: "ip", args: ["-json", "netns", "list"] });
  return list.some((entry) => entry.name === name);
}

/** Links inside the namespace, with lo's alias (the owner tag). */
async function contents(host: Host, name: string): Promise<{ devices: string[]; loAlias?: string }> {
  const links = await host.readJson<Array<{ ifname: string; ifalias?: string }>>({ tool: "ip", netns: name, args: ["-json", "link", "show"] });
  return {
    devices: links
      .map((l) => l.ifname)
      .filter((n) => n !== "lo")
      .sort(),
    loAlias: links.find((l) => l.ifname === "lo")?.ifalias,
  };
}

/** The commands that make the namespace, tagged and with lo up: run by create, replayed at boot. */
function makeSteps(name: string, token: string): Step[] {
  return [
    { field: "name", tool: "ip", args: ["netns", "add", name] },
    { field: "name", tool: "ip", netns: name, args: ["link", "set", "dev", "lo", "alias", ownerTag(token)] },
    { field: "name", tool: "ip", netns: name, args: ["link", "set", "dev", "lo", "up"] },
  ];
}

/** A oneshot unit under the well-known name devices in the namespace order after (persist/oneshot.ts). */
function persistence(inputs: { name: string; persist?: string }, token: string): Artifact[] | undefined {
  if (inputs.persist !== "networkd") return undefined;
  return oneshotArtifacts({
    token,
    unitName: namespaceUnitName(inputs.name),
    what: `${NAMESPACE_TYPE} ${inputs.name}`,
    steps: makeSteps(inputs.name, token),
    namespaces: [],
    waitFor: [],
    exists: { field: "name", tool: "ip", netns: inputs.name, args: ["link", "show", "dev", "lo"] },
  });
}

const persistedPaths = (name: string, token: string) => oneshotPaths(token, namespaceUnitName(name));

/** The NetworkNamespace engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createNamespaceEngine(hosts: HostFactory = sshHosts) {
  return {
    check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
      return checkInputs(namespaceSchema, NAMESPACE_TYPE, news);
    },

    /** With persist on: systemd on the host (persist/host-support.ts). */
    async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
      if (inputs.persist !== "networkd" || containsUnknown(inputs.connection)) return [];
      return persistFailures(hosts(connectionOf(inputs)), "systemd");
    },

    parse(inputs: Record<string, unknown>): NamespaceInputs {
      return parseInputs(namespaceSchema, NAMESPACE_TYPE, inputs) as never;
    },

    diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
      const replaces: string[] = [];
      let changes = false;
      if (containsUnknown(news.name) || olds.name !== news.name) replaces.push("name");
      if (hostMoved(olds, news)) replaces.push("connection");
      if ((olds.force ?? false) !== (news.force ?? false)) changes = true;
      // New credentials for the same host: stored by an update, so that refresh and delete use them.
      if (!sameValue(olds.connection, news.connection)) changes = true;
      if (containsUnknown(news.persist) || (olds.persist ?? "none") !== (news.persist ?? "none")) changes = true;
      return { changes: changes || replaces.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
    },

    async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: NamespaceOutputs }> {
      const inputs = this.parse(rawInputs);
      const host = hosts(inputs.connection);
      const tag = newOwnerToken(inputs.ownerKey);
      const id = `${host.endpoint}/netns/${inputs.name}#${tag}`;
      const where = `${NAMESPACE_TYPE} ${inputs.name} on ${host.endpoint}`;
      const already = await exists(host, inputs.name);
      if (already) {
        const { loAlias } = await contents(host, inputs.name);
        // Its own tag: made by this resource in a `pulumi up` that died before recording it.
        const own = loAlias === ownerTag(tag);
        if (!own && !inputs.adopt) throw new Error(`${where} already exists; set adopt: true to take it over, or choose another name`);
        if (!own && loAlias?.startsWith(OWNER_PREFIX))
          throw new Error(`cannot adopt ${where}: it is already managed by another netdev resource (owner tag ${loAlias.slice(OWNER_PREFIX.length)})`);
      }
      const [add, ...tagAndUp] = makeSteps(inputs.name, tag);
      const files = syncSteps(persistence(inputs, tag), persistedPaths(inputs.name, tag), tag, undefined);
      try {
        // One round trip: the namespace (unless it is being taken over), its tag, lo up and the boot-time unit.
        await host.applyAll([...(already ? [] : [add!]), ...tagAndUp, ...files], where);
      } catch (error) {
        // Not when the add itself failed: a namespace of that name appeared meanwhile, not ours.
        const addFailed = error instanceof StepError && error.stepIndex === 0 && !already;
        if (!already && !addFailed) await host.run({ tool: "ip", args: ["netns", "del", inputs.name] }).catch(() => undefined);
        if (files.length) await host.applyAll(removeStep(persistedPaths(inputs.name, tag), tag), where).catch(() => undefined);
        throw error;
      }
      const outs = await this.observe(host, inputs, id);
      if (!outs) throw new Error(`${where} vanished right after it was created`);
      return { id, outs };
    },

    async observe(
      host: Host,
      state: { name: string; connection: Connection; force?: boolean; adopt?: boolean; persist?: string },
      id: string,
    ): Promise<NamespaceOutputs | undefined> {
      if (!(await exists(host, state.name))) return undefined;
      const { devices, loAlias } = await contents(host, state.name);
      if (loAlias !== ownerTag(ownerToken(id))) return undefined;
      return {
        connection: state.connection,
        name: state.name,
        adopt: state.adopt ?? false,
        force: state.force ?? false,
        ...(state.persist !== undefined ? { persist: state.persist } : {}),
        devices,
      };
    },

    async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
      const connection = connectionOf(props);
      const state = { ...props, connection } as NamespaceInputs;
      const outs = await this.observe(hosts(connection), state, id);
      if (!outs) {
        // The resource leaves the stack, and so does the unit that would make the namespace at boot.
        if (wasPersisted(props.persist)) {
          const host = hosts(connection);
          await host.applyAll(removeStep(persistedPaths(state.name, ownerToken(id)), ownerToken(id)), `${NAMESPACE_TYPE} ${state.name} on ${host.endpoint}`);
        }
        return { id: "", props: {} };
      }
      if (wasPersisted(props.persist)) {
        const host = hosts(connection);
        outs.persist = await persistedState(
          host,
          `${NAMESPACE_TYPE} ${state.name} on ${host.endpoint}`,
          persistence({ name: state.name, persist: "networkd" }, ownerToken(id))!,
        );
      }
      const { devices: _devices, ...inputs } = outs;
      return { id, props: outs, inputs };
    },

    async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: NamespaceOutputs }> {
      const inputs = this.parse(news);
      const host = hosts(inputs.connection);
      const outs = await this.observe(host, inputs, id);
      if (!outs) throw new Error(`${NAMESPACE_TYPE} ${inputs.name} is missing or no longer the one this resource created; run \`pulumi refresh\``);
      const token = ownerToken(id);
      await host.applyAll(
        syncSteps(persistence(inputs, token), persistedPaths(inputs.name, token), token, olds.persist),
        `${NAMESPACE_TYPE} ${inputs.name} on ${host.endpoint}`,
      );
      return { outs };
    },

    async delete(id: string, props: Record<string, unknown>): Promise<void> {
      const host = hosts(connectionOf(props));
      const name = props.name as string;
      const where = `${NAMESPACE_TYPE} ${name} on ${host.endpoint}`;
      await this.deleteNamespace(host, id, props, where);
      // The namespace is gone: its boot-time unit goes too.
      if (wasPersisted(props.persist)) await host.applyAll(removeStep(persistedPaths(name, ownerToken(id)), ownerToken(id)), where);
    },

    async deleteNamespace(host: Host, id: string, props: Record<string, unknown>, where: string): Promise<void> {
      const name = props.name as string;
      const deletable = async () => {
        if (!(await exists(host, name))) return false;
        const { devices, loAlias } = await contents(host, name);
        if (loAlias !== ownerTag(ownerToken(id))) {
          throw new Error(
            `refusing to delete ${where}: it is not the namespace this resource created (lo alias ${JSON.stringify(loAlias ?? "")}, expected ${ownerTag(ownerToken(id))})`,
          );
        }
        if (devices.length && props.force !== true) {
          throw new Error(`refusing to delete ${where}: it still holds ${devices.join(", ")}; delete those first or set force: true`);
        }
        return true;
      };
      if (!(await deletable())) return;
      // The host checks again under the namespace's lock as it deletes: a device created in it
      // since (another stack naming it as `netns`) is never deleted with it.
      if ((await host.deleteNamespaceIfStill(name, ownerTag(ownerToken(id)), props.force === true, where)) === "deleted") return;
      await deletable();
      throw new Error(`refusing to delete ${where}: it changed while being deleted; run the delete again`);
    },
  };
}

export const namespaceEngine = createNamespaceEngine();
