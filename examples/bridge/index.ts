import { Bridge, connectionFromConfig } from "pulumi-netdev";

// pulumi config set netdev:host 10.0.0.11
// pulumi config set netdev:hostKey "ssh-ed25519 AAAA…"       (ssh-keyscan -t ed25519 HOST)
// pulumi config set --secret netdev:privateKey < ~/.ssh/id_ed25519
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
