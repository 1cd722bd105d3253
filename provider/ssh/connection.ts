import { createHash } from "node:crypto";
import { z } from "zod";
import { secretsIn } from "./scrub";

const OPENSSH_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const SHA256_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export const hostKeyPinSchema = z
  .string()
  .trim()
  .refine((pin) => OPENSSH_KEY_LINE.test(pin) || SHA256_FINGERPRINT.test(pin), {
    message: 'must be an OpenSSH public key line ("ssh-ed25519 AAAA…") or a SHA256 fingerprint ("SHA256:…", as `ssh-keygen -lf` prints)',
  });

// A host name or IP literal; never starting with '-' so it can't be read as an option anywhere.
const HOST = /^(?!-)[A-Za-z0-9._:%-]{1,253}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export interface ConnectionInput {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
  agentSocket?: string;
  hostKey: string | string[];
  jumpHost?: ConnectionInput;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  retries?: number;
  retryBackoffMs?: number;
  maxChannels?: number;
}

/** Connection after defaults are applied (what the transport uses). */
export interface Connection {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
  agentSocket?: string;
  hostKey: string | string[];
  jumpHost?: Connection;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  maxChannels: number;
}

// Written out because the schema is recursive (jumpHost); z.ZodType checks both against it.
/** How to reach a host over SSH. privateKey, passphrase and password are secrets: pass them as pulumi.secret(). */
export const connectionSchema: z.ZodType<Connection, ConnectionInput> = z.lazy(() =>
  z
  .object({
    host: z.string().regex(HOST, "must be a host name or IP address"),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().regex(USER, "must be a user name (letters, digits, _ . -)").default("root"),
    privateKey: z.string().min(1).optional(),
    passphrase: z.string().optional(),
    password: z.string().optional(),
    agentSocket: z.string().min(1).optional(),
    /** The host's public key (OpenSSH line) or SHA256 fingerprint; several allowed during a key rotation. */
    hostKey: z.union([hostKeyPinSchema, z.array(hostKeyPinSchema).min(1)]),
    /** Reach this host through another SSH host (a bastion); recursive. */
    jumpHost: connectionSchema.optional(),
    connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    commandTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    retries: z.number().int().min(0).max(10).default(3),
    retryBackoffMs: z.number().int().min(0).max(60_000).default(500),
    /**
     * Channels open at once on the pooled connection. sshd's MaxSessions defaults to 10, and
     * it frees a slot only after reaping the command, so stay well below it.
     */
    maxChannels: z.number().int().min(1).max(64).default(6),
  })
  .refine((c) => c.privateKey !== undefined || c.password !== undefined || c.agentSocket !== undefined, {
    message: "needs a credential: privateKey, password or agentSocket",
  }),
);

export function parseConnection(input: unknown): Connection {
  return connectionSchema.parse(input);
}

export function hostKeyPins(connection: Connection): string[] {
  return Array.isArray(connection.hostKey) ? connection.hostKey : [connection.hostKey];
}

/** SHA256 fingerprint of a raw public key blob, as OpenSSH prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function hostKeyMatches(pins: readonly string[], keyBlob: Buffer): boolean {
  const actual = fingerprint(keyBlob);
  return pins.some((pin) => {
    if (pin.startsWith("SHA256:")) return pin.replace(/=+$/, "") === actual;
    return Buffer.from(pin.split(" ")[1] ?? "", "base64").equals(keyBlob);
  });
}

/**
 * Identifies a pooled connection: endpoint, jump path and a digest of the credentials, so two
 * resources with different keys for the same host never share an authenticated session.
 * The digest is one-way; the key itself never leaves the connection options.
 */
export function poolKey(connection: Connection): string {
  const credentials = createHash("sha256")
    .update(JSON.stringify([connection.privateKey, connection.passphrase, connection.password, connection.agentSocket, hostKeyPins(connection)]))
    .digest("hex")
    .slice(0, 16);
  const here = `${connection.user}@${connection.host}:${connection.port}#${credentials}`;
  return connection.jumpHost ? `${poolKey(connection.jumpHost)}>${here}` : here;
}

/** Every secret string in a connection (and its jump hosts), however short, so messages can be scrubbed of them. */
export function secretsOf(connection: Connection): string[] {
  return secretsIn(connection);
}

/** The connection stored in a resource's state, parsed again (read and delete get state, not checked inputs). */
export function connectionOf(props: Record<string, unknown>): Connection {
  return connectionSchema.parse(props.connection);
}
