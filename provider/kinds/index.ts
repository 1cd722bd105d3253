import type { DeviceKind } from "../engine/kind";
import { bondKind } from "./bond/bond";
import { bridgeKind } from "./bridge/bridge";
import { dummyKind } from "./dummy/dummy";
import { geneveKind } from "./geneve/geneve";
import { greKind } from "./gre/gre";
import { ifbKind } from "./ifb/ifb";
import { ipvlanKind } from "./ipvlan/ipvlan";
import { macvlanKind } from "./macvlan/macvlan";
import { tunKind } from "./tun/tun";
import { vethKind } from "./veth/veth";
import { vlanKind } from "./vlan/vlan";
import { vrfKind } from "./vrf/vrf";
import { vxlanKind } from "./vxlan/vxlan";
import { wireguardKind } from "./wireguard/wireguard";

/**
 * Every device kind, keyed by its own `resourceType`: the one place a kind's type name is
 * written is its folder; the registry key and the public class (provider/generated/classes.ts)
 * follow from it. A new kind is one folder plus its line here (see provider/registry.ts).
 */
export const deviceKinds = byResourceType([
  tunKind,
  vethKind,
  bridgeKind,
  macvlanKind,
  ipvlanKind,
  vlanKind,
  vxlanKind,
  dummyKind,
  geneveKind,
  greKind,
  bondKind,
  vrfKind,
  wireguardKind,
  ifbKind,
]);

// biome-ignore lint/suspicious/noExplicitAny: each kind has its own shapes; only resourceType is read here
type AnyKind = DeviceKind<any, any, string>;

function byResourceType<const Kinds extends readonly AnyKind[]>(kinds: Kinds): { [K in Kinds[number] as K["resourceType"]]: K } {
  const byType: Record<string, AnyKind> = {};
  for (const kind of kinds) {
    if (Object.hasOwn(byType, kind.resourceType)) throw new Error(`two device kinds are named ${kind.resourceType}`);
    byType[kind.resourceType] = kind;
  }
  return byType as { [K in Kinds[number] as K["resourceType"]]: K };
}
