import * as pulumi from "@pulumi/pulumi";
import { Macvlan, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();

// Two endpoints with their own MACs on eth0; bridge mode lets them talk to each other.
const parent = config.get("parent") ?? "eth0";
for (const i of [1, 2]) {
  new Macvlan(`mv${i}`, { connection, name: `mv${i}`, parent, mode: "bridge", netns: `app${i}`, addresses: [`192.168.60.${i}/24`] });
}
// tap: true makes a macvtap (a character device a VM opens) instead.
new Macvlan("vm-macvtap", { connection, name: "mvtap0", parent, mode: "vepa", tap: true });
