import { scrubSecrets, secretsIn } from "../ssh/scrub";
import type { CheckFailure } from "./validation";

/** What every engine (device kinds, NetworkNamespace, Route) offers the dynamic provider. */
export interface AnyEngine {
  check(news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] };
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };
  create(inputs: Record<string, unknown>): Promise<{ id: string; outs: Record<string, unknown> }>;
  read(id: string, props: Record<string, unknown>): Promise<{ id: string; props: Record<string, unknown>; inputs?: Record<string, unknown> }>;
  update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<{ outs: Record<string, unknown> }>;
  delete(id: string, props: Record<string, unknown>): Promise<void>;
  /**
   * Checks on the host that only some inputs need (persist: systemd there), after `check`
   * passed and only when the connection is known: the dynamic provider's check runs it, so
   * `pulumi preview` reports them. Failures as check's.
   */
  preflight?(inputs: Record<string, unknown>): Promise<CheckFailure[]>;
}

/**
 * The provider boundary: whatever an engine throws (or reports from check) reaches Pulumi's
 * output and logs, so it is scrubbed of every key, passphrase and password of the connections
 * in the call's arguments, however short. The transport scrubs too; this also covers messages
 * built anywhere else. The error object itself is kept (a partial create carries its `id`).
 */
export function withSecretsScrubbed(engine: AnyEngine, secretFields: readonly string[] = []): AnyEngine {
  const secretsOf = (...args: unknown[]) =>
    args.flatMap((arg) => {
      const props = arg as Record<string, unknown> | undefined;
      // A secret field is a string (a private key) or a record of them (HostDevices' privateKeys).
      const own = secretFields
        .flatMap((field) => {
          const value = props?.[field];
          return value !== null && typeof value === "object" ? Object.values(value) : [value];
        })
        .filter((value): value is string => typeof value === "string" && value.length > 0);
      // A resource that spans hosts (VxlanFloodLists) holds one connection per member.
      const members = props?.connections && typeof props.connections === "object" ? Object.values(props.connections as Record<string, unknown>) : [];
      return [...secretsIn(props?.connection), ...members.flatMap(secretsIn), ...own];
    });
  const guard = <T>(args: unknown[], run: () => T): T => {
    const rethrow = (error: unknown): never => {
      throw scrubbedError(error, secretsOf(...args));
    };
    try {
      const result = run();
      return (result instanceof Promise ? result.catch(rethrow) : result) as T;
    } catch (error) {
      return rethrow(error);
    }
  };
  // Pulumi prints the input named by a failure's property beside the reason, and prints it in
  // full even when it is a secret ("property connection value {&{map[password:…]}}"): failures
  // about the connection, a secret field or a key that is no field (a password put at the top
  // level) reach it without one. Their reason names the field.
  const reported = (failures: CheckFailure[], secrets: string[]): CheckFailure[] =>
    failures.map((failure) => ({
      property: failure.unknownKey || failure.property === "connection" || secretFields.includes(failure.property) ? "" : failure.property,
      reason: scrubSecrets(failure.reason, secrets),
    }));
  return {
    check: (news) =>
      guard([news], () => {
        const result = engine.check(news);
        return { ...result, failures: reported(result.failures, secretsOf(news)) };
      }),
    diff: (olds, news) => guard([olds, news], () => engine.diff(olds, news)),
    create: (inputs) => guard([inputs], () => engine.create(inputs)),
    read: (id, props) => guard([props], () => engine.read(id, props)),
    update: (id, olds, news) => guard([olds, news], () => engine.update(id, olds, news)),
    delete: (id, props) => guard([props], () => engine.delete(id, props)),
    ...(engine.preflight
      ? { preflight: (inputs: Record<string, unknown>) => guard([inputs], async () => reported(await engine.preflight!(inputs), secretsOf(inputs))) }
      : {}),
  };
}

function scrubbedError(error: unknown, secrets: string[]): unknown {
  if (!(error instanceof Error)) return typeof error === "string" ? scrubSecrets(error, secrets) : error;
  error.message = scrubSecrets(error.message, secrets);
  if (error.stack) error.stack = scrubSecrets(error.stack, secrets);
  // RemoteCommandError, StepError, SshConnectError keep the remote text in fields of their own.
  for (const field of ["stderr", "reason"] as const) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (typeof value === "string") Object.defineProperty(error, field, { value: scrubSecrets(value, secrets) });
  }
  // The transport's errors carry their cause as data, some of it remote text too.
  const { cause } = error as { cause?: unknown };
  if (cause && typeof cause === "object" && !(cause instanceof Error)) {
    for (const [key, value] of Object.entries(cause)) if (typeof value === "string") Object.defineProperty(cause, key, { value: scrubSecrets(value, secrets) });
  }
  return error;
}
