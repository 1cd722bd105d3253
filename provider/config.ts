import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { ConnectionArgs } from "./generated/args";

/**
 * Connection args from stack config, the private key kept a secret:
 *   pulumi config set netdev:host 10.0.0.11
 *   pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"      (ssh-keyscan -t ed25519 HOST)
 *   pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
 * and optionally netdev:port, netdev:user, netdev:passphrase and netdev:password (secrets), netdev:agentSocket,
 * netdev:sudo (true: run commands through sudo), netdev:sudoPassword (a secret) and netdev:preflight
 * (true: `pulumi preview` connects and checks what the host offers).
 */
export function connectionFromConfig(namespace = "netdev"): ConnectionArgs {
  const config = new pulumi.Config(namespace);
  return {
    host: config.require("host"),
    port: config.getNumber("port") ?? 22,
    user: config.get("user") ?? "root",
    hostKey: config.require("hostKey"),
    privateKey: config.getSecret("privateKey"),
    passphrase: config.getSecret("passphrase"),
    password: config.getSecret("password"),
    agentSocket: config.get("agentSocket"),
    sudo: config.getBoolean("sudo"),
    sudoPassword: config.getSecret("sudoPassword"),
    preflight: config.getBoolean("preflight"),
  };
}

/** One host of a multi-host program, as a stack config list holds it. */
export interface HostConfig {
  /** A name for the host, unique in the list (resource names are made from it). */
  name: string;
  /** Host name or IP address to reach it over SSH. */
  host: string;
  /** SSH port; omitted, 22. */
  port?: number;
  /** User to log in as; omitted, root. */
  user?: string;
  /** true: run the commands through sudo, for a user who is not root (see ConnectionArgs.sudo). */
  sudo?: boolean;
  /** The host's SSH public key line or SHA256 fingerprint (see ConnectionArgs.hostKey). */
  hostKey: string;
  /** The host's address on the network the overlay runs over. */
  underlayAddress: string;
  /** The host's interface on that network, e.g. "eth0". */
  underlayDev?: string;
}

// Typed by the plain interface above, so that the published declarations name no zod type.
const hostConfigSchema: z.ZodType<HostConfig> = z.strictObject({
  name: z.string().min(1),
  host: z.string().min(1),
  // `pulumi config set --path 'hosts[0].port' 2222` may store the number as text.
  port: z
    .union([z.number(), z.string().regex(/^\d+$/, "must be a port number").transform(Number)])
    .pipe(z.number().int().min(1).max(65535))
    .optional(),
  user: z.string().min(1).optional(),
  // Text too, as for port: `pulumi config set --path 'hosts[0].sudo' true` may store "true".
  sudo: z.union([z.boolean(), z.enum(["true", "false"]).transform((text) => text === "true")]).optional(),
  hostKey: z.string().min(1),
  underlayAddress: z.string().min(1),
  underlayDev: z.string().min(1).optional(),
});

const HOST_SHAPE = '{"name", "host", "hostKey", "underlayAddress", optional "port", "user", "sudo", "underlayDev"}';

/**
 * Validates a list of hosts read from stack config, with an error that names the key, the
 * element and the expected shape. Pure, so the messages are unit-tested without an engine.
 */
export function parseHostsConfig(key: string, value: unknown): HostConfig[] {
  if (value === undefined) throw new Error(`stack config ${key} is missing: set it to a list of hosts, each ${HOST_SHAPE}`);
  if (!Array.isArray(value)) throw new Error(`stack config ${key} must be a list of hosts, each ${HOST_SHAPE}; it is ${describe(value)}`);
  if (value.length === 0) throw new Error(`stack config ${key} is an empty list: give at least one host ${HOST_SHAPE}`);
  return value.map((element, i) => {
    const where = `${key}[${i}]`;
    if (typeof element === "string") {
      // `pulumi config set --path 'hosts[0]' '{…}'` stores the JSON as text, not as an object.
      throw new Error(
        `stack config ${where} is text (${JSON.stringify(element.length > 60 ? `${element.slice(0, 60)}…` : element)}), not an object ${HOST_SHAPE}. ` +
          `\`pulumi config set --path '${where}' '{…}'\` stores text; set one field at a time (\`pulumi config set --path '${where}.name' a\`) or the whole list as JSON (\`pulumi config set ${key} '[{…}]'\`)`,
      );
    }
    const parsed = hostConfigSchema.safeParse(element);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((issue) => `${[where, ...issue.path].join(".")}: ${issue.message}`);
    throw new Error(`stack config ${key} is not a list of ${HOST_SHAPE}: ${problems.join("; ")}`);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `the text ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  return `a ${typeof value}`;
}

/**
 * The hosts of a multi-host program from stack config (default key `hosts` of the project's
 * namespace), validated. Set one field at a time, or the list as JSON:
 *   pulumi config set --path 'hosts[0].name' a
 *   pulumi config set --path 'hosts[0].host' 10.0.0.11
 *   pulumi config set hosts '[{"name":"a","host":"10.0.0.11",…}]'
 */
export function hostsFromConfig(key = "hosts", namespace?: string): HostConfig[] {
  const config = new pulumi.Config(namespace);
  let value: unknown;
  try {
    value = config.getObject<unknown>(key);
  } catch (error) {
    throw new Error(`stack config ${key} is not valid JSON: ${(error as Error).message}; expected a list of hosts, each ${HOST_SHAPE}`);
  }
  return parseHostsConfig(key, value);
}
