import { TunDevice, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
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
