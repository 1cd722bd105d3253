/**
 * The Pulumi programs `npm run bench` compares, as source text written into a fresh program
 * directory (lab/stack.ts labProgram). Each declares `devices` bridges spread round-robin over
 * the hosts in config `hosts` (JSON: host, port, hostKey, and user and sudo when not root),
 * reached with the secret config `privateKey`. Only the way a bridge is made differs.
 */

const PREAMBLE = `
import * as pulumi from "@pulumi/pulumi";
const config = new pulumi.Config();
const hosts = JSON.parse(config.require("hosts")) as Array<{ host: string; port: number; hostKey: string; user?: string; sudo?: boolean }>;
const privateKey = config.requireSecret("privateKey");
const devices = Number(config.require("devices"));
const hostOf = (i: number) => hosts[i % hosts.length]!;
`;

/** A dynamic provider that touches nothing (each create's id: the expression `id`): Pulumi's own cost. */
function noopProvider(id: string): string {
  return `const noop: pulumi.dynamic.ResourceProvider = {
  async create(inputs: any) { return { id: ${id}, outs: inputs }; },
  async read(id: string, props: any) { return { id, props }; },
  async update(_id: string, _olds: any, news: any) { return { outs: news }; },
  async delete() {},
};`;
}

/** netdev's Bridge resource, from whatever checkout node_modules/pulumi-netdev points at. */
export const NETDEV_PROGRAM = `${PREAMBLE}
import { Bridge } from "pulumi-netdev";
for (let i = 0; i < devices; i++) {
  const h = hostOf(i);
  // sudo only when set: a --baseline checkout may predate it.
  const login = h.sudo ? { user: h.user, sudo: true } : { user: "root" };
  new Bridge(\`br\${i}\`, { connection: { host: h.host, port: h.port, ...login, privateKey, hostKey: h.hostKey }, name: \`ndpb\${i}\` });
}
`;

/** The per-host form: the same bridges, one HostDevices resource per host holding that host's share. */
export const NETDEV_HOST_PROGRAM = `${PREAMBLE}
import { HostDevices } from "pulumi-netdev";
hosts.forEach((h, index) => {
  const login = h.sudo ? { user: h.user, sudo: true } : { user: "root" };
  const mine: Record<string, { kind: "bridge"; name: string }> = {};
  for (let i = index; i < devices; i += hosts.length) mine[\`br\${i}\`] = { kind: "bridge", name: \`ndpb\${i}\` };
  new HostDevices(\`host\${index}\`, { connection: { host: h.host, port: h.port, ...login, privateKey, hostKey: h.hostKey }, devices: mine });
});
`;

/** Pulumi's own cost: a dynamic provider of the same shape that touches nothing. */
export const NOOP_PROGRAM = `${PREAMBLE}
${noopProvider("inputs.name")}
class NoopBridge extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>) { super(noop, name, args); }
}
for (let i = 0; i < devices; i++) {
  const h = hostOf(i);
  new NoopBridge(\`br\${i}\`, { host: h.host, port: h.port, privateKey, name: \`ndpb\${i}\` });
}
`;

/** Pulumi's own cost for the per-host shape: one no-op resource per host holding that host's share of the devices. */
export const NOOP_HOST_PROGRAM = `${PREAMBLE}
${noopProvider('"noop"')}
class NoopHostDevices extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>) { super(noop, name, args); }
}
hosts.forEach((h, index) => {
  const mine: Record<string, { kind: "bridge"; name: string }> = {};
  for (let i = index; i < devices; i += hosts.length) mine[\`br\${i}\`] = { kind: "bridge", name: \`ndpb\${i}\` };
  new NoopHostDevices(\`host\${index}\`, { connection: pulumi.secret({ host: h.host, port: h.port, privateKey, hostKey: h.hostKey }), devices: mine });
});
`;

/**
 * The @pulumi/command remote.Command model as a dynamic provider: every operation opens its
 * own SSH connection, runs one command line and closes. The names are the benchmark's own
 * (ndpb<N>), never user input, so plain command lines are safe here.
 */
export function perConnectionProgram(repoRoot: string): string {
  return `${PREAMBLE}
declare const require: any; // the program has no @types/node of its own
const REPO = ${JSON.stringify(repoRoot)};
function sshRun(c: any, command: string): Promise<string> {
  const { Client } = require(require.resolve("ssh2", { paths: [REPO] }));
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on("ready", () => client.exec(command, (error: Error | undefined, stream: any) => {
        if (error) { client.end(); return reject(error); }
        let out = "";
        let err = "";
        stream.on("data", (d: any) => (out += d));
        stream.stderr.on("data", (d: any) => (err += d));
        stream.on("close", (code: number) => {
          client.end();
          if (code === 0) resolve(out); else reject(new Error(command + ": " + err));
        });
      }))
      .on("error", reject)
      .connect({ host: c.host, port: c.port, username: "root", privateKey: c.privateKey, readyTimeout: 20000 });
  });
}
const perConnection: pulumi.dynamic.ResourceProvider = {
  async create(inputs: any) {
    await sshRun(inputs, "ip link add " + inputs.name + " type bridge && ip link set dev " + inputs.name + " up");
    return { id: inputs.name, outs: inputs };
  },
  async read(id: string, props: any) {
    const out = await sshRun(props, "ip -json link show dev " + props.name + " 2>/dev/null || true");
    return out.trim() ? { id, props } : { id: "", props: {} };
  },
  async delete(_id: string, props: any) { await sshRun(props, "ip link del " + props.name); },
};
class CommandBridge extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>) { super(perConnection, name, args); }
}
for (let i = 0; i < devices; i++) {
  const h = hostOf(i);
  new CommandBridge(\`br\${i}\`, { host: h.host, port: h.port, privateKey, name: \`ndpb\${i}\` });
}
`;
}

/**
 * What both floors below share: the per-host form's plan (planVxlanOverlay: the same inputs,
 * dependencies and names as index.ts with config form=per-host), a dynamic resource whose
 * provider does nothing, and `sealed`, an item's inputs with its connections as secrets.
 */
const OVERLAY_FLOOR_PLAN = `
import * as pulumi from "@pulumi/pulumi";
import { hostsFromConfig, planVxlanOverlay } from "pulumi-netdev";
const config = new pulumi.Config();
const hosts = hostsFromConfig("hosts");
const privateKey = config.requireSecret("privateKey");
const connectionOf = (h: (typeof hosts)[number]) =>
  pulumi.secret({ host: h.host, port: h.port ?? 22, user: h.user ?? "root", ...(h.sudo ? { sudo: true } : {}), hostKey: h.hostKey, privateKey });
${noopProvider('"noop"')}
class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) { super(noop, name, args, opts); }
}
const plan = planVxlanOverlay<number>({
  overlayId: "overlay",
  vni: config.getNumber("vni") ?? 100,
  bridgeName: "br-overlay",
  vtepName: "vx-overlay",
  form: "per-host",
  hosts: hosts.map((h, i) => ({
    name: h.name,
    connection: i,
    underlayAddress: h.underlayAddress,
    containers: [{ namespace: \`c-\${h.name}\`, address: \`192.168.100.\${i + 1}/24\` }],
  })),
});
type Item = (typeof plan.items)[number];
const sealed = (item: Item): Record<string, unknown> => {
  const inputs: Record<string, unknown> = { ...item.inputs };
  if (typeof inputs.connection === "number") inputs.connection = connectionOf(hosts[inputs.connection]!);
  if (inputs.connections) inputs.connections = Object.fromEntries(Object.entries(inputs.connections as Record<string, number>).map(([name, i]) => [name, connectionOf(hosts[i]!)]));
  return inputs;
};
`;

/**
 * Pulumi's own floor for the root program's overlay in the per-host form: the very resources
 * planVxlanOverlay plans, each a dynamic resource whose provider does nothing. What an `up` of
 * it costs is what any provider of that shape costs under the Pulumi CLI; it makes no devices,
 * so there is nothing to ping.
 */
export const OVERLAY_FLOOR_PROGRAM = `${OVERLAY_FLOOR_PLAN}
const made: Record<string, Noop> = {};
for (const item of plan.items) made[item.key] = new Noop(\`overlay-\${item.key}\`, sealed(item), { dependsOn: item.dependsOn.map((key) => made[key]!) });
`;

/**
 * Pulumi's own floor for the same overlay if every host's devices were ONE resource (a shape
 * netdev does not offer): the per-host form's HostDevices inputs merged into one no-op resource
 * keyed by host, the rest as in OVERLAY_FLOOR_PROGRAM. What it costs is what Pulumi alone would
 * take for a join or a refresh that is one or two steps however many hosts there are.
 */
export const OVERLAY_FLOOR_ONE_PROGRAM = `${OVERLAY_FLOOR_PLAN}
const hostItems = plan.items.filter((item) => typeof (item.inputs as Record<string, unknown>).connection === "number");
const devices = new Noop("overlay-devices", { hosts: Object.fromEntries(hostItems.map((item) => [item.key, sealed(item)])) });
const made: Record<string, Noop> = Object.fromEntries(hostItems.map((item) => [item.key, devices]));
for (const item of plan.items) {
  if (made[item.key]) continue;
  made[item.key] = new Noop(\`overlay-\${item.key}\`, sealed(item), { dependsOn: [...new Set(item.dependsOn.map((key) => made[key]!))] });
}
`;
