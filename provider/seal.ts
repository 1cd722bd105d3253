import * as pulumi from "@pulumi/pulumi";

/**
 * The args with `connection` (when present) wrapped in pulumi.secret: a password or key passed
 * without pulumi.secret would otherwise sit in plain text under the resource's inputs in state
 * (the additionalSecretOutputs option covers only outputs). Nested Outputs are unwrapped.
 */
export function sealConnection<Args extends object>(args: Args): Args {
  return sealSecrets(args, ["connection"]);
}

/** The args with each named field (when present) wrapped in pulumi.secret: see sealConnection. */
export function sealSecrets<Args extends object>(args: Args, fields: readonly string[]): Args {
  const sealed: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  for (const field of fields) if (sealed[field] !== undefined) sealed[field] = pulumi.secret(sealed[field] as pulumi.Input<unknown>);
  return sealed as Args;
}
