import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { commonShape } from "../engine/engine";
import { observedOutputs } from "../engine/observed";
import { deviceKinds, type DeviceType, type InputsOf, objectTypes, type ObjectType, type ResourceType } from "../registry";
import type { ResourceArgs } from "./args";
import type { ResourceInputs } from "./inputs";
import { resourceFields } from "./fields";
import type * as outputs from "./outputs";

/**
 * The generated public types (tools/gen-reference.ts) are the zod schemas' types, written out:
 * the first part fails the type check (`npm run typecheck`) when they drift apart, whichever
 * side changed; the second holds the generated field lists to the registry at run time.
 */

type Primitive = string | number | boolean | null | undefined;
/**
 * A value as resource arguments take it: a pulumi.Input at every depth, but the `kind` that tells
 * a discriminated union's shapes apart (HostDevices' devices), which stays its plain literal.
 */
type Deep<T> = T extends Primitive
  ? T
  : T extends ReadonlyArray<infer Item>
    ? Array<pulumi.Input<Deep<Item>>>
    : { [K in keyof T]: K extends "kind" ? T[K] : pulumi.Input<Deep<Exclude<T[K], undefined>>> };
type AsArgs<T> = Omit<{ [K in keyof T]: pulumi.Input<Deep<Exclude<T[K], undefined>>> }, "ownerKey">;
/** Every field an Output; an optional one's may be undefined. */
type AsOutputs<T> = { readonly [K in keyof T]-?: pulumi.Output<{} extends Pick<T, K> ? T[K] | undefined : T[K]> };

/** Mutually assignable, with the same keys. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;

type KindOf<T extends DeviceType> = (typeof deviceKinds)[T];
type KindOutputs<T extends DeviceType> = KindOf<T> extends { outputs?: { fields: infer Shape extends z.ZodRawShape } } ? ShapeOutputs<Shape> : {};
type DeviceOutputsOf<T extends DeviceType> = KindOf<T>["fields"] extends infer Shape extends z.ZodRawShape
  ? Omit<z.output<z.ZodObject<typeof commonShape & Shape>>, "ownerKey"> & z.output<z.ZodObject<typeof observedOutputs>> & KindOutputs<T>
  : never;
type ShapeOutputs<Shape extends z.ZodRawShape> = keyof Shape extends never ? {} : z.output<z.ZodObject<Shape>>;
/** Inputs whose output holds more than the input (HostDevices' devices): their shape as outputs. */
type InputsAsOutputs<T extends ObjectType> = (typeof objectTypes)[T] extends { inputsAsOutputs: infer Shape extends z.ZodRawShape } ? Shape : {};
type ObjectOutputsOf<T extends ObjectType> = Omit<z.output<(typeof objectTypes)[T]["schema"]>, "ownerKey" | keyof InputsAsOutputs<T>> &
  ShapeOutputs<InputsAsOutputs<T>> &
  ShapeOutputs<(typeof objectTypes)[T]["outputs"]>;
type OutputsOf<T extends ResourceType> = T extends DeviceType ? DeviceOutputsOf<T> : T extends ObjectType ? ObjectOutputsOf<T> : never;

type ArgsMatch = { [T in ResourceType]: Same<ResourceArgs[T], AsArgs<InputsOf<T>>> };
type PlainInputsMatch = { [T in ResourceType]: Same<ResourceInputs[T], Omit<InputsOf<T>, "ownerKey">> };
type OutputsMatch = { [T in ResourceType]: Same<outputs.ResourceOutputs[T], AsOutputs<OutputsOf<T>>> };

// Each fails the type check, naming the resource type, when its generated type and its schema differ.
export const argsMatch: { [T in ResourceType]: true } = null as unknown as ArgsMatch;
export const outputsMatch: { [T in ResourceType]: true } = null as unknown as OutputsMatch;
export const plainInputsMatch: { [T in ResourceType]: true } = null as unknown as PlainInputsMatch;
export const sameTypes: Same<keyof ResourceArgs, ResourceType> & Same<keyof ResourceInputs, ResourceType> & Same<keyof OutputsMatch, ResourceType> = true;

describe("the generated field lists (what each class registers)", () => {
  it("name every input of the registry's schemas, the outputs beyond them and the secrets", () => {
    const withoutOwnerKey = (keys: string[]) => keys.filter((key) => key !== "ownerKey");
    for (const [type, kind] of Object.entries(deviceKinds)) {
      const fields = resourceFields[type as DeviceType];
      expect(fields.inputs, type).toEqual(withoutOwnerKey([...Object.keys(commonShape), ...Object.keys(kind.fields)]));
      const own = Object.keys((kind as { outputs?: { fields: object } }).outputs?.fields ?? {});
      expect(fields.outputs, type).toEqual([...Object.keys(observedOutputs), ...own]);
      expect(fields.secrets, type).toEqual(["connection", ...(("secretFields" in kind ? kind.secretFields : undefined) ?? [])]);
    }
    for (const [type, entry] of Object.entries(objectTypes)) {
      const fields = resourceFields[type as ObjectType];
      expect(fields.inputs, type).toEqual(withoutOwnerKey(Object.keys(entry.schema.shape)));
      expect(fields.outputs, type).toEqual(Object.keys(entry.outputs));
      const connection = "connection" in entry.schema.shape ? ["connection"] : [];
      expect(fields.secrets, type).toEqual([...connection, ...("secretFields" in entry ? entry.secretFields : [])]);
    }
    expect(Object.keys(resourceFields).sort()).toEqual([...Object.keys(deviceKinds), ...Object.keys(objectTypes)].sort());
  });
});
