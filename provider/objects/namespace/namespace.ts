import { z } from "zod";
import { namespaceName } from "../../engine/fields";
import { HostShell } from "../../engine/host";
import { connectionOf, connectionSchema, type Connection } from "../../ssh/connection";
import { newOwnerToken, OWNER_PREFIX, ownerKeyField, ownerTag, ownerToken } from "../../engine/ownership";
import { type CheckFailure, checkInputs, containsUnknown, hostMoved, parseInputs } from "../../engine/validation";

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
  connection: connectionSchema,
  name: namespaceName,
  /** Take over an existing namespace of this name instead of failing. */
  adopt: z.boolean().default(false),
  /** Delete even when devices other than lo are still inside (they are destroyed with it). */
  force: z.boolean().default(false),
  /** Derived from the resource's identity by its class: see engine/ownership.ts. */
  ownerKey: ownerKeyField,
});

type NamespaceInputs = z.output<typeof namespaceSchema>;

export interface NamespaceOutputs extends Record<string, unknown> {
  name: string;
  /** Interfaces in the namespace other than lo, as last observed. */
  devices: string[];
}

async function exists(host: HostShell, name: string): Promise<boolean> {
  const list = await host.readJson<Array<{ name: string }>>({ tool: "ip", args: ["-json", "netns", "list"] });
  return list.some((entry) => entry.name === name);
}

/** Links inside the namespace, with lo's alias (the owner tag). */
async function contents(host: HostShell, name: string): Promise<{ devices: string[]; loAlias?: string }> {
  const links = await host.readJson<Array<{ ifname: string; ifalias?: string }>>({ tool: "ip", netns: name, args: ["-json", "link", "show"] });
  return { devices: links.map((l) => l.ifname).filter((n) => n !== "lo").sort(), loAlias: links.find((l) => l.ifname === "lo")?.ifalias };
}

export const namespaceEngine = {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    return checkInputs(namespaceSchema, NAMESPACE_TYPE, news);
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
    return { changes: changes || replaces.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: NamespaceOutputs }> {
    const inputs = this.parse(rawInputs);
    const host = new HostShell(inputs.connection);
    const tag = newOwnerToken(inputs.ownerKey);
    const id = `${host.endpoint}/netns/${inputs.name}#${tag}`;
    const where = `${NAMESPACE_TYPE} ${inputs.name} on ${host.endpoint}`;
    if (await exists(host, inputs.name)) {
      const { loAlias } = await contents(host, inputs.name);
      // Its own tag: made by this resource in a `pulumi up` that died before recording it.
      const own = loAlias === ownerTag(tag);
      if (!own && !inputs.adopt) throw new Error(`${where} already exists; set adopt: true to take it over, or choose another name`);
      if (!own && loAlias?.startsWith(OWNER_PREFIX)) throw new Error(`cannot adopt ${where}: it is already managed by another netdev resource (owner tag ${loAlias.slice(OWNER_PREFIX.length)})`);
    } else {
      await host.apply({ field: "name", tool: "ip", args: ["netns", "add", inputs.name] }, where);
    }
    try {
      await host.apply({ field: "name", tool: "ip", netns: inputs.name, args: ["link", "set", "dev", "lo", "alias", ownerTag(tag)] }, where);
      await host.apply({ field: "name", tool: "ip", netns: inputs.name, args: ["link", "set", "dev", "lo", "up"] }, where);
    } catch (error) {
      if (!inputs.adopt) await host.run({ tool: "ip", args: ["netns", "del", inputs.name] }).catch(() => undefined);
      throw error;
    }
    const outs = await this.observe(host, inputs, id);
    if (!outs) throw new Error(`${where} vanished right after it was created`);
    return { id, outs };
  },

  async observe(host: HostShell, state: { name: string; connection: Connection; force?: boolean; adopt?: boolean }, id: string): Promise<NamespaceOutputs | undefined> {
    if (!(await exists(host, state.name))) return undefined;
    const { devices, loAlias } = await contents(host, state.name);
    if (loAlias !== ownerTag(ownerToken(id))) return undefined;
    return { connection: state.connection, name: state.name, adopt: state.adopt ?? false, force: state.force ?? false, devices };
  },

  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
    const connection = connectionOf(props);
    const state = { ...props, connection } as NamespaceInputs;
    const outs = await this.observe(new HostShell(connection), state, id);
    if (!outs) return { id: "", props: {} };
    const { devices: _devices, ...inputs } = outs;
    return { id, props: outs, inputs };
  },

  async update(id: string, _olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: NamespaceOutputs }> {
    const inputs = this.parse(news);
    const outs = await this.observe(new HostShell(inputs.connection), inputs, id);
    if (!outs) throw new Error(`${NAMESPACE_TYPE} ${inputs.name} is missing or no longer the one this resource created; run \`pulumi refresh\``);
    return { outs };
  },

  async delete(id: string, props: Record<string, unknown>): Promise<void> {
    const host = new HostShell(connectionOf(props));
    const name = props.name as string;
    const where = `${NAMESPACE_TYPE} ${name} on ${host.endpoint}`;
    if (!(await exists(host, name))) return;
    const { devices, loAlias } = await contents(host, name);
    if (loAlias !== ownerTag(ownerToken(id))) {
      throw new Error(`refusing to delete ${where}: it is not the namespace this resource created (lo alias ${JSON.stringify(loAlias ?? "")}, expected ${ownerTag(ownerToken(id))})`);
    }
    if (devices.length && props.force !== true) {
      throw new Error(`refusing to delete ${where}: it still holds ${devices.join(", ")}; delete those first or set force: true`);
    }
    await host.apply({ field: "name", tool: "ip", args: ["netns", "del", name] }, where);
  },
};
