/**
 * Bytes per resource in a Pulumi state (a `pulumi stack export`'s deployment), by resource
 * type and by field: the state is what the CLI rewrites after every step, so its bytes per
 * resource are paid once per step for every resource already in it. Pure: the benchmarks that
 * run stacks (bench/state-size.ts, the overlay benchmark) hand it their exports.
 */

/** One resource as a checkpoint stores it (only what this module reads). */
interface StateResource {
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Bytes of one resource type: the mean per resource, in total and per field. */
export interface TypeBytes {
  type: string;
  count: number;
  /** Mean bytes of one resource, compact JSON. */
  perResource: number;
  /** Mean bytes per field: top-level keys, and `inputs.<key>` / `outputs.<key>` inside those two. */
  fields: Record<string, number>;
}

/** Bytes of `"key":value,` in compact JSON: what one field adds to its object. */
function fieldBytes(key: string, value: unknown): number {
  return Buffer.byteLength(`${JSON.stringify(key)}:${JSON.stringify(value)},`);
}

/** "pulumi-nodejs:dynamic/netdev:Bridge" → "Bridge"; "netdev:index:VxlanOverlay" → "VxlanOverlay". */
export function shortType(type: string): string {
  return type.slice(type.lastIndexOf(":") + 1);
}

/** Per resource type, the mean bytes of a resource and of each of its fields. */
export function stateBytes(deployment: { resources?: StateResource[] }): TypeBytes[] {
  const byType = new Map<string, StateResource[]>();
  for (const resource of deployment.resources ?? []) {
    const type = shortType(resource.type);
    byType.set(type, [...(byType.get(type) ?? []), resource]);
  }
  return [...byType.entries()].map(([type, resources]) => {
    const fields: Record<string, number> = {};
    const add = (field: string, bytes: number) => (fields[field] = (fields[field] ?? 0) + bytes / resources.length);
    let total = 0;
    for (const resource of resources) {
      total += Buffer.byteLength(JSON.stringify(resource));
      for (const [key, value] of Object.entries(resource)) {
        if ((key === "inputs" || key === "outputs") && value && typeof value === "object") {
          for (const [inner, v] of Object.entries(value)) add(`${key}.${inner}`, fieldBytes(inner, v));
        } else add(key, fieldBytes(key, value));
      }
    }
    return { type, count: resources.length, perResource: total / resources.length, fields };
  });
}

/**
 * A text table: per type, bytes per resource, then its fields largest first (those under
 * `minBytes` summed into one line), with secrets' ciphertext marked.
 */
export function stateBytesTable(rows: TypeBytes[], deployment: { resources?: StateResource[] }, minBytes = 40): string {
  const secretFields = new Set<string>();
  for (const resource of deployment.resources ?? [])
    for (const part of ["inputs", "outputs"] as const)
      for (const [key, value] of Object.entries(resource[part] ?? {}))
        if (value && typeof value === "object" && "ciphertext" in value) secretFields.add(`${shortType(resource.type)}:${part}.${key}`);
  const lines: string[] = [];
  for (const row of rows) {
    lines.push(`${row.type} (${row.count}): ${Math.round(row.perResource)} bytes per resource`);
    const sorted = Object.entries(row.fields).sort((a, b) => b[1] - a[1]);
    let small = 0;
    let smallCount = 0;
    for (const [field, bytes] of sorted) {
      if (bytes < minBytes) {
        small += bytes;
        smallCount++;
        continue;
      }
      const secret = secretFields.has(`${row.type}:${field}`) ? " (secret: ciphertext)" : "";
      lines.push(`  ${String(Math.round(bytes)).padStart(6)}  ${field}${secret}`);
    }
    if (smallCount) lines.push(`  ${String(Math.round(small)).padStart(6)}  ${smallCount} fields under ${minBytes} bytes each`);
  }
  return lines.join("\n");
}
