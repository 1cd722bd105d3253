import { VethPair, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
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
