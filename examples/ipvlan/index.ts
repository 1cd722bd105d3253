import * as pulumi from "@pulumi/pulumi";
import { Ipvlan, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

// ipvlan shares the parent's MAC: use it where the switch port allows one MAC only.
// Every ipvlan on one parent runs in the same mode and flag (the kernel keeps them per parent:
// creating one in another mode switches its siblings too), so pick one per parent.
const parent = config.get("parent") ?? "eth0";
const l3 = new Ipvlan("ipvl3", { connection, name: "ipvl3", parent, mode: "l3", addresses: ["192.168.70.10/24"] });
new Ipvlan("ipvl3-routed", { connection, name: "ipvl3r", parent, mode: "l3", netns: "routed", addresses: ["192.168.70.11/24"] });

export const sharedMac = l3.hwAddress;
