import type * as pulumi from "@pulumi/pulumi";
import { engineFor } from "./registry";
import { sshPool } from "./ssh/pool";
import { ConnectionWarmer } from "./warm-connections";

/** A provider operation as Pulumi's dynamic provider host calls it, by name. */
export type ProviderOperation = "check" | "diff" | "create" | "read" | "update" | "delete";

/**
 * The operation `op` of `type`'s engine, with the arguments Pulumi's dynamic provider host passed
 * to the method of that name.
 */
// biome-ignore lint/suspicious/noExplicitAny: each provider method has its own arguments; dispatch forwards them as Pulumi passed them
export async function dispatch(type: string, op: ProviderOperation, args: any[]): Promise<unknown> {
  const engine = engineFor(type);
  if (op === "create" || op === "update" || op === "delete") warmer().changes();
  switch (op) {
    case "check": {
      const checked = engine.check(args[1]);
      if (checked.failures.length) return checked;
      warmer().checked(checked.inputs);
      // Host checks (persist needs systemd there) only for inputs that passed the others.
      if (!engine.preflight) return checked;
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

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

let processWarmer: ConnectionWarmer | undefined;
/** The process's one warmer, on the process's one pool. */
function warmer(): ConnectionWarmer {
  processWarmer ??= new ConnectionWarmer(sshPool());
  return processWarmer;
}

/**
 * How long an unused connection stays open in Pulumi's provider process, which Pulumi ends itself
 * when the run is done: long enough that a host's connection outlives the gaps between its
 * operations in one run (its device made early, its flood list at the end), so each host costs
 * one handshake per run. NETDEV_SSH_IDLE_MS sets it instead.
 */
export const PROVIDER_IDLE_CLOSE_MS = 15_000;

/** The provider object of `type`, as the `__provider` text (provider/dynamic.ts) hands it to Pulumi's host. */
export function providerOf(type: string): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(type);
  if (!provider) {
    engineFor(type); // an unknown type fails here, when the host loads it, not at its first call
    if (providers.size === 0 && process.env.NETDEV_SSH_IDLE_MS === undefined) sshPool().idleCloseMs = PROVIDER_IDLE_CLOSE_MS;
    const call =
      (op: ProviderOperation) =>
      // biome-ignore lint/suspicious/noExplicitAny: as for dispatch: Pulumi's method signatures, forwarded untouched
      (...args: any[]) =>
        // biome-ignore lint/suspicious/noExplicitAny: the method's own result type, which Pulumi checks
        dispatch(type, op, args) as Promise<any>;
    provider = { check: call("check"), diff: call("diff"), create: call("create"), read: call("read"), update: call("update"), delete: call("delete") };
    providers.set(type, provider);
  }
  return provider;
}
