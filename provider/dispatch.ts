import { engineFor } from "./registry";

/** A provider operation as Pulumi's dynamic provider host calls it, by name. */
export type ProviderOperation = "check" | "diff" | "create" | "read" | "update" | "delete";

/**
 * What a serialized provider's methods call (provider/dynamic.ts): the operation `op` of `type`'s
 * engine, with the arguments Pulumi's dynamic provider host passed to the method of that name.
 * Providers serialized by releases before this one call `engineFor` directly; both stay.
 */
export async function dispatch(type: string, op: ProviderOperation, args: any[]): Promise<unknown> {
  const engine = engineFor(type);
  switch (op) {
    case "check": {
      const checked = engine.check(args[1]);
      // Host checks (persist needs systemd there) only for inputs that passed the others.
      if (checked.failures.length || !engine.preflight) return checked;
      return { ...checked, failures: await engine.preflight(checked.inputs) };
    }
    case "diff":
      return engine.diff(args[1], args[2]);
    case "create":
      return engine.create(args[0]);
    case "read":
      return engine.read(args[0], args[1]);
    case "update":
      return engine.update(args[0], args[1], args[2]);
    case "delete":
      await engine.delete(args[0], args[1]);
      return undefined;
  }
  throw new Error(`netdev: unknown provider operation ${String(op)}`);
}
