import * as pulumi from "@pulumi/pulumi";
import { Ipvlan, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
const connection = connectionFromConfig();
const config = new pulumi.Config();

// ipvlan shares the parent's MAC: use it where the switch port allows one MAC only.
// Every ipvlan on one parent runs in the same mode and flag (the kernel keeps them per parent:
// creating one in another mode switches its siblings too), so pick one per parent.
const parent = config.get("parent") ?? "eth0";
const l3 = new Ipvlan("ipvl3", { connection, name: "ipvl3", parent, mode: "l3", addresses: ["192.168.70.10/24"] });
new Ipvlan("ipvl3-routed", { connection, name: "ipvl3r", parent, mode: "l3", netns: "routed", addresses: ["192.168.70.11/24"] });

export const sharedMac = l3.hwAddress;
