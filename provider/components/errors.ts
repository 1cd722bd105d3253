import * as pulumi from "@pulumi/pulumi";

/**
 * A planner's refusal of one input: which host (when the input is a host's) and which field.
 * Planners are pure and throw this; the component turns it into a message that also names
 * itself (componentError).
 */
export class PlanInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly host?: string,
  ) {
    super(`${host !== undefined ? `host ${JSON.stringify(host)}: ` : ""}${field}: ${reason}`);
    this.name = "PlanInputError";
  }
}

/** What a component's errors say first: its type and name, e.g. `VxlanOverlay "ov"`. */
export interface ComponentLabel {
  type: string;
  name: string;
  resource: pulumi.Resource;
}

/**
 * A ResourceError on the component whose message stays as written. The SDK hides a
 * ResourceError's stack when asked (hideStack) and reports one error object once however many
 * registrations it fails; but while serializing each child's inputs it prefixes the field it was
 * at to the message of the very same object, so a plan every child reads would be reported as
 * `error serializing property "name": error serializing property "mtu": …`. The message is an
 * accessor that ignores those writes.
 */
class ComponentInputError extends pulumi.ResourceError {
  constructor(text: string, resource: pulumi.Resource) {
    super(text, resource, true);
    this.name = "ComponentInputError";
    Object.defineProperty(this, "message", { get: () => text, set: () => undefined, enumerable: false, configurable: true });
  }
}

/**
 * The error a component raises: `VxlanOverlay "ov": host "a": underlayAddress: … is not an IP
 * address`. A PlanInputError keeps its host and field; anything else a planner throws keeps its
 * message (still named by the component, never with a stack into this library).
 */
export function componentError(component: ComponentLabel, error: unknown): pulumi.ResourceError {
  if (error instanceof ComponentInputError) return error;
  const text = error instanceof Error ? error.message : String(error);
  // No frames: the stack is never shown, and the program's runner would still source-map every
  // frame of it when it records the error (tens of seconds of CPU under ts-node).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ComponentInputError(`${component.type} ${JSON.stringify(component.name)}: ${text}`, component.resource);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Runs a planner, raising its errors as componentError. */
export function planOrRaise<T>(component: ComponentLabel, plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    throw componentError(component, error);
  }
}
