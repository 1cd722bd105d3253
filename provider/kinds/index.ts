import { bridgeKind } from "./bridge/bridge";
import { ipvlanKind } from "./ipvlan/ipvlan";
import { macvlanKind } from "./macvlan/macvlan";
import { tunKind } from "./tun/tun";
import { vethKind } from "./veth/veth";
import { vlanKind } from "./vlan/vlan";
import { vxlanKind } from "./vxlan/vxlan";
import { dummyKind } from "./dummy/dummy";
import { geneveKind } from "./geneve/geneve";
import { greKind } from "./gre/gre";
import { bondKind } from "./bond/bond";
import { vrfKind } from "./vrf/vrf";
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
  Dummy: dummyKind,
  Geneve: geneveKind,
  Gre: greKind,
  Bond: bondKind,
  Vrf: vrfKind,
  WireguardInterface: wireguardKind,
};
