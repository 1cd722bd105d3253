import { Dummy, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

// Addresses on a dummy device stay up whatever the physical links do.
const svc = new Dummy("svc0", { connection, name: "svc0", addresses: ["10.200.0.1/32"] });

export const svcIndex = svc.ifindex;
