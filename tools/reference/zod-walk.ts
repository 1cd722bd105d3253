import type { z } from "zod";

/**
 * A zod schema read as a TypeScript type: what the generated public types and the reference
 * pages print. Only the constructs the resources' schemas use are understood; anything else
 * throws, so a new construct is noticed when `npm run gen` runs, not printed wrongly.
 *
 * Inputs and outputs differ: a default makes a field optional in the input and always set in
 * the output, and a pipe's input is its first schema. A transform is assumed to keep its
 * input's type (the resources' transforms canonicalise text and sort lists); the compile-time
 * check in provider/generated/generated-types.unit.test.ts holds that assumption to zod's own
 * inferred types.
 */
export type TypeShape =
  | { kind: "string" | "number" | "boolean" | "unknown" }
  | { kind: "literal"; values: Array<string | number | boolean> }
  /** With `discriminator`: a discriminated union, told apart by that field's literal. */
  | { kind: "union"; options: TypeShape[]; discriminator?: string }
  | { kind: "array"; item: TypeShape }
  | { kind: "record"; value: TypeShape }
  | { kind: "object"; fields: FieldShape[] }
  | { kind: "named"; name: string };

export interface FieldShape {
  name: string;
  /** The type, in the mode it was read in. */
  type: TypeShape;
  /** Whether the field may be left out (input mode), or may be undefined (output mode). */
  optional: boolean;
  /** The `.default()` value, when there is one. */
  defaultValue?: unknown;
  description?: string;
}

export type Mode = "input" | "output";

/** Recursive schemas (a connection's jumpHost) by the lazy's getter, printed by name. */
export type Names = Map<unknown, { input: string; output: string }>;

type Def = { type: string; [key: string]: unknown };

function defOf(schema: unknown): Def {
  return (schema as z.ZodType)._zod.def as unknown as Def;
}

function describedAs(schema: unknown): string | undefined {
  return (schema as z.ZodType).description;
}

/** The schema under optional, default and (for a field's description) pipe wrappers, with what they say. */
export function unwrapField(schema: z.ZodType): { inner: z.ZodType; optional: boolean; hasDefault: boolean; defaultValue?: unknown; description?: string } {
  let current: unknown = schema;
  let optional = false;
  let hasDefault = false;
  let defaultValue: unknown;
  let description = describedAs(schema);
  for (;;) {
    const def = defOf(current);
    if (def.type === "optional") {
      optional = true;
      current = def.innerType;
    } else if (def.type === "default" || def.type === "prefault") {
      hasDefault = true;
      defaultValue = def.defaultValue;
      current = def.innerType;
    } else {
      break;
    }
    description ??= describedAs(current);
  }
  // A pipe's described input (a shared validator that is then transformed) still describes the field.
  let probe: unknown = current;
  while (description === undefined && defOf(probe).type === "pipe") {
    probe = defOf(probe).in;
    description = describedAs(probe);
  }
  return { inner: current as z.ZodType, optional, hasDefault, defaultValue, description };
}

/** The fields of an object schema (through a lazy or a pipe of an object), read in `mode`. */
export function fieldsOf(schema: z.ZodType, mode: Mode, names: Names): FieldShape[] {
  const type = typeOf(schema, mode, names, true);
  if (type.kind !== "object") throw new Error(`expected an object schema, got ${type.kind}`);
  return type.fields;
}

export function typeOf(schema: z.ZodType, mode: Mode, names: Names, expandNamed = false): TypeShape {
  const def = defOf(schema);
  switch (def.type) {
    case "string":
    case "number":
    case "boolean":
    case "unknown":
      return { kind: def.type };
    case "any":
      return { kind: "unknown" };
    case "enum":
      return { kind: "literal", values: Object.values(def.entries as Record<string, string | number>) };
    case "literal":
      return { kind: "literal", values: def.values as Array<string | number | boolean> };
    case "union":
      return {
        kind: "union",
        options: (def.options as z.ZodType[]).map((option) => typeOf(option, mode, names)),
        ...(typeof def.discriminator === "string" ? { discriminator: def.discriminator } : {}),
      };
    case "array":
      return { kind: "array", item: typeOf(def.element as z.ZodType, mode, names) };
    case "record":
      return { kind: "record", value: typeOf(def.valueType as z.ZodType, mode, names) };
    case "optional":
    case "default":
    case "prefault":
      // Where a field is: its optionality is its FieldShape's (unwrapField).
      return typeOf(def.innerType as z.ZodType, mode, names);
    case "pipe": {
      const out = def.out as z.ZodType;
      // z.preprocess: a transform first, then the schema that says what the value is.
      if (defOf(def.in).type === "transform") return typeOf(out, mode, names, expandNamed);
      if (mode === "input" || defOf(out).type === "transform") return typeOf(def.in as z.ZodType, mode, names, expandNamed);
      return typeOf(out, mode, names, expandNamed);
    }
    case "lazy": {
      const named = names.get(def.getter);
      if (named && !expandNamed) return { kind: "named", name: named[mode] };
      return typeOf((def.getter as () => z.ZodType)(), mode, names);
    }
    case "object": {
      const shape = def.shape as Record<string, z.ZodType>;
      return {
        kind: "object",
        fields: Object.entries(shape).map(([name, field]) => {
          const unwrapped = unwrapField(field);
          return {
            name,
            type: typeOf(unwrapped.inner, mode, names),
            optional: mode === "input" ? unwrapped.optional || unwrapped.hasDefault : unwrapped.optional && !unwrapped.hasDefault,
            ...(unwrapped.hasDefault ? { defaultValue: unwrapped.defaultValue } : {}),
            ...(unwrapped.description !== undefined ? { description: unwrapped.description } : {}),
          };
        }),
      };
    }
    default:
      throw new Error(`zod-walk: no TypeScript rendering for a zod ${def.type} schema; teach tools/reference/zod-walk.ts`);
  }
}
