import { Ifb, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

// Where a host's incoming traffic is redirected (tc mirred) to be shaped: one queue per redirecting CPU.
const ingress = new Ifb("ifb0", { connection, name: "ifb0", queues: 2, txQueueLength: 1000 });

export const ifbIndex = ingress.ifindex;
