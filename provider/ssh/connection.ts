import { createHash } from "node:crypto";
import { z } from "zod";
import { secretsIn } from "./scrub";
import { TUNING_DEFAULTS } from "./stored-connection";

const OPENSSH_KEY_LINE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const SHA256_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export const hostKeyPinSchema = z
  .string()
  .trim()
  .refine((pin) => OPENSSH_KEY_LINE.test(pin) || SHA256_FINGERPRINT.test(pin), {
    message: 'must be an OpenSSH public key line ("ssh-ed25519 AAAA…") or a SHA256 fingerprint ("SHA256:…", as `ssh-keygen -lf` prints)',
  });

/** Where a user finds the value hostKey wants; said whenever it is missing. */
export const HOST_KEY_HOWTO =
  "the host's SSH public key line, e.g. the output of `ssh-keyscan -t ed25519 <host>` run over a network you trust, or its SHA256 fingerprint (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host)";

// A host name or IP literal; never starting with '-' so it can't be read as an option anywhere.
const HOST = /^(?!-)[A-Za-z0-9._:%-]{1,253}$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
// A name or IPv4 address with ":port" (one colon: an IPv6 literal has at least two), or "[IPv6]:port".
const HOST_WITH_PORT = /^(?:([^:[\]]+)|\[([^\]]+)\]):(\d+)$/;

/** Why `host` is not a host name or IP literal the transport can use, with what to write instead; undefined if it is. */
export function hostProblem(host: string): string | undefined {
  const withPort = HOST_WITH_PORT.exec(host);
  if (withPort) {
    const bare = withPort[1] ?? withPort[2]!;
    return HOST.test(bare) ? `must not carry a port: write host: "${bare}" and port: ${Number(withPort[3])}` : "must not carry a port: set the port in `port`";
  }
  if (host.includes("@")) return "must be a host name or IP address: set the user name in `user`, not in host";
  if (/^\[.*\]$/.test(host)) return "must be an IPv6 address without brackets (the port, if not 22, goes in `port`)";
  if (!HOST.test(host)) return "must be a host name or IP address";
  return undefined;
}

/** An error map for a field that is required: "is required: <what>" when it is missing, zod's own message otherwise. */
function required(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : undefined) };
}

export interface ConnectionInput {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
  agentSocket?: string;
  sudo?: boolean;
  sudoPassword?: string;
  hostKey: string | string[];
  jumpHost?: ConnectionInput;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  retries?: number;
  retryBackoffMs?: number;
  maxChannels?: number;
  preflight?: boolean;
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
  sudo?: boolean;
  sudoPassword?: string;
  hostKey: string | string[];
  jumpHost?: Connection;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  maxChannels: number;
  preflight?: boolean;
}

// Written out because the schema is recursive (jumpHost); z.ZodType checks both against it.
/** How to reach a host over SSH. privateKey, passphrase, password and sudoPassword are secrets: pass them as pulumi.secret(). */
export const connectionSchema: z.ZodType<Connection, ConnectionInput> = z.lazy(() =>
  z
    .object({
      host: z
        .string(required("the host name or IP address to reach over SSH"))
        .superRefine((host, ctx) => {
          const problem = hostProblem(host);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .describe('Host name or IP address of the SSH server, without a port (e.g. "192.0.2.11" or "fd00::11"); an IPv6 address without brackets.'),
      port: z.number().int().min(1).max(65535).default(22).describe("TCP port of the SSH server."),
      user: z
        .string()
        .regex(USER, "must be a user name (letters, digits, _ . -)")
        .default("root")
        .describe("User to log in as; needs the rights to manage network devices (root, or CAP_NET_ADMIN), or `sudo: true`."),
      privateKey: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Private key in OpenSSH or PEM format (the whole file's text). A secret: kept encrypted in state; pass it with pulumi.secret or from secret config.",
        ),
      passphrase: z.string().optional().describe("Passphrase of an encrypted privateKey. A secret, like privateKey."),
      password: z.string().optional().describe("Password for password authentication. A secret, like privateKey."),
      agentSocket: z
        .string()
        .min(1)
        .optional()
        .describe("Path of an SSH agent's socket to authenticate with (e.g. process.env.SSH_AUTH_SOCK), instead of a key or password."),
      sudo: z
        .boolean()
        .optional()
        .describe(
          "Run every command on the host as root through sudo, for a user that is not root (where root login is refused, e.g. PermitRootLogin no): sudo starts a root shell once per SSH session kept open, which runs the commands that follow, not one sudo per command. The user needs a sudoers rule to run any command as root: NOPASSWD, or a password given in sudoPassword. Commands run without a terminal, so sudoers must not require one (requiretty).",
        ),
      sudoPassword: z
        .string()
        .min(1)
        .regex(/^[^\r\n]*$/, "must be one line")
        .optional()
        .describe(
          "The user's password, for a sudoers rule that asks for one (with sudo: true). Sent to sudo on the command's standard input, never on a command line. A secret, like privateKey.",
        ),
      hostKey: z
        .union([hostKeyPinSchema, z.array(hostKeyPinSchema).min(1)], required(HOST_KEY_HOWTO))
        .describe(
          'The host\'s public key, pinned: an OpenSSH public key line ("ssh-ed25519 AAAA…") or a SHA256 fingerprint ("SHA256:…"); a list during a key rotation. Connections to a host presenting another key are refused.',
        ),
      jumpHost: connectionSchema
        .optional()
        .describe("Reach this host through another SSH host (a bastion): a connection of the same shape, itself possibly with a jumpHost."),
      connectTimeoutMs: z
        .number()
        .int()
        .min(100)
        .max(600_000)
        .default(TUNING_DEFAULTS.connectTimeoutMs)
        .describe("Deadline for each connection attempt (TCP and the SSH handshake), in milliseconds."),
      commandTimeoutMs: z
        .number()
        .int()
        .min(100)
        .max(3_600_000)
        .default(TUNING_DEFAULTS.commandTimeoutMs)
        .describe(
          'Deadline for each remote command once the host is connected, waiting for a free session included, in milliseconds; a command that changes the host and passes it is reported as "may or may not have run".',
        ),
      retries: z
        .number()
        .int()
        .min(0)
        .max(10)
        .default(TUNING_DEFAULTS.retries)
        .describe(
          "Connection attempts after the first one fails for a reason that may pass (a refused or timed-out connect; never an authentication failure or a host key mismatch).",
        ),
      retryBackoffMs: z
        .number()
        .int()
        .min(0)
        .max(60_000)
        .default(TUNING_DEFAULTS.retryBackoffMs)
        .describe("Wait before the first connection retry, in milliseconds; doubled for each further one."),
      // sshd's MaxSessions defaults to 10, and it frees a slot only after reaping the command, so stay well below it.
      maxChannels: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(TUNING_DEFAULTS.maxChannels)
        .describe("Commands run at once over the one pooled connection to this host; keep it below the server's MaxSessions (10 by default)."),
      preflight: z
        .boolean()
        .optional()
        .describe(
          "Also check what the host offers (kernel support for the kind, `ip -json`/`-batch`, `wg`, the right to manage devices) in `pulumi preview`, which then connects to the host. `pulumi up` always checks it, once per host, before the first change there.",
        ),
    })
    .refine((c) => c.privateKey !== undefined || c.password !== undefined || c.agentSocket !== undefined, {
      message: "needs a credential: privateKey, password or agentSocket",
    })
    .refine((c) => c.sudoPassword === undefined || c.sudo === true, {
      message: "sudoPassword is set but sudo is not: set sudo: true to run commands through sudo",
      path: ["sudo"],
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
    .update(
      JSON.stringify([
        connection.privateKey,
        connection.passphrase,
        connection.password,
        connection.agentSocket,
        hostKeyPins(connection),
        // Commands of a sudo and a plain login never share a batch: each batch runs as one of them.
        connection.sudo === true,
        connection.sudoPassword,
      ]),
    )
    .digest("hex")
    .slice(0, 16);
  const here = `${connection.user}@${connection.host}:${connection.port}#${credentials}`;
  return connection.jumpHost ? `${poolKey(connection.jumpHost)}>${here}` : here;
}

/** Every secret string in a connection (and its jump hosts), however short, so messages can be scrubbed of them. */
export function secretsOf(connection: Connection): string[] {
  return secretsIn(connection);
}

/**
 * The connection of a resource's state or checked inputs, parsed again (read and delete get
 * state, not checked inputs). Refused with each bad field named, never with a value: zod's own
 * error would be a JSON dump of its issues.
 */
export function connectionOf(props: Record<string, unknown>): Connection {
  const result = connectionSchema.safeParse(props.connection);
  if (result.success) return result.data;
  throw new Error(`invalid connection: ${result.error.issues.map((issue) => `${["connection", ...issue.path].join(".")}: ${issue.message}`).join("; ")}`);
}
