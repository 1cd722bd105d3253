import * as pulumi from "@pulumi/pulumi";
import { VxlanTunnel, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

// A unicast VTEP: broadcast and unknown traffic is copied to every peer (all-zero FDB entries).
const vtep = new VxlanTunnel("vx42", {
  connection,
  name: "vx42",
  vni: 42,
  dstPort: 4789, // IANA; Linux's default is 8472
  local: config.require("underlayAddress"),
  dev: config.get("underlayDev") ?? "eth0",
  peers: config.requireObject<string[]>("peers"),
  mtu: 1450, // 50 below a 1500 IPv4 underlay
});

export const vtepMac = vtep.hwAddress;
