import * as pulumi from "@pulumi/pulumi";
import { Attachment, VxlanOverlay, hostsFromConfig } from "pulumi-netdev";

// The repository's own Pulumi program: a layer-2 overlay across hosts. On each host a bridge
// and a VXLAN VTEP (a unicast mesh: every VTEP floods to all others), and a "container"
// (network namespace) plugged into the bridge with an address on 192.168.100.0/24.
// `npm run demo` runs it on three lab hosts; CONTRIBUTING.md ("Your own hosts") shows the
// `pulumi config set` commands that point it at yours.

const config = new pulumi.Config();
const hosts = hostsFromConfig("hosts");
const privateKey = config.requireSecret("privateKey");
const vni = config.getNumber("vni") ?? 100;
// "per-device" (default): a resource per bridge, VTEP and container device; "per-host": one per host.
const form = config.get("form") === "per-host" ? "per-host" : "per-device";

const connectionOf = (h: (typeof hosts)[number]) => ({
  host: h.host,
  port: h.port ?? 22,
  user: h.user ?? "root",
  ...(h.sudo ? { sudo: true } : {}),
  hostKey: h.hostKey,
  privateKey,
});

const containerOf = (h: (typeof hosts)[number], i: number) => ({ namespace: `c-${h.name}`, address: `192.168.100.${i + 1}/24` });

const overlay = new VxlanOverlay("overlay", {
  vni,
  mode: { type: "unicast" },
  bridgeName: "br-overlay",
  vtepName: "vx-overlay",
  form,
  hosts: hosts.map((h, i) => ({
    name: h.name,
    connection: connectionOf(h),
    underlayAddress: h.underlayAddress,
    underlayDev: h.underlayDev,
    // Per host, the container is part of the host's one resource.
    ...(form === "per-host" ? { containers: [containerOf(h, i)] } : {}),
  })),
});

// Per device, each container plugs into the overlay on its host by reference: the connection,
// the bridge and the overlay MTU come from the overlay, and the veth is made after that host's bridge.
if (form === "per-device")
  hosts.forEach((h, i) => {
    new Attachment(`container-${h.name}`, { overlay, host: h.name, ...containerOf(h, i) });
  });

export const overlayMtu = overlay.mtu;
export const containers = hosts.map((h, i) => ({ host: h.name, namespace: `c-${h.name}`, address: `192.168.100.${i + 1}` }));
