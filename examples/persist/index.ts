import { Bridge, NetworkNamespace, Route, VethPair, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();

// Everything below comes back after the host reboots: networkd's files for the bridge, oneshot
// systemd units for the namespace, the veth into it and the route (provider/persist/README.md).
const persist = "networkd" as const;

const bridge = new Bridge("br-app", { connection, name: "br-app", addresses: ["10.201.0.1/24"], persist });
const app = new NetworkNamespace("app", { connection, name: "app", persist });
const veth = new VethPair(
  "veth-app",
  { connection, name: "veth-app", master: "br-app", peerName: "eth0", peerNetns: "app", peerAddresses: ["10.201.0.2/24"], persist },
  { dependsOn: [bridge, app] },
);
new Route("app-default", { connection, netns: "app", destination: "default", via: "10.201.0.1", dev: "eth0", persist }, { dependsOn: [veth] });

export const bridgeIndex = bridge.ifindex;
