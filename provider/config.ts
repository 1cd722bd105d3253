import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "./resources";

/**
 * Connection args from stack config, the private key kept a secret:
 *   pulumi config set netdev:host 10.0.0.11
 *   pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"      (ssh-keyscan -t ed25519 HOST)
 *   pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
 * and optionally netdev:port, netdev:user, netdev:password (secret), netdev:agentSocket.
 */
export function connectionFromConfig(namespace = "netdev"): ConnectionArgs {
  const config = new pulumi.Config(namespace);
  return {
    host: config.require("host"),
    port: config.getNumber("port") ?? 22,
    user: config.get("user") ?? "root",
    hostKey: config.require("hostKey"),
    privateKey: config.getSecret("privateKey"),
    password: config.getSecret("password"),
    agentSocket: config.get("agentSocket"),
  };
}
