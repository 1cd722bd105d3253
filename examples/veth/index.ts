import { VethPair, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

// A "container": the peer end lives in namespace web, with an address.
const veth = new VethPair("web", {
  connection,
  name: "veth-web",
  addresses: ["10.200.0.1/30"],
  peerName: "eth0",
  peerNetns: "web",
  peerAddresses: ["10.200.0.2/30"],
});

export const hostEndMac = veth.hwAddress;
