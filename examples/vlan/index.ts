import * as pulumi from "@pulumi/pulumi";
import { Vlan, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
const connection = connectionFromConfig();
const config = new pulumi.Config();

const parent = config.get("parent") ?? "eth0";
const vlan10 = new Vlan("vlan10", { connection, name: "eth0.10", parent, vlanId: 10, addresses: ["10.10.0.5/24"] });
// 802.1ad (QinQ): an outer service tag.
new Vlan("svlan100", { connection, name: "eth0.s100", parent, vlanId: 100, protocol: "802.1ad" });

export const vlanState = vlan10.operState;
