import { z } from "zod";
import { connectionField, interfaceName, ipAddress, namespaceName, networkCidr } from "../../engine/fields";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { isIpError } from "../../engine/ip-errors";
import { hasOwnerToken, ownerKeyField, ROUTE_PROTOCOL } from "../../engine/ownership";
import { stepNeeds } from "../../engine/preflight";
import type { Needs } from "../../engine/preflight-needs";
import { type Context, type PriorState, ResourceEngine } from "../../engine/resource-engine";
import type { Step } from "../../engine/steps";
import { parseRemoteJson } from "../../ssh/scrub";
import { containsUnknown } from "../../engine/validation";
import { type Artifact, persistField, wasPersisted } from "../../persist/files";
import { oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";

/**
 * A route in a host's (or a namespace's) main table: `ip route add <destination> [via] [dev]
 * [metric]`. The VethPair kind configures addresses but no routes; an Attachment uses this for
 * the container's default route. Every field forces replacement (delete, then add): a route
 * has no identity besides its fields. Create fails if a route to the same destination (and
 * metric) exists, so it never takes over one it did not add; delete removes exactly the
 * route it describes and succeeds when it is already gone.
 *
 * Ownership: a route has no alias for an owner tag, so every route this provider adds carries
 * the routing protocol ROUTE_PROTOCOL (`proto 250`), and the resource id ends in `#<token>` like
 * every other. Delete removes only a matching route with that protocol; one re-added by hand or
 * by DHCP (proto boot/dhcp) under the same spec is left alone and reported.
 */
export const ROUTE_TYPE = "Route";

export const routeSchema = z
  .strictObject({
    connection: connectionField,
    netns: namespaceName.optional().describe('The namespace whose main table holds the route, e.g. "web"; omitted, the host\'s own.'),
    destination: z
      .union([z.literal("default"), networkCidr])
      .describe('"default", or a prefix in CIDR form with host bits clear, e.g. "10.0.0.0/24" (the kernel refuses 10.0.0.1/24).'),
    via: ipAddress.optional().describe('The gateway\'s address, e.g. "10.0.0.1"; a route needs via, dev, or both.'),
    dev: interfaceName.optional().describe('The device the route leaves by, e.g. "eth0"; a route needs via, dev, or both.'),
    metric: z
      .number()
      .int()
      .min(0)
      .max(4_294_967_295)
      .optional()
      .describe("The route's metric (priority; lower wins); omitted, the kernel's default, 0 (IPv4) or 1024 (IPv6)."),
    /** Derived from the resource's identity by its class: see engine/ownership.ts. */
    ownerKey: ownerKeyField,
    persist: persistField.describe(
      '"networkd", "networkmanager", "systemd" or "auto": re-add the route at boot (a oneshot unit, whatever the mode; see provider/persist/README.md on networkd\'s ManageForeignRoutes). "none" or omitted: nothing survives a reboot.',
    ),
  })
  .superRefine((value, ctx) => {
    if (!value.via && !value.dev) ctx.addIssue({ code: "custom", path: ["via"], message: "a route needs a gateway (via), a device (dev), or both" });
  });

type RouteInputs = z.output<typeof routeSchema>;
/** The route's own fields: a change to any of them replaces it (a route has no identity besides them). */
export const ROUTE_REPLACE_ON = ["netns", "destination", "via", "dev", "metric"] as const;

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

function ipArgs(route: Pick<RouteInputs, "destination" | "via">, args: string[]): string[] {
  return [isV6(route) ? "-6" : "-4", ...args];
}

/** The route as `ip -json route show` reports it, or undefined. */
async function find(host: Host, route: RouteInputs): Promise<Record<string, unknown> | undefined> {
  const exact = route.destination === "default" ? (isV6(route) ? "::/0" : "0.0.0.0/0") : route.destination;
  const command = { tool: "ip" as const, netns: route.netns, args: ipArgs(route, ["-json", "route", "show", "exact", exact]) };
  const result = await host.exec({ ...command, idempotent: true });
  if (result.exitCode !== 0) {
    if (isIpError(result.stderr, "namespace-missing")) return undefined;
    throw new Error(`reading routes on ${host.endpoint}: ${result.stderr.trim()}`);
  }
  const routes = parseRemoteJson<Array<Record<string, unknown>>>(result.stdout.trim() || "[]", "ip -json route show");
  return routes.find(
    (r) =>
      (route.via === undefined || r.gateway === route.via) &&
      (route.dev === undefined || r.dev === route.dev) &&
      (route.metric === undefined || (r.metric ?? 0) === route.metric),
  );
}

/** "10.0.0.0/24 via 10.0.0.1 in namespace web": the route in messages, after its type. */
function described(route: RouteInputs): string {
  return `${spec(route).join(" ")}${route.netns ? ` in namespace ${route.netns}` : ""}`;
}

/** The command that adds the route, tagged with netdev's protocol. */
function addStep(route: RouteInputs): Step {
  return { field: "destination", tool: "ip", netns: route.netns, args: ipArgs(route, ["route", "add", ...spec(route), "proto", ROUTE_PROTOCOL]) };
}

/**
 * A oneshot unit that adds the route at boot, retried for up to 30 s (its device or gateway
 * may come up later); `replace`, so a re-run changes nothing. Its namespace is made if missing,
 * as the device units do.
 */
function bootUnit(route: RouteInputs, token: string): Artifact[] {
  return oneshotArtifacts({
    token,
    what: `${ROUTE_TYPE} ${described(route)}`,
    steps: [{ field: "destination", tool: "ip", netns: route.netns, args: ipArgs(route, ["route", "replace", ...spec(route), "proto", ROUTE_PROTOCOL]) }],
    namespaces: route.netns ? [route.netns] : [],
    waitFor: [],
    retry: true,
  });
}

/** The Route engine: ResourceEngine's lifecycle with a route's hooks. */
export class RouteEngine extends ResourceEngine<RouteInputs, Record<string, unknown>> {
  readonly resourceType = ROUTE_TYPE;
  readonly schema = routeSchema as unknown as z.ZodType<Record<string, unknown>>;
  protected readonly inputFields = Object.keys(routeSchema.shape);

  protected describe(state: Record<string, unknown>): string {
    return described(state as RouteInputs);
  }

  protected identify(inputs: RouteInputs, endpoint: string, token: string): string {
    return `${endpoint}/${inputs.netns ?? "-"}/route/${spec(inputs).join("_")}#${token}`;
  }

  /** `ip` with -json (find reads routes so) and -batch, and named namespaces for a route inside one. */
  protected needs(inputs: RouteInputs): Needs {
    return stepNeeds(ROUTE_TYPE, [addStep(inputs)]);
  }

  /** A warning where networkd would remove a host-namespace route on restart (persist/host-support.ts). */
  protected override persistNeeds(inputs: Record<string, unknown>): { needs: "systemd"; routes: boolean } {
    return { needs: "systemd", routes: inputs.netns === undefined };
  }

  protected diffFields(olds: Record<string, unknown>, news: Record<string, unknown>): { changed: string[]; replaces: string[] } {
    const replaces: string[] = ROUTE_REPLACE_ON.filter((key) => containsUnknown(news[key]) || (olds[key] ?? null) !== (news[key] ?? null));
    const persistChanged = containsUnknown(news.persist) || (olds.persist ?? "none") !== (news.persist ?? "none");
    return { changed: persistChanged ? ["persist"] : [], replaces };
  }

  persistence(inputs: RouteInputs, token: string): Artifact[] {
    return bootUnit(inputs, token);
  }

  protected persistedPaths(_state: Record<string, unknown>, token: string): string[] {
    return oneshotPaths(token);
  }

  protected async createOn(host: Host, inputs: RouteInputs, _id: string, { token, where, files }: Context): Promise<Record<string, unknown>> {
    const add = addStep(inputs);
    try {
      await host.applyAll([add, ...files], where);
    } catch (error) {
      // Only a route this create added goes again (the add failing means none was).
      if (error instanceof StepError && error.stepIndex !== 0) {
        await host
          .run({ tool: "ip", netns: inputs.netns, args: ipArgs(inputs, ["route", "del", ...spec(inputs), "proto", ROUTE_PROTOCOL]) })
          .catch(() => undefined);
        await host.applyAll(this.unpersistSteps(inputs, token), where).catch(() => undefined);
      }
      throw error;
    }
    return { ...inputs };
  }

  /** A route has nothing to observe beyond being there: its state is its inputs. */
  protected async observe(host: Host, state: PriorState): Promise<{ outs: Record<string, unknown>; inputs: Record<string, unknown> } | undefined> {
    if (!(await find(host, state as RouteInputs))) return undefined;
    const { schemaVersion: _version, ...props } = state;
    return { outs: props, inputs: { ...props } };
  }

  /** Only the connection's credentials and persist change without a replace: at most the boot-time unit to write or remove. */
  protected async updateOn(host: Host, id: string, inputs: RouteInputs, _previous: PriorState, { where, files }: Context): Promise<Record<string, unknown>> {
    if (hasOwnerToken(id)) await host.applyAll(files, where);
    else if (wasPersisted(inputs.persist))
      throw new Error(`${where} has no owner token in its id: replace it (change a field, or delete and re-add it) to persist it`);
    return { ...inputs };
  }

  protected async deleteOn(host: Host, id: string, state: PriorState, where: string): Promise<void> {
    const route = state as RouteInputs;
    const found = await find(host, route);
    if (!found) return;
    // An id without a token names a route added with the default protocol.
    // ip -json leaves out the protocol when it is boot, the default of `ip route add`.
    const protocol = String(found.protocol ?? "boot");
    if (hasOwnerToken(id) && protocol !== ROUTE_PROTOCOL) {
      throw new Error(
        `refusing to delete ${where}: it was not added by netdev (protocol ${protocol}, expected ${ROUTE_PROTOCOL}); run \`pulumi refresh\` to drop it from the stack, or delete it by hand`,
      );
    }
    try {
      await host.apply(
        {
          field: "destination",
          tool: "ip",
          netns: route.netns,
          args: ipArgs(route, ["route", "del", ...spec(route), ...(hasOwnerToken(id) ? ["proto", ROUTE_PROTOCOL] : [])]),
        },
        where,
      );
    } catch (error) {
      if (!(error instanceof StepError && isIpError(error.stderr, "entry-missing"))) throw error;
    }
  }
}

/** The Route engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createRouteEngine(hosts?: HostFactory): RouteEngine {
  return new RouteEngine(hosts);
}

export const routeEngine = createRouteEngine();
