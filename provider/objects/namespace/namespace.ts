import { z } from "zod";
import { connectionField, namespaceName } from "../../engine/fields";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { OWNER_PREFIX, ownerKeyField, ownerTag, ownerToken } from "../../engine/ownership";
import { stepNeeds } from "../../engine/preflight";
import type { Needs } from "../../engine/preflight-needs";
import { type Context, type PriorState, ResourceEngine } from "../../engine/resource-engine";
import type { Step } from "../../engine/steps";
import { containsUnknown } from "../../engine/validation";
import { type Artifact, persistField } from "../../persist/files";
import { namespaceUnitName, oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";

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
    '"networkd", "networkmanager", "systemd" or "auto": recreate the namespace at boot (a oneshot unit, whatever the mode, that devices in it order after). "none" or omitted: nothing survives a reboot.',
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
function bootUnit(inputs: { name: string }, token: string): Artifact[] {
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

/** The NetworkNamespace engine: ResourceEngine's lifecycle with a namespace's hooks. */
export class NamespaceEngine extends ResourceEngine<NamespaceInputs, NamespaceOutputs> {
  readonly resourceType = NAMESPACE_TYPE;
  readonly schema = namespaceSchema as unknown as z.ZodType<Record<string, unknown>>;
  protected readonly inputFields = Object.keys(namespaceSchema.shape);

  protected describe(state: Record<string, unknown>): string {
    return String(state.name);
  }

  protected identify(inputs: NamespaceInputs, endpoint: string, token: string): string {
    return `${endpoint}/netns/${inputs.name}#${token}`;
  }

  /** `ip netns` working for the login (its create's commands make and enter the namespace). */
  protected needs(inputs: NamespaceInputs, token: string): Needs {
    return stepNeeds(NAMESPACE_TYPE, makeSteps(inputs.name, token));
  }

  protected override fixedNeeds(): Needs {
    return { resourceType: NAMESPACE_TYPE, tools: [], namespaces: true };
  }

  protected diffFields(olds: Record<string, unknown>, news: Record<string, unknown>): { changed: string[]; replaces: string[] } {
    const replaces = containsUnknown(news.name) || olds.name !== news.name ? ["name"] : [];
    const changed: string[] = [];
    if ((olds.force ?? false) !== (news.force ?? false)) changed.push("force");
    if (containsUnknown(news.persist) || (olds.persist ?? "none") !== (news.persist ?? "none")) changed.push("persist");
    return { changed, replaces };
  }

  persistence(inputs: NamespaceInputs, token: string): Artifact[] {
    return bootUnit(inputs, token);
  }

  protected persistedPaths(state: Record<string, unknown>, token: string): string[] {
    return oneshotPaths(token, namespaceUnitName(String(state.name)));
  }

  protected async createOn(host: Host, inputs: NamespaceInputs, id: string, { token, where, files }: Context): Promise<NamespaceOutputs> {
    const already = await exists(host, inputs.name);
    if (already) {
      const { loAlias } = await contents(host, inputs.name);
      // Its own tag: made by this resource in a `pulumi up` that died before recording it.
      const own = loAlias === ownerTag(token);
      if (!own && !inputs.adopt) throw new Error(`${where} already exists; set adopt: true to take it over, or choose another name`);
      if (!own && loAlias?.startsWith(OWNER_PREFIX))
        throw new Error(`cannot adopt ${where}: it is already managed by another netdev resource (owner tag ${loAlias.slice(OWNER_PREFIX.length)})`);
    }
    const [add, ...tagAndUp] = makeSteps(inputs.name, token);
    try {
      // One round trip: the namespace (unless it is being taken over), its tag, lo up and the boot-time unit.
      await host.applyAll([...(already ? [] : [add!]), ...tagAndUp, ...files], where);
    } catch (error) {
      // Not when the add itself failed: a namespace of that name appeared meanwhile, not ours.
      const addFailed = error instanceof StepError && error.stepIndex === 0 && !already;
      if (!already && !addFailed) await host.run({ tool: "ip", args: ["netns", "del", inputs.name] }).catch(() => undefined);
      if (files.length) await host.applyAll(this.unpersistSteps(inputs, token), where).catch(() => undefined);
      throw error;
    }
    const observed = await this.observe(host, inputs, id);
    if (!observed) throw new Error(`${where} vanished right after it was created`);
    return observed.outs;
  }

  protected async observe(host: Host, state: PriorState, id: string): Promise<{ outs: NamespaceOutputs; inputs: Record<string, unknown> } | undefined> {
    const name = String(state.name);
    if (!(await exists(host, name))) return undefined;
    const { devices, loAlias } = await contents(host, name);
    if (loAlias !== ownerTag(ownerToken(id))) return undefined;
    const inputs = {
      connection: state.connection,
      name,
      adopt: state.adopt ?? false,
      force: state.force ?? false,
      ...(state.persist !== undefined ? { persist: state.persist } : {}),
    };
    return { outs: { ...inputs, devices }, inputs };
  }

  protected async updateOn(host: Host, id: string, inputs: NamespaceInputs, _previous: PriorState, { where, files }: Context): Promise<NamespaceOutputs> {
    const observed = await this.observe(host, inputs, id);
    if (!observed) throw new Error(`${NAMESPACE_TYPE} ${inputs.name} is missing or no longer the one this resource created; run \`pulumi refresh\``);
    await host.applyAll(files, where);
    return observed.outs;
  }

  protected async deleteOn(host: Host, id: string, props: PriorState, where: string): Promise<void> {
    const name = String(props.name);
    const tag = ownerTag(ownerToken(id));
    const deletable = async () => {
      if (!(await exists(host, name))) return false;
      const { devices, loAlias } = await contents(host, name);
      if (loAlias !== tag) {
        throw new Error(
          `refusing to delete ${where}: it is not the namespace this resource created (lo alias ${JSON.stringify(loAlias ?? "")}, expected ${tag})`,
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
    if ((await host.deleteNamespaceIfStill(name, tag, props.force === true, where)) === "deleted") return;
    await deletable();
    throw new Error(`refusing to delete ${where}: it changed while being deleted; run the delete again`);
  }
}

/** The NetworkNamespace engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createNamespaceEngine(hosts?: HostFactory): NamespaceEngine {
  return new NamespaceEngine(hosts);
}

export const namespaceEngine = createNamespaceEngine();
