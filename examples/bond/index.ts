import { Bond, Dummy, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

const bond = new Bond("bond0", { connection, name: "bond0", mode: "active-backup", miimon: 100, updelay: 200, addresses: ["10.201.0.1/24"] });
// Members name the bond as their master (the bond's output: they are made after it and removed before it).
for (const name of ["bond0m0", "bond0m1"]) new Dummy(name, { connection, name, master: bond.name });

export const bondMac = bond.hwAddress;
