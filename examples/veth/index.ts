import * as pulumi from "@pulumi/pulumi";
import { VethPair } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
const netdev = new pulumi.Config("netdev");
const connection = {
  host: netdev.require("host"),
  port: netdev.getNumber("port") ?? 22,
  user: netdev.get("user") ?? "root",
  privateKey: netdev.requireSecret("privateKey"),
  hostKey: netdev.require("hostKey"),
};

// A "container": the peer end lives in namespace web, with an address.
const veth = new VethPair("web", {
  connection,
  name: "veth-web",
  addresses: ["10.200.0.1/30"],
  peerName: "eth0",
  peerNetns: "web",
  peerAddresses: ["10.200.0.2/30"],
});

export const hostEndMac = veth.hwAddress;
