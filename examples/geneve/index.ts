import * as pulumi from "@pulumi/pulumi";
import { Geneve, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

const tunnel = new Geneve("gnv42", {
  connection,
  name: "gnv42",
  vni: 42,
  remote: config.require("remote"),
  dstPort: 6081, // IANA
  df: "unset",
  mtu: 1450, // 50 below a 1500 IPv4 underlay
  addresses: ["192.168.42.1/24"],
});

export const tunnelMac = tunnel.hwAddress;
