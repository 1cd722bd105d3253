import * as pulumi from "@pulumi/pulumi";
import { Gre, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();
const remote = config.require("remote");

// IP over GRE: a point-to-point L3 device; the key tells this tunnel from others between the same hosts.
const gre = new Gre("gre1", { connection, name: "gre1", remote, key: 1001, ttl: 64, addresses: ["172.31.255.1/30"] });
// Ethernet over GRE: put it in a bridge to stretch an L2 segment.
new Gre("gretap1", { connection, name: "gretap1", mode: "gretap", remote, key: 1002 });

export const greMtu = gre.linkMtu;
