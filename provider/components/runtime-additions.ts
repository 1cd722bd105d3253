import { engineFor } from "../kinds";
import { namespaceEngine, NAMESPACE_TYPE } from "./namespace";
import { routeEngine, ROUTE_TYPE } from "./route";

/** What every engine (device kinds and the component-level types) offers the dynamic provider. */
export interface AnyEngine {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: Array<{ property: string; reason: string }> };
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };
  create(inputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }>;
  read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }>;
  update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }>;
  delete(id: string, props: Record<string, unknown>): Promise<void>;
}

const extra: Record<string, AnyEngine> = {
  [NAMESPACE_TYPE]: namespaceEngine,
  [ROUTE_TYPE]: routeEngine,
};

/**
 * The engine for any resource type: NetworkNamespace, Route, or a device kind (delegates to
 * engineFor). provider/runtime.ts exports it as `engineFor`, which serialized providers
 * `require` by package name.
 */
export function componentEngineFor(type: string): AnyEngine {
  return extra[type] ?? engineFor(type);
}

export const componentTypes = Object.keys(extra);
