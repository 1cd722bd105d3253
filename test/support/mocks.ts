import * as pulumi from "@pulumi/pulumi";
import { beforeAll } from "vitest";

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Per input, the URNs of the resources its value came from, as the state will record them (`propertyDependencies`). */
  propertyDependencies: Record<string, string[]>;
  /** The URNs of its `dependsOn` resources (the state's `dependencies`, less those of its inputs). */
  dependencies: string[];
}

/**
 * Installs Pulumi's mocks for a test file (project "project", stack "stack"): constructors run,
 * provider methods never do. Returns the list every registered resource is appended to.
 * `preview`: run as `pulumi preview` does (an output the state leaves out is unknown);
 * `stateOf`: the state a resource reports (default: its inputs).
 */
export function recordRegistrations(options: { preview?: boolean; stateOf?: (registration: Registration) => Record<string, unknown> } = {}): Registration[] {
  const registered: Registration[] = [];
  // Mocks' newResource sees no dependencies: the request to the monitor carries them.
  const dependenciesByName = new Map<string, Record<string, string[]>>();
  const dependsOnByName = new Map<string, string[]>();
  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          const registration = {
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            propertyDependencies: dependenciesByName.get(args.name) ?? {},
            dependencies: dependsOnByName.get(args.name) ?? [],
          };
          registered.push(registration);
          return { id: `${args.name}-id`, state: options.stateOf?.(registration) ?? args.inputs };
        },
        call: () => ({}),
      },
      "project",
      "stack",
      options.preview ?? false,
    );
    type Request = {
      getName(): string;
      getDependenciesList(): string[];
      getPropertydependenciesMap(): { forEach(visit: (value: { getUrnsList(): string[] }, key: string) => void): void };
    };
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: Request, callback: unknown) => unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      const dependencies: Record<string, string[]> = {};
      req.getPropertydependenciesMap().forEach((value, key) => {
        dependencies[key] = value.getUrnsList();
      });
      dependenciesByName.set(req.getName(), dependencies);
      dependsOnByName.set(req.getName(), req.getDependenciesList());
      return register(req, callback);
    };
  });
  return registered;
}

/** An Output's value once known (under mocks every Output settles). */
export function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/**
 * Runs `body` with this process's unhandled rejections collected instead of reported: the way a
 * Pulumi program fails a registration (its error surfaces as an unhandled rejection, which the
 * program's runner logs once per error object). Waits `settleMs` for them to arrive.
 */
export async function collectRejections(body: () => void, settleMs = 200): Promise<unknown[]> {
  const reported = process.listeners("unhandledRejection");
  const collected: unknown[] = [];
  const collect = (reason: unknown) => void collected.push(reason);
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", collect);
  try {
    body();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.off("unhandledRejection", collect);
    for (const listener of reported) process.on("unhandledRejection", listener);
  }
  return collected;
}
