import type { z } from "zod";
import { type commonShape, DeviceEngine } from "./engine/engine";
import type { DeviceKind } from "./engine/kind";
import { type AnyEngine, withSecretsScrubbed } from "./engine/provider-boundary";
import { deviceKinds } from "./kinds";
import { objectTypes } from "./objects";

/**
 * The one registry of resource types: the device kinds (provider/kinds/index.ts) and the
 * objects (provider/objects/index.ts). The engines, the public classes with their Args and
 * outputs (generated from it by `npm run gen`), the components' PlanItem union and the
 * serialization test's list all come from here.
 */
export { deviceKinds, objectTypes };

export type DeviceType = keyof typeof deviceKinds;
export type ObjectType = keyof typeof objectTypes;
export type ResourceType = DeviceType | ObjectType;

/** Every resource type, device kinds first. */
export const resourceTypes = [...Object.keys(deviceKinds), ...Object.keys(objectTypes)] as ResourceType[];

/** A device kind's inputs as its engine's `check` takes them (the zod input type). */
export type DeviceInputs<T extends DeviceType> = (typeof deviceKinds)[T]["fields"] extends infer Shape extends z.ZodRawShape
  ? z.input<z.ZodObject<typeof commonShape & Shape>>
  : never;

/** Any type's inputs as its engine's `check` takes them. */
export type InputsOf<T extends ResourceType> = T extends DeviceType
  ? DeviceInputs<T>
  : T extends ObjectType
    ? z.input<(typeof objectTypes)[T]["schema"]>
    : never;

export function isDeviceType(type: string): type is DeviceType {
  return Object.hasOwn(deviceKinds, type);
}

function isObjectType(type: string): type is ObjectType {
  return Object.hasOwn(objectTypes, type);
}

// The kinds differ in their zod shapes; an engine needs only the common interface.
type AnyKind = DeviceKind<z.ZodRawShape>;
const deviceEngines = new Map<string, DeviceEngine>();
const providerEngines = new Map<string, AnyEngine>();

/** The engine of a device kind, with its kind and pure step builders (tests and tools use these). */
export function deviceEngine(type: string): DeviceEngine {
  if (!isDeviceType(type)) throw new Error(`unknown device type ${type}; known: ${Object.keys(deviceKinds).join(", ")}`);
  let engine = deviceEngines.get(type);
  if (!engine) deviceEngines.set(type, (engine = new DeviceEngine(deviceKinds[type] as unknown as AnyKind)));
  return engine;
}

/**
 * The engine for any resource type, wrapped at the provider boundary (every error and check
 * failure scrubbed of the call's secrets): what the runtime's providerOf (provider/dispatch.ts)
 * calls.
 */
export function engineFor(type: string): AnyEngine {
  let engine = providerEngines.get(type);
  if (engine) return engine;
  if (isDeviceType(type)) {
    const kind = deviceKinds[type] as unknown as AnyKind;
    engine = withSecretsScrubbed(deviceEngine(type), kind.secretFields ?? []);
  } else if (isObjectType(type)) {
    const entry = objectTypes[type];
    engine = withSecretsScrubbed(entry.engine, "secretFields" in entry ? entry.secretFields : []);
  } else {
    throw new Error(`unknown resource type ${type}; known: ${resourceTypes.join(", ")}`);
  }
  providerEngines.set(type, engine);
  return engine;
}
