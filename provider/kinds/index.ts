import { bridgeKind } from "./bridge/bridge";
import { ipvlanKind } from "./ipvlan/ipvlan";
import { macvlanKind } from "./macvlan/macvlan";
import { tunKind } from "./tun/tun";
import { vethKind } from "./veth/veth";
import { vlanKind } from "./vlan/vlan";
import { vxlanKind } from "./vxlan/vxlan";
import { wireguardKind } from "./wireguard/wireguard";

/** Every device kind, by resource type. A new kind is one folder plus one line here (see provider/registry.ts). */
export const deviceKinds = {
  TunDevice: tunKind,
  VethPair: vethKind,
  Bridge: bridgeKind,
  Macvlan: macvlanKind,
  Ipvlan: ipvlanKind,
  Vlan: vlanKind,
  VxlanTunnel: vxlanKind,
  WireguardInterface: wireguardKind,
};
