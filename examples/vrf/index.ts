import { Dummy, Vrf, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

const blue = new Vrf("vrf-blue", { connection, name: "vrf-blue", table: 10 });
// Its routes (here the connected 10.202.0.0/24) go to table 10: `ip route show vrf vrf-blue`.
new Dummy("blue0", { connection, name: "blue0", master: blue.name, addresses: ["10.202.0.1/24"] });

export const vrfIndex = blue.ifindex;
