import type { z } from "zod";
import { type Connection, hostProblem } from "../ssh/connection";

/** Pulumi's marker for a value not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface CheckFailure {
  property: string;
  reason: string;
  /** The property is a key the schema does not know (a typo, a field at the wrong level): no field's value. */
  unknownKey?: boolean;
}

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/**
 * Validates a resource's inputs: nothing touches a host. Fields unknown during preview are
 * skipped (checked again at create/update); each failure names its top-level field.
 */
export function checkInputs(
  schema: z.ZodType,
  resourceType: string,
  news: Record<string, unknown>,
  secretFields: readonly string[] = [],
): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
  const { __provider: _provider, ...raw } = news;
  const unknownKeys = new Set(Object.keys(raw).filter((key) => containsUnknown(raw[key])));
  const result = schema.safeParse(raw);
  if (result.success) return { inputs: result.data as Record<string, unknown>, failures: [] };
  const subject = subjectOf(raw);
  const failures = result.error.issues
    .filter((issue) => !unknownKeys.has(String(issue.path[0])))
    .map((issue) => {
      const keys = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys : [];
      const property = keys.length ? keys.join(", ") : String(issue.path[0] ?? "");
      const where = issue.path.length ? issue.path.join(".") : property;
      const reason = `${resourceType} ${where}: ${issue.message}${secretFields.includes(String(issue.path[0])) ? "" : gotValue(raw, issue.path)}${subject}`;
      return keys.length && issue.path.length === 0 ? { property, reason, unknownKey: true } : { property, reason };
    });
  return { inputs: raw, failures };
}

const PRINTABLE_NAME = /^[A-Za-z0-9_.:@+-]{1,64}$/;

/**
 * " [br0 on root@192.0.2.11:22]": which device on which host a check failure is about, from
 * the parts of the inputs that are well-formed (none of them secret), so the user can tell the
 * resources of a program apart; empty when nothing is known yet.
 */
function subjectOf(raw: Record<string, unknown>): string {
  const name = typeof raw.name === "string" && PRINTABLE_NAME.test(raw.name) ? raw.name : undefined;
  const connection = raw.connection as Partial<Record<"host" | "user" | "port", unknown>> | undefined;
  let endpoint: string | undefined;
  if (connection && typeof connection === "object" && typeof connection.host === "string" && !hostProblem(connection.host)) {
    const user =
      connection.user === undefined ? "root" : typeof connection.user === "string" && PRINTABLE_NAME.test(connection.user) ? connection.user : undefined;
    const port =
      connection.port === undefined
        ? 22
        : Number.isInteger(connection.port) && (connection.port as number) > 0 && (connection.port as number) < 65536
          ? connection.port
          : undefined;
    endpoint = user !== undefined && port !== undefined ? `${user}@${connection.host}:${port}` : connection.host;
  }
  if (name === undefined && endpoint === undefined) return "";
  return ` [${[name, endpoint && `on ${endpoint}`].filter(Boolean).join(" ")}]`;
}

/**
 * The offending value as the user wrote it (Pulumi itself prints numbers as Go floats:
 * `{1.6777216e+07}`). Never for the connection, which holds credentials, nor for a kind's
 * secret fields (checkInputs leaves those out: a malformed key is still key material).
 */
function gotValue(raw: Record<string, unknown>, path: readonly PropertyKey[]): string {
  if (path.length === 0 || path[0] === "connection") return "";
  let value: unknown = raw;
  for (const key of path) {
    if (value === null || typeof value !== "object") return "";
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (value === undefined || (typeof value === "object" && value !== null)) return "";
  const text = typeof value === "string" ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  return ` (got ${text})`;
}

/** Inputs that must be complete (create/update): one error naming every bad field. */
export function parseInputs(
  schema: z.ZodType,
  resourceType: string,
  inputs: Record<string, unknown>,
  secretFields: readonly string[] = [],
): Record<string, unknown> {
  const { failures, inputs: parsed } = checkInputs(schema, resourceType, inputs, secretFields);
  if (failures.length) throw new Error(`invalid ${resourceType} inputs: ${failures.map((f) => f.reason).join("; ")}`);
  const unknown = Object.keys(parsed).filter((key) => containsUnknown(parsed[key]));
  if (unknown.length) throw new Error(`${resourceType} ${unknown.join(", ")}: still unknown at apply time${subjectOf(parsed)}`);
  return parsed;
}

/** Where a connection lands (host, port, jump chain): changing it moves the resource to another host. */
export function hostIdentity(connection: unknown): string {
  const chain: string[] = [];
  let current = connection as Partial<Connection> | undefined;
  while (current) {
    chain.push(`${current.host}:${current.port ?? 22}`);
    current = current.jumpHost;
  }
  return chain.join("<");
}

/** Whether `news` puts the resource on another host than `olds` (or may: not known yet), which forces a replace. */
export function hostMoved(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
  return containsUnknown(news.connection) || hostIdentity(olds.connection) !== hostIdentity(news.connection);
}

export { ownerToken } from "./ownership";
