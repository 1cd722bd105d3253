import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import type { z } from "zod";
import { commonShape, REPLACE_ALWAYS } from "../../provider/engine/engine";
import { observedOutputs } from "../../provider/engine/observed";
import { deviceKinds, objectTypes } from "../../provider/registry";
import { connectionSchema } from "../../provider/ssh/connection";
import { type FieldShape, fieldsOf, type Names, typeOf, type TypeShape, unwrapField } from "./zod-walk";

/**
 * Every public resource as the generated types and reference pages describe it, read from the
 * registry (provider/registry.ts): the zod schemas' fields with their descriptions and
 * defaults, each field's rule on change (from the kind's replaceOn, the objects' replaceOn and
 * the engine's REPLACE_ALWAYS), the outputs beyond the inputs, and the kind's example.
 */

export const repoRoot = path.resolve(__dirname, "../..");

/** What a change to the field does to an existing resource; held to the engines' diff by reference.unit.test.ts. */
export type ChangeRule = "replace" | "in place" | "nothing" | "host";

export interface InputDoc {
  name: string;
  input: FieldShape;
  output: FieldShape;
  rule: ChangeRule;
  secret: boolean;
  /** Its output holds more than the input: what the host reports (a registry entry's `inputsAsOutputs`). */
  reported?: boolean;
}

export interface OutputDoc {
  name: string;
  output: FieldShape;
}

export interface ResourceDoc {
  name: string;
  category: "device" | "object";
  /** The public class's doc comment: the kind's (or object's) `summary` in the registry. */
  summary: string;
  /** Device kinds: what `ip -details` calls it, and the kernel feature it needs. */
  infoKinds?: string[];
  kernelFeature?: string;
  /** The kind's own fields (devices), or every field (objects). */
  inputs: InputDoc[];
  /** Outputs that are not inputs. */
  outputs: OutputDoc[];
  example: Record<string, unknown>;
  /** A full example program in the repository (relative to its root), when there is one. */
  exampleProgram?: string;
}

/** Set by the class, never by a program (engine/ownership.ts). */
const INTERNAL_FIELDS = new Set(["ownerKey"]);
/** Read only when the resource is created; diff ignores them. */
const CREATE_ONLY = new Set(["adopt"]);

/** The connection schema is recursive (jumpHost): printed by these names. */
export const names: Names = new Map([
  [(connectionSchema as unknown as { _zod: { def: { getter: unknown } } })._zod.def.getter, { input: "ConnectionArgs", output: "ResolvedConnection" }],
]);

function field(name: string, schema: z.ZodType, mode: "input" | "output"): FieldShape {
  const unwrapped = unwrapField(schema);
  return {
    name,
    type: typeOf(unwrapped.inner, mode, names),
    optional: mode === "input" ? unwrapped.optional || unwrapped.hasDefault : unwrapped.optional && !unwrapped.hasDefault,
    ...(unwrapped.hasDefault ? { defaultValue: unwrapped.defaultValue } : {}),
    ...(unwrapped.description !== undefined ? { description: unwrapped.description } : {}),
  };
}

function inputsOf(shape: z.ZodRawShape, rule: (name: string) => ChangeRule, secrets: readonly string[], asOutputs: z.ZodRawShape = {}): InputDoc[] {
  return Object.entries(shape)
    .filter(([name]) => !INTERNAL_FIELDS.has(name))
    .map(([name, schema]) => ({
      name,
      input: field(name, schema as z.ZodType, "input"),
      output: field(name, (asOutputs[name] ?? schema) as z.ZodType, "output"),
      rule: rule(name),
      secret: name === "connection" || secrets.includes(name),
      ...(name in asOutputs ? { reported: true } : {}),
    }));
}

function outputsOf(shape: z.ZodRawShape): OutputDoc[] {
  return Object.entries(shape).map(([name, schema]) => ({ name, output: field(name, schema as z.ZodType, "output") }));
}

function ruleFor(replaceOn: readonly string[]): (name: string) => ChangeRule {
  return (name) => (name === "connection" ? "host" : CREATE_ONLY.has(name) ? "nothing" : replaceOn.includes(name) ? "replace" : "in place");
}

/** The common fields of every device. */
export function commonDeviceInputs(): InputDoc[] {
  return inputsOf(commonShape, ruleFor(REPLACE_ALWAYS), []);
}

/** The outputs every device has beyond its inputs. */
export function commonDeviceOutputs(): OutputDoc[] {
  return outputsOf(observedOutputs);
}

/** The connection's own fields (ssh/connection.ts), input and output. */
export function connectionFields(): { input: FieldShape[]; output: FieldShape[] } {
  return { input: fieldsOf(connectionSchema, "input", names), output: fieldsOf(connectionSchema, "output", names) };
}

/** Doc comments of the classes in these files (or of the interface merged with each), by name. */
export function classSummaries(files: readonly string[]): Map<string, string> {
  const summaries = new Map<string, string>();
  for (const relative of files) {
    const file = path.join(repoRoot, relative);
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    collectSummaries(source, summaries);
  }
  return summaries;
}

function collectSummaries(source: ts.SourceFile, summaries: Map<string, string>): void {
  for (const statement of source.statements) {
    if (!(ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) || !statement.name) continue;
    const docs = ts.getJSDocCommentsAndTags(statement).filter(ts.isJSDoc);
    const text = docs
      .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
      .join("\n")
      .trim();
    if (text && !summaries.has(statement.name.text)) summaries.set(statement.name.text, text.replace(/\s*\n\s*/g, " "));
  }
}

/** examples/<kind>/index.ts: each kind's example program is in the folder named as `ip` names the kind. */
function exampleProgramOf(folder: string | undefined): string | undefined {
  const relative = `examples/${folder}/index.ts`;
  return folder && existsSync(path.join(repoRoot, relative)) ? relative : undefined;
}

export function resourceDocs(): ResourceDoc[] {
  const devices = Object.entries(deviceKinds).map(([name, kind]): ResourceDoc => {
    const { summary, fields, replaceOn, secretFields, outputs, example, infoKinds, kernelFeature } = kind as unknown as {
      summary: string;
      fields: z.ZodRawShape;
      replaceOn: string[];
      secretFields?: string[];
      outputs?: { fields: z.ZodRawShape };
      example: Record<string, unknown>;
      infoKinds: string[];
      kernelFeature: string;
    };
    return {
      name,
      category: "device",
      summary,
      infoKinds,
      kernelFeature,
      inputs: inputsOf(fields, ruleFor([...REPLACE_ALWAYS, ...replaceOn]), secretFields ?? []),
      outputs: outputsOf(outputs?.fields ?? {}),
      example,
      exampleProgram: exampleProgramOf(infoKinds[0]),
    };
  });
  const objects = Object.entries(objectTypes).map(([name, entry]): ResourceDoc => {
    const shape = (entry.schema as unknown as z.ZodObject)._zod.def.shape as z.ZodRawShape;
    return {
      name,
      category: "object",
      summary: entry.summary,
      inputs: inputsOf(
        shape,
        ruleFor(entry.replaceOn),
        "secretFields" in entry ? entry.secretFields : [],
        "inputsAsOutputs" in entry ? entry.inputsAsOutputs : {},
      ),
      outputs: outputsOf(entry.outputs),
      example: entry.example,
      // Its own example (examples/host-devices), else the persist example, where NetworkNamespace
      // and Route appear beside the devices that use them.
      exampleProgram:
        exampleProgramOf(name.replace(/(?<=[a-z])(?=[A-Z])/g, "-").toLowerCase()) ?? ("connection" in shape ? exampleProgramOf("persist") : undefined),
    };
  });
  return [...devices, ...objects];
}

/** Every field (nested ones by path, e.g. `srcPortRange.low`) that has no description. */
export function undescribed(fields: readonly FieldShape[], prefix = ""): string[] {
  return fields.flatMap((f) => [...(f.description?.trim() ? [] : [`${prefix}${f.name}`]), ...undescribed(nestedFields(f.type), `${prefix}${f.name}.`)]);
}

/** The fields of an object type, also inside arrays and unions (not through named types). */
export function nestedFields(type: TypeShape): FieldShape[] {
  if (type.kind === "object") return type.fields;
  if (type.kind === "array") return nestedFields(type.item);
  if (type.kind === "record") return nestedFields(type.value);
  if (type.kind === "union") return type.options.flatMap(nestedFields);
  return [];
}
