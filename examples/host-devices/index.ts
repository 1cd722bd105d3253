import * as pulumi from "@pulumi/pulumi";
import { HostDevices, connectionFromConfig } from "pulumi-netdev";

// Set up: README.md beside this file (the `pulumi config set` commands for your host).
const connection = connectionFromConfig();
const config = new pulumi.Config();
const containers = ["web", "db", "cache"];
// Optional: `pulumi config set persist auto` (or networkd, networkmanager, systemd) makes every
// device come back after the host reboots (provider/persist/README.md); unset, nothing does.
const PERSIST_MODES = ["none", "networkd", "networkmanager", "systemd", "auto"] as const;
const persist = config.get<(typeof PERSIST_MODES)[number]>("persist", { allowedValues: [...PERSIST_MODES] });

// A host's WireGuard interface, a bridge and a veth into each container's namespace as ONE
// resource: one Pulumi step and one script on the host per `up`, refresh or destroy.
const host = new HostDevices("host", {
  connection,
  devices: {
    wg: { kind: "wireguard", name: "wg0", listenPort: 51820, addresses: [config.get("wgAddress") ?? "10.100.0.1/24"] },
    br: { kind: "bridge", name: "br0", mtu: 1450, addresses: ["192.168.50.254/24"] },
    ...Object.fromEntries(
      containers.map((name, i) => [
        name,
        // Not "ve-…": systemd-networkd's own 80-container-ve.network matches those names.
        { kind: "veth" as const, name: `veth-${name}`, peerName: "eth0", peerNetns: name, master: "br0", mtu: 1450, peerAddresses: [`192.168.50.${i + 1}/24`] },
      ]),
    ),
  },
  // A secret in config, by the device's key: kept secret in state, sent to the host only on stdin.
  privateKeys: { wg: config.requireSecret("wgPrivateKey") },
  persist,
});

// Give this to the peers: derived from the private key on the host, and not secret.
export const publicKey = host.devices.apply((devices) => {
  const wg = devices.wg;
  return wg?.kind === "wireguard" ? wg.publicKey : undefined;
});
export const bridgeMtu = host.devices.apply((devices) => devices.br?.linkMtu);
