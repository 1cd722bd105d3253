import { TunDevice, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

const tap = new TunDevice("vm-tap", {
  connection,
  name: "tap-vm0",
  mode: "tap",
  owner: 1000, // the uid your VM runs as may open it without CAP_NET_ADMIN
  vnetHdr: true,
  multiQueue: true,
  mtu: 1500,
});

export const tapIndex = tap.ifindex;
