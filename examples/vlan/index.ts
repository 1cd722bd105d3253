import * as pulumi from "@pulumi/pulumi";
import { Vlan, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

const parent = config.get("parent") ?? "eth0";
const vlan10 = new Vlan("vlan10", { connection, name: "eth0.10", parent, vlanId: 10, addresses: ["10.10.0.5/24"] });
// 802.1ad (QinQ): an outer service tag.
new Vlan("svlan100", { connection, name: "eth0.s100", parent, vlanId: 100, protocol: "802.1ad" });

export const vlanState = vlan10.operState;
