import { namespaceEngine, namespaceSchema } from "./namespace/namespace";
import { routeEngine, routeSchema } from "./route/route";

/**
 * The resource types that are not devices, by resource type: each its zod schema (the single
 * source of its input type) and its engine. A new object is one folder plus one line here.
 */
export const objectTypes = {
  NetworkNamespace: { schema: namespaceSchema, engine: namespaceEngine },
  Route: { schema: routeSchema, engine: routeEngine },
};
