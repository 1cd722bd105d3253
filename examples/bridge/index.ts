import { Bridge, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

const br = new Bridge("br0", {
  connection,
  name: "br0",
  stp: true,
  forwardDelay: 400, // centiseconds, as ip takes them
  addresses: ["192.168.50.1/24"],
  alias: "lab switch",
});

export const bridgeMtu = br.linkMtu;
