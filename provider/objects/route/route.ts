import { z } from "zod";
import { connectionField, interfaceName, ipAddress, namespaceName, networkCidr } from "../../engine/fields";
import { sameValue } from "../../engine/engine";
import { sshHosts } from "../../engine/host";
import { type Host, type HostFactory, StepError } from "../../engine/host-interface";
import { isIpError } from "../../engine/ip-errors";
import { hasOwnerToken, newOwnerToken, ownerKeyField, ownerToken, ROUTE_PROTOCOL } from "../../engine/ownership";
import type { Step } from "../../engine/kind";
import { connectionOf } from "../../ssh/connection";
import { parseRemoteJson } from "../../ssh/scrub";
import { type CheckFailure, checkInputs, containsUnknown, hostMoved, parseInputs } from "../../engine/validation";
import { persistedState } from "../../engine/persisted-state";
import { persistField, removeStep, syncSteps, wasPersisted, type Artifact } from "../../persist/files";
import { oneshotArtifacts, oneshotPaths } from "../../persist/oneshot";
import { persistFailures } from "../../persist/host-support";

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
      '"networkd": re-add the route at boot (a oneshot unit; see provider/persist/README.md on networkd\'s ManageForeignRoutes). "none" or omitted: nothing survives a reboot.',
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

function describe(route: RouteInputs, endpoint?: string): string {
  return `${ROUTE_TYPE} ${spec(route).join(" ")}${route.netns ? ` in namespace ${route.netns}` : ""}${endpoint ? ` on ${endpoint}` : ""}`;
}

/**
 * A oneshot unit that adds the route at boot, retried for up to 30 s (its device or gateway
 * may come up later); `replace`, so a re-run changes nothing. Its namespace is made if missing,
 * as the device units do.
 */
function persistence(route: RouteInputs, token: string): Artifact[] | undefined {
  if (route.persist !== "networkd") return undefined;
  return oneshotArtifacts({
    token,
    what: describe(route),
    steps: [{ field: "destination", tool: "ip", netns: route.netns, args: ipArgs(route, ["route", "replace", ...spec(route), "proto", ROUTE_PROTOCOL]) }],
    namespaces: route.netns ? [route.netns] : [],
    waitFor: [],
    retry: true,
  });
}

/** The Route engine; `hosts` reaches a connection's host (over SSH unless a test passes a fake). */
export function createRouteEngine(hosts: HostFactory = sshHosts) {
  return {
    check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
      return checkInputs(routeSchema, ROUTE_TYPE, news);
    },

    /** With persist on: systemd on the host, and a warning where networkd would remove a host-namespace route on restart (persist/host-support.ts). */
    async preflight(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
      if (inputs.persist !== "networkd" || containsUnknown(inputs.connection)) return [];
      return persistFailures(hosts(connectionOf(inputs)), "systemd", { routes: inputs.netns === undefined });
    },

    parse(inputs: Record<string, unknown>): RouteInputs {
      return parseInputs(routeSchema, ROUTE_TYPE, inputs) as never;
    },

    diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
      const replaces: string[] = ROUTE_REPLACE_ON.filter((key) => containsUnknown(news[key]) || (olds[key] ?? null) !== (news[key] ?? null));
      if (hostMoved(olds, news)) replaces.push("connection");
      const persistChanged = containsUnknown(news.persist) || (olds.persist ?? "none") !== (news.persist ?? "none");
      // New credentials for the same host: stored by an update, so that refresh and delete use them.
      const connectionChanged = !sameValue(olds.connection, news.connection);
      return { changes: replaces.length > 0 || persistChanged || connectionChanged, replaces, deleteBeforeReplace: replaces.length > 0 };
    },

    async create(rawInputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }> {
      const inputs = this.parse(rawInputs);
      const host = hosts(inputs.connection);
      const where = `${ROUTE_TYPE} ${spec(inputs).join(" ")}${inputs.netns ? ` in namespace ${inputs.netns}` : ""} on ${host.endpoint}`;
      const token = newOwnerToken(inputs.ownerKey);
      const add: Step = {
        field: "destination",
        tool: "ip",
        netns: inputs.netns,
        args: ipArgs(inputs, ["route", "add", ...spec(inputs), "proto", ROUTE_PROTOCOL]),
      };
      const files = syncSteps(persistence(inputs, token), oneshotPaths(token), token, undefined);
      try {
        await host.applyAll([add, ...files], where);
      } catch (error) {
        // Only a route this create added goes again (the add failing means none was).
        if (error instanceof StepError && error.stepIndex !== 0) {
          await host
            .run({ tool: "ip", netns: inputs.netns, args: ipArgs(inputs, ["route", "del", ...spec(inputs), "proto", ROUTE_PROTOCOL]) })
            .catch(() => undefined);
          await host.applyAll(removeStep(oneshotPaths(token), token), where).catch(() => undefined);
        }
        throw error;
      }
      const id = `${host.endpoint}/${inputs.netns ?? "-"}/route/${spec(inputs).join("_")}#${token}`;
      return { id, outs: { ...inputs } };
    },

    async read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }> {
      const state = { ...props, connection: connectionOf(props) } as RouteInputs;
      const host = hosts(state.connection);
      if (!(await find(host, state))) {
        // The resource leaves the stack, and so does the unit that would re-add the route at boot.
        if (wasPersisted(props.persist) && hasOwnerToken(id))
          await host.applyAll(removeStep(oneshotPaths(ownerToken(id)), ownerToken(id)), describe(state, host.endpoint));
        return { id: "", props: {} };
      }
      if (wasPersisted(props.persist) && hasOwnerToken(id)) {
        const refreshed = {
          ...props,
          persist: await persistedState(host, describe(state, host.endpoint), persistence({ ...state, persist: "networkd" }, ownerToken(id))!),
        };
        return { id, props: refreshed, inputs: refreshed };
      }
      return { id, props, inputs: props };
    },

    async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }> {
      // Only the connection's credentials and persist change without a replace: at most the boot-time unit to write or remove.
      const inputs = this.parse(news);
      const host = hosts(inputs.connection);
      const token = ownerToken(id);
      if (hasOwnerToken(id))
        await host.applyAll(syncSteps(persistence(inputs, token), oneshotPaths(token), token, olds.persist), describe(inputs, host.endpoint));
      else if (inputs.persist === "networkd")
        throw new Error(
          `${describe(inputs, host.endpoint)} was added by a release before 0.2 and has no owner token: replace it (change a field, or delete and re-add it) to persist it`,
        );
      return { outs: { ...inputs } };
    },

    async delete(id: string, props: Record<string, unknown>): Promise<void> {
      const state = { ...props, connection: connectionOf(props) } as RouteInputs;
      const host = hosts(state.connection);
      const where = `${ROUTE_TYPE} ${spec(state).join(" ")}${state.netns ? ` in namespace ${state.netns}` : ""} on ${host.endpoint}`;
      await this.deleteRoute(id, state, host, where);
      if (wasPersisted(props.persist) && hasOwnerToken(id)) await host.applyAll(removeStep(oneshotPaths(ownerToken(id)), ownerToken(id)), where);
    },

    async deleteRoute(id: string, state: RouteInputs, host: Host, where: string): Promise<void> {
      const found = await find(host, state);
      if (!found) return;
      // Ids without a token come from releases that added routes with the default protocol.
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
            netns: state.netns,
            args: ipArgs(state, ["route", "del", ...spec(state), ...(hasOwnerToken(id) ? ["proto", ROUTE_PROTOCOL] : [])]),
          },
          where,
        );
      } catch (error) {
        if (!(error instanceof StepError && isIpError(error.stderr, "entry-missing"))) throw error;
      }
    },
  };
}

export const routeEngine = createRouteEngine();
