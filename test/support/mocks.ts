import * as pulumi from "@pulumi/pulumi";
import { beforeAll } from "vitest";

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/**
 * Installs Pulumi's mocks for a test file (project "project", stack "stack"): constructors run,
 * provider methods never do. Returns the list every registered resource is appended to.
 */
export function recordRegistrations(): Registration[] {
  const registered: Registration[] = [];
  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      "project",
      "stack",
      false,
    );
  });
  return registered;
}
