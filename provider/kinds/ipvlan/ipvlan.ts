import { z } from "zod";
import { interfaceName } from "../../engine/fields";
import { defineKind } from "../../engine/kind";

/**
 * An ipvlan device: shares the parent's MAC, separates by IP. l2 switches frames among
 * siblings; l3 routes (no broadcast/multicast); l3s adds netfilter/conntrack. Flags:
 * bridge (default), private (siblings isolated), vepa (via the external switch).
 */
export const ipvlanKind = defineKind({
  resourceType: "Ipvlan",
  infoKinds: ["ipvlan"],
  hasParent: true,
  kernelFeature: "ipvlan",
  fields: {
    parent: interfaceName,
    mode: z.enum(["l2", "l3", "l3s"]).default("l2"),
    flag: z.enum(["bridge", "private", "vepa"]).default("bridge"),
  },
  replaceOn: ["parent", "mode", "flag"],
  createArgs: (inputs) => ["link", inputs.parent, "type", "ipvlan", "mode", inputs.mode, inputs.flag],
  update: () => [],
  async read(link, host) {
    // iproute2 reports the flag as a boolean key: {"mode":"l3","private":true}; bridge has none.
    const data = link.infoData as { mode?: string; private?: boolean; vepa?: boolean };
    return { parent: await host.parentOf(link), mode: data.mode, flag: data.private ? "private" : data.vepa ? "vepa" : "bridge" };
  },
});
