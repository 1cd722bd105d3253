import { expect } from "vitest";
import { deviceEngine as engineFor } from "../../provider/registry";
import { sshPool } from "../../provider/ssh/pool";
import { connection, connectionInput } from "./lab-hosts";

type Props = Record<string, unknown>;

/** The device as `ip` on the host reports it, read without the engine's own parser. */
export async function hostLink(hostName: string, netns: string | undefined, name: string): Promise<any | undefined> {
  const argv = ["ip", ...(netns ? ["-n", netns] : []), "-json", "-details", "addr", "show", "dev", name];
  const result = await sshPool().exec(connection(hostName), argv);
  if (result.exitCode !== 0) return undefined;
  return JSON.parse(result.stdout)[0];
}

export async function onHost(hostName: string, argv: string[]): Promise<string> {
  return sshPool().run(connection(hostName), argv);
}

export interface LifecycleSpec {
  type: string;
  host: string;
  inputs: Props;
  /** Checks right after create, on the host. */
  verifyCreated: (link: any, outs: Props) => void | Promise<void>;
  inPlace: Array<{ patch: Props; verify: (link: any, outs: Props) => void | Promise<void> }>;
  replace: { patch: Props; verify: (link: any, outs: Props) => void | Promise<void> };
  /** argv that makes a device of this kind and name out of band, for the adoption step. */
  outOfBandCreate: string[];
}

/** Removes what an earlier, failed run may have left on the host. */
async function removeLeftovers(spec: LifecycleSpec): Promise<void> {
  for (const p of [spec.inputs, { ...spec.inputs, ...spec.replace.patch }]) {
    const argv = ["ip", ...(p.netns ? ["-n", p.netns as string] : []), "link", "del", "dev", p.name as string];
    await sshPool().exec(connection(spec.host), argv);
  }
}

/** create → read → in-place updates → replace → drift → out-of-band delete → adopt → delete, all on a lab host. */
export async function runLifecycle(spec: LifecycleSpec): Promise<void> {
  await removeLeftovers(spec);
  try {
    await lifecycle(spec);
  } finally {
    await removeLeftovers(spec);
  }
}

async function lifecycle(spec: LifecycleSpec): Promise<void> {
  const engine = engineFor(spec.type);
  const withConnection = (p: Props) => engine.check({ connection: connectionInput(spec.host), ...spec.inputs, ...p });
  let name = spec.inputs.name as string;
  let netns = spec.inputs.netns as string | undefined;
  const checked = withConnection({});
  expect(checked.failures).toEqual([]);

  // create
  const created = await engine.create(checked.inputs);
  let { id } = created;
  let outs: Props = created.outs;
  let link = await hostLink(spec.host, netns, name);
  expect(link, "device exists on the host after create").toBeDefined();
  expect(link.linkinfo.info_kind).toBe(engine.kind.infoKinds.find((k) => k === link.linkinfo.info_kind));
  expect(link.ifalias).toMatch(/^netdev#/);
  expect(outs.ifindex).toBe(link.ifindex);
  await spec.verifyCreated(link, outs);

  // read matches inputs: a refresh right after create shows no drift
  const read = await engine.read(id, outs);
  expect(read.id).toBe(id);
  expect(engine.diff(read.props, checked.inputs)).toMatchObject({ changes: false, replaces: [] });
  expect(engine.diff(outs, checked.inputs).changes).toBe(false);

  // each in-place field updated and verified on the host
  let current = checked.inputs;
  for (const step of spec.inPlace) {
    const next = withConnection({ ...step.patch });
    expect(next.failures).toEqual([]);
    const diff = engine.diff(outs, next.inputs);
    expect(diff, `in-place change ${JSON.stringify(step.patch)}`).toMatchObject({ changes: true, replaces: [] });
    const updated = await engine.update(id, outs, next.inputs);
    outs = updated.outs;
    const after = await hostLink(spec.host, netns, name);
    expect(after.ifindex, "in-place update keeps the same device").toBe(link.ifindex);
    await step.verify(after, outs);
    expect(engine.diff(outs, next.inputs).changes).toBe(false);
    current = next.inputs;
  }

  // a replace-forcing change: delete-before-replace, since the name is fixed
  const replaced = withConnection({ ...spec.replace.patch });
  const replaceDiff = engine.diff(outs, replaced.inputs);
  expect(replaceDiff.replaces.length).toBeGreaterThan(0);
  expect(replaceDiff.deleteBeforeReplace).toBe(true);
  await engine.delete(id, outs);
  expect(await hostLink(spec.host, netns, name)).toBeUndefined();
  name = replaced.inputs.name as string;
  netns = replaced.inputs.netns as string | undefined;
  const recreated = await engine.create(replaced.inputs);
  id = recreated.id;
  outs = recreated.outs;
  link = await hostLink(spec.host, netns, name);
  await spec.replace.verify(link, outs);
  current = replaced.inputs;

  // drift: an out-of-band MTU change shows on refresh and is corrected by update
  const driftMtu = (link.mtu as number) - 10;
  await onHost(spec.host, ["ip", ...(netns ? ["-n", netns] : []), "link", "set", "dev", name, "mtu", String(driftMtu)]);
  const drifted = await engine.read(id, { ...outs, mtu: link.mtu });
  expect(drifted.props.linkMtu).toBe(driftMtu);
  const desired = withConnection({ ...spec.replace.patch, mtu: link.mtu });
  expect(engine.diff(drifted.props, desired.inputs).changes).toBe(true);
  outs = (await engine.update(id, drifted.props, desired.inputs)).outs;
  expect((await hostLink(spec.host, netns, name)).mtu).toBe(link.mtu);

  // out-of-band delete: refresh reports it gone (empty id)
  await onHost(spec.host, ["ip", ...(netns ? ["-n", netns] : []), "link", "del", "dev", name]);
  expect((await engine.read(id, outs)).id).toBe("");
  await engine.delete(id, outs); // deleting what is already gone succeeds

  // adoption of an existing device
  // The namespace the provider made only for the device went with it; someone else's device needs one.
  for (const ns of [current.netns, current.peerNetns]) if (typeof ns === "string") await sshPool().exec(connection(spec.host), ["ip", "netns", "add", ns]);
  await onHost(spec.host, spec.outOfBandCreate);
  await expect(engine.create(current)).rejects.toThrow(/already exists.*adopt: true/);
  const adopted = await engine.create({ ...current, adopt: true });
  const adoptedLink = await hostLink(spec.host, netns, name);
  expect(adoptedLink.ifalias).toMatch(/^netdev#/);
  expect(engine.diff(adopted.outs, current).changes).toBe(false);
  await spec.replace.verify(adoptedLink, adopted.outs);

  // delete leaves nothing
  await engine.delete(adopted.id, adopted.outs);
  expect(await hostLink(spec.host, netns, name)).toBeUndefined();
}

/** Bad inputs are refused by check with the field named, and no command reaches any host. */
export function expectRejected(type: string, host: string, base: Props, cases: Array<[Props, string]>): void {
  const engine = engineFor(type);
  const before = sshPool().commandsStarted;
  for (const [patch, field] of cases) {
    const { failures } = engine.check({ connection: connectionInput(host), ...base, ...patch });
    expect(
      failures.map((f) => f.property),
      `${JSON.stringify(patch)} should be refused on ${field}`,
    ).toContain(field);
    expect(failures.find((f) => f.property === field)!.reason).toContain(field);
  }
  expect(sshPool().commandsStarted).toBe(before);
}

/**
 * A veth pair on a lab host whose first end serves as a test's own parent interface: ipvlan
 * keeps its mode per parent, so test files sharing one parent would switch each other's mode.
 */
export async function scratchParent(hostName: string, name: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const pool = sshPool();
  await pool.exec(connection(hostName), ["ip", "link", "del", "dev", name]);
  await pool.run(connection(hostName), ["ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`]);
  // Both ends up, or the parent has no carrier and nothing on it passes traffic.
  await pool.run(connection(hostName), ["ip", "link", "set", "dev", name, "up"]);
  await pool.run(connection(hostName), ["ip", "link", "set", "dev", `${name}p`, "up"]);
  return { name, remove: async () => void (await pool.exec(connection(hostName), ["ip", "link", "del", "dev", name])) };
}
