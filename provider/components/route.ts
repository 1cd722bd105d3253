import { z } from "zod";
import { interfaceName, ipAddress, namespaceName, networkCidr } from "../engine/fields";
import { HostShell } from "../engine/host";
import { connectionSchema, type Connection } from "../ssh/connection";
import { sshPool } from "../ssh/pool";
import { parseRemoteJson } from "../ssh/scrub";
import { type CheckFailure, checkInputs, containsUnknown, hostIdentity, parseInputs } from "../engine/validation";

/**
 * A route in a host's (or a namespace's) main table: `ip route add <destination> [via] [dev]
 * [metric]`. The VethPair kind configures addresses but no routes; an Attachment uses this for
 * the container's default route. Every field forces replacement (delete, then add): a route
 * has no identity besides its fields. Create fails if a route to the same destination (and
 * metric) exists, so it never takes over one it did not add; delete removes exactly the
 * route it describes and succeeds when it is already gone.
 */
export const ROUTE_TYPE = "Route";

const schema = z
  .strictObject({
    connection: connectionSchema,
    netns: namespaceName.optional(),
    /** "default" or a prefix in CIDR form, host bits clear (the kernel refuses 10.0.0.1/24). */
    destination: z.union([z.literal("default"), networkCidr]),
    via: ipAddress.optional(),
    dev: interfaceName.optional(),
    metric: z.number().int().min(0).max(4_294_967_295).optional(),
  })
  .superRefine((value, ctx) => {
    if (!value.via && !value.dev) ctx.addIssue({ code: "custom", path: ["via"], message: "a route needs a gateway (via), a device (dev), or both" });
  });

type RouteInputs = z.output<typeof schema>;
const FIELDS = ["netns", "destination", "via", "dev", "metric"] as const;

function isV6(route: Pick<RouteInputs, "destination" | "via">): boolean {
  return route.destination === "default" ? (route.via ?? "").includes(":") : route.destination.includes(":");
}

/** The route spec after `ip route add|del`. */
function spec(route: RouteInputs): string[] {
  return [
    route.destination,
    ...(route.via ? ["via", route.via] : []),
    ...(route.dev ? ["dev", route.dev] : []),
    ...(route.metric !== undefined ? ["metric", String(route.metric)] : []),
  ];
}

function argv(route: Pick<RouteInputs, "netns" | "destination" | "via">, args: string[]): string[] {
  return ["ip", ...(route.netns ? ["-n", route.netns] : []), ...(isV6(route) ? ["-6"] : ["-4"]), ...args];
}

/** The route as `ip -json route show` reports it, or undefined. */
async function find(connection: Connection, route: RouteInputs): Promise<Record<string, unknown> | undefined> {
  const exact = route.destination === "default" ? (isV6(route) ? "::/0" : "0.0.0.0/0") : route.destination;
  const result = await sshPool().exec(connection, argv(route, ["-json", "route", "show", "exact", exact]), { idempotent: true });
  if (result.exitCode !== 0) {
    if (/Cannot open network namespace|No such file/i.test(result.stderr)) return undefined;
    throw new Error(`reading routes on ${connection.host}: ${result.stderr.trim()}`);
  }
  const routes = parseRemoteJson<Array<Record<string, unknown>>>(result.stdout, "ip -json route show");
  return routes.find((r) => (route.via === undefined || r.gateway === route.via) && (route.dev === undefined || r.dev === route.dev) && (route.metric === undefined || (r.metric ?? 0) === route.metric));
}

export const routeEngine = {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    return checkInputs(schema, ROUTE_TYPE, news);
  },

  parse(inputs: Record<string, unknown>): RouteInputs {
    return parseInputs(schema, ROUTE_TYPE, inputs) as never;
  },

  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    const replaces: string[] = FIELDS.filter((key) => containsUnknown(news[key]) || (olds[key] ?? null) !== (news[key] ?? null));
    if (containsUnknown(news.connection) || hostIdentity(olds.connection) !== hostIdentity(news.connection)) replaces.push("connection");
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
    const inputs = this.parse(rawInputs);
    const host = new HostShell(inputs.connection);
    const where = `${ROUTE_TYPE} ${spec(inputs).join(" ")}${inputs.netns ? ` in namespace ${inputs.netns}` : ""}`;
    const result = await sshPool().exec(inputs.connection, argv(inputs, ["route", "add", ...spec(inputs)]));
    if (result.exitCode !== 0) throw new Error(`${where} on ${host.endpoint}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    const id = `${host.endpoint}/${inputs.netns ?? "-"}/route/${spec(inputs).join("_")}`;
    return { id, outs: { ...inputs } };
  },

  async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
    const connection = connectionSchema.parse(props.connection);
    const state = { ...props, connection } as RouteInputs;
    if (!(await find(connection, state))) return { id: "", props: {} };
    return { id, props, inputs: props };
  },

  async update(_id: string, _olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
    // Only the connection's credentials can change without a replace: nothing to do on the host.
    return { outs: { ...this.parse(news) } };
  },

  async delete(_id: string, props: Record<string, unknown>): Promise<void> {
    const connection = connectionSchema.parse(props.connection);
    const state = { ...props, connection } as RouteInputs;
    if (!(await find(connection, state))) return;
    await sshPool().run(connection, argv(state, ["route", "del", ...spec(state)]));
  },
};
