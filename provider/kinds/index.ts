import { DeviceEngine } from "../engine/engine";
import type { DeviceKind } from "../engine/kind";
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

/** Every device kind, by resource type. A new kind is one module plus one line here. */
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
};

export type DeviceType = keyof typeof deviceKinds;

// The kinds differ in their zod shapes; the engine only needs the common interface.
type AnyKind = DeviceKind<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const engines = new Map<string, DeviceEngine<AnyKind["fields"]>>();

export function engineFor(type: string): DeviceEngine<AnyKind["fields"]> {
  const kind = (deviceKinds as Record<string, AnyKind>)[type];
  if (!kind) throw new Error(`unknown device type ${type}; known: ${Object.keys(deviceKinds).join(", ")}`);
  let engine = engines.get(type);
  if (!engine) {
    engine = new DeviceEngine(kind);
    engines.set(type, engine);
  }
  return engine;
}
