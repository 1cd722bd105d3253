import * as pulumi from "@pulumi/pulumi";
import { TunDevice } from "pulumi-netdev";

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

const tap = new TunDevice("vm-tap", {
  connection,
  name: "tap-vm0",
  mode: "tap",
  owner: 1000, // the uid your VM runs as may open it without CAP_NET_ADMIN
  vnetHdr: true,
  multiQueue: true,
  mtu: 1500,
});

export const tapIndex = tap.ifindex;
