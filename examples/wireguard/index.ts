import * as pulumi from "@pulumi/pulumi";
import { WireguardInterface, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

const wg0 = new WireguardInterface("wg0", {
  connection,
  name: "wg0",
  // A secret in config; the resource keeps it secret in state and sends it to the host only on stdin.
  privateKey: config.requireSecret("wgPrivateKey"),
  listenPort: 51820,
  addresses: [config.get("address") ?? "10.100.0.1/24"],
  peers: [
    {
      publicKey: config.require("peerPublicKey"),
      endpoint: config.require("peerEndpoint"),
      allowedIps: [config.get("peerAllowedIp") ?? "10.100.0.2/32"],
      persistentKeepalive: 25,
    },
  ],
});

// Give this to the peer: it is derived from the private key on the host, and not secret.
export const publicKey = wg0.publicKey;
