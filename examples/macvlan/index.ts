import * as pulumi from "@pulumi/pulumi";
import { Macvlan, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
const connection = connectionFromConfig();
const config = new pulumi.Config();

// Two endpoints with their own MACs on eth0; bridge mode lets them talk to each other.
const parent = config.get("parent") ?? "eth0";
for (const i of [1, 2]) {
  new Macvlan(`mv${i}`, { connection, name: `mv${i}`, parent, mode: "bridge", netns: `app${i}`, addresses: [`192.168.60.${i}/24`] });
}
// tap: true makes a macvtap (a character device a VM opens) instead.
new Macvlan("vm-macvtap", { connection, name: "mvtap0", parent, mode: "vepa", tap: true });
