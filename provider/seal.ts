import * as pulumi from "@pulumi/pulumi";

/**
 * The args with `connection` (when present) wrapped in pulumi.secret: a password or key passed
 * without pulumi.secret would otherwise sit in plain text under the resource's inputs in state
 * (the additionalSecretOutputs option covers only outputs). Nested Outputs are unwrapped.
 */
export function sealConnection<Args extends object>(args: Args): Args {
  return sealSecrets(args, ["connection"]);
}

/**
 * The args with each named field (when present) wrapped in pulumi.secret: see sealConnection.
 * An Output that resolves to undefined (a field a component's plan leaves out) stays absent:
 * a secret holding nothing would reach the provider as null.
 */
export function sealSecrets<Args extends object>(args: Args, fields: readonly string[]): Args {
  const sealed: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  for (const field of fields) {
    const value = sealed[field] as pulumi.Input<unknown> | undefined;
    if (value === undefined) continue;
    sealed[field] = pulumi.output(value).apply((known) => (known === undefined ? undefined : pulumi.secret(known)));
  }
  return sealed as Args;
}
