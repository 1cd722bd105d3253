import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType, RUNTIME_MODULE } from "./dynamic";

/**
 * What makes one stack's owner tags its own: a random seed drawn at the stack's first `up` and
 * kept in the stack's state by one resource of this type, which every netdev resource of the
 * stack depends on (identity.ts hashes the seed with each resource's URN).
 *
 * Why the state: a URN names project, stack and resource, not the backend or the organisation,
 * so two stacks of the same name in two backends (`pulumi login file://A` and `file://B`, two
 * state buckets) would otherwise derive the same tags and take each other's devices. The
 * program cannot see which backend it runs against, and Pulumi.<stack>.yaml (the passphrase's
 * salt) is shared by every backend that uses the same project directory; the stack's own state
 * is the one value that belongs to this stack instance alone. Pulumi saves a create before it
 * hands the outputs to dependents, so a crash after the first resources were made finds the
 * seed again (see README, Ownership).
 *
 * The program draws a fresh candidate every run; `check` keeps the one the stack already has,
 * so inputs and outputs stay the same from run to run and `diff` never reports a change.
 * Under Pulumi's mocks (which echo inputs as outputs) the candidate is the seed.
 */
export const STACK_IDENTITY_TYPE = "StackIdentity";
export const STACK_IDENTITY_NAME = "netdev-stack-identity";

const SEED = /^[0-9a-f]{32}$/;

/** The `__provider` text of the identity resource: the runtime's stackIdentityProvider (see dynamic.ts). */
export function stackIdentityProviderSource(): string {
  return `exports.handler=()=>require(${JSON.stringify(RUNTIME_MODULE)}).stackIdentityProvider();`;
}

function seedOf(props: Record<string, unknown> | undefined): string | undefined {
  const seed = props?.seed;
  return typeof seed === "string" && SEED.test(seed) ? seed : undefined;
}

/** The provider of the identity resource: nothing on any host, only the seed in state. */
export function stackIdentityProvider(): pulumi.dynamic.ResourceProvider {
  return {
    async check(olds, news) {
      const seed = seedOf(olds) ?? seedOf(news);
      if (!seed)
        return {
          inputs: news,
          failures: [{ property: "seed", reason: `${STACK_IDENTITY_TYPE} seed: must be 32 lowercase hex digits (drawn by pulumi-netdev; do not set it)` }],
        };
      return { inputs: { ...news, seed } };
    },
    async diff() {
      return { changes: false };
    },
    async create(inputs) {
      return { id: STACK_IDENTITY_NAME, outs: { seed: inputs.seed } };
    },
    async read(id, props) {
      return { id, props };
    },
    async delete() {},
  };
}

/** The resource itself: one per stack, made by identity.ts with the stack's first netdev resource. */
export class StackIdentity extends pulumi.CustomResource {
  declare readonly seed: pulumi.Output<string>;
  constructor() {
    // No parent (the stack itself), whichever resource's constructor makes it.
    super(
      dynamicResourceType(STACK_IDENTITY_TYPE),
      STACK_IDENTITY_NAME,
      { seed: randomBytes(16).toString("hex"), __provider: stackIdentityProviderSource() },
      { parent: undefined },
    );
  }
}
