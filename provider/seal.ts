import * as pulumi from "@pulumi/pulumi";

/**
 * The args with `connection` (when present) wrapped in pulumi.secret: a password or key passed
 * without pulumi.secret would otherwise sit in plain text under the resource's inputs in state
 * (the additionalSecretOutputs option covers only outputs). Nested Outputs are unwrapped.
 */
export function sealConnection<Args extends object>(args: Args): Args {
  const { connection } = args as { connection?: unknown };
  if (connection === undefined) return args;
  return { ...args, connection: pulumi.secret(connection as pulumi.Input<unknown>) };
}
