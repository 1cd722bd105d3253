import * as pulumi from "@pulumi/pulumi";
import { Ipvlan } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
const netdev = new pulumi.Config("netdev");
const config = new pulumi.Config();
const connection = {
  host: netdev.require("host"),
  port: netdev.getNumber("port") ?? 22,
  user: netdev.get("user") ?? "root",
  privateKey: netdev.requireSecret("privateKey"),
  hostKey: netdev.require("hostKey"),
};

// ipvlan shares the parent's MAC: use it where the switch port allows one MAC only.
const parent = config.get("parent") ?? "eth0";
const l2 = new Ipvlan("ipvl2", { connection, name: "ipvl2", parent, mode: "l2", addresses: ["192.168.70.10/24"] });
const l3 = new Ipvlan("ipvl3", { connection, name: "ipvl3", parent, mode: "l3", flag: "private", netns: "routed" });

export const sharedMac = l2.hwAddress;
