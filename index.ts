import * as pulumi from "@pulumi/pulumi";
import { Attachment, VxlanOverlay } from "pulumi-netdev";

// A layer-2 overlay across hosts: on each host a bridge and a VXLAN VTEP (unicast mesh: every
// VTEP floods to all others), and a "container" (network namespace) plugged into the bridge
// with an address on 192.168.100.0/24.
//
// pulumi config set --path 'hosts[0]' '{"name":"a","host":"10.0.0.11","hostKey":"ssh-ed25519 AAAA…","underlayAddress":"10.0.0.11"}'
// pulumi config set --secret privateKey < ~/.ssh/id_ed25519
interface HostConfig {
  name: string;
  host: string;
  port?: number;
  user?: string;
  hostKey: string;
  underlayAddress: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<HostConfig[]>("hosts");
const privateKey = config.requireSecret("privateKey");
const vni = config.getNumber("vni") ?? 100;

const connectionOf = (h: HostConfig) => ({ host: h.host, port: h.port ?? 22, user: h.user ?? "root", hostKey: h.hostKey, privateKey });

const overlay = new VxlanOverlay("overlay", {
  vni,
  mode: { type: "unicast" },
  bridgeName: "br-overlay",
  vtepName: "vx-overlay",
  hosts: hosts.map((h) => ({ name: h.name, connection: connectionOf(h), underlayAddress: h.underlayAddress })),
});

hosts.forEach((h, i) => {
  new Attachment(`container-${h.name}`, {
    connection: connectionOf(h),
    namespace: `c-${h.name}`,
    bridge: "br-overlay",
    address: `192.168.100.${i + 1}/24`,
    mtu: overlay.mtu,
  }, { dependsOn: [overlay] });
});

export const overlayMtu = overlay.mtu;
export const containers = hosts.map((h, i) => ({ host: h.name, namespace: `c-${h.name}`, address: `192.168.100.${i + 1}` }));
