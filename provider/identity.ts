import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { StackIdentity } from "./stack-identity";

/**
 * A resource's owner key: 12 hex digits of a hash of its stack's seed (stack-identity.ts: drawn
 * once per stack instance and kept in its state) and its URN (project, stack, type with its
 * parents' types, name). The same on every run of that stack, and different in another stack
 * of the same name in another backend. The provider tags the device with it, so a `pulumi up`
 * that died after creating the device but before recording it is followed by a create that
 * recognises the device as its own (see engine/ownership.ts), while another stack's create
 * finds a device that is not its own ("already exists").
 */
export function ownerKeyOf(type: string, resourceName: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const urn = pulumi.createUrn(resourceName, `netdev:index:${type}`, opts?.parent);
  // Only the URN's value: an input that depended on the parent component would make this
  // resource wait for all of that component's children, itself included (a deadlock). The
  // seed's dependency is kept: the stack's devices depend on its identity, so Pulumi makes the
  // identity first and deletes it last.
  const urnValue = pulumi.output(new Promise<string>((resolve) => urn.apply(resolve)));
  return pulumi.all([stackSeed(), urnValue]).apply(([seed, value]) => createHash("sha256").update(`${seed}\n${value}`).digest("hex").slice(0, 12));
}

/** One identity resource per program run, whichever copy of this package asks first. */
const RUNS = Symbol.for("pulumi-netdev:stack-identity");
/** Outside a Pulumi run (no monitor): one identity for the process. */
const NO_MONITOR = {};

function stackSeed(): pulumi.Output<string> {
  const store = globalThis as typeof globalThis & { [RUNS]?: WeakMap<object, pulumi.Output<string>> };
  const runs = (store[RUNS] ??= new WeakMap());
  // Each run has its own monitor (an Automation API inline program runs many in one process; so do mocks).
  const run = (pulumi.runtime.getMonitor() as object | undefined) ?? NO_MONITOR;
  let seed = runs.get(run);
  if (!seed) runs.set(run, (seed = new StackIdentity().seed));
  return seed;
}
