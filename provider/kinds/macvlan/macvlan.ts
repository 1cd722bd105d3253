import { z } from "zod";
import { interfaceName } from "../../engine/fields";
import { defineKind } from "../../engine/kind";

/**
 * A macvlan (or, with tap: true, macvtap) device: its own MAC on a parent interface.
 * Modes: bridge (siblings talk directly), vepa (via the external switch), private (siblings
 * isolated), passthru (one device takes over the parent), source (filtered by source MAC).
 * macvlan does not work over Wi-Fi parents: the access point drops frames from unknown MACs.
 */
export const macvlanKind = defineKind({
  resourceType: "Macvlan",
  infoKinds: ["macvlan", "macvtap"],
  hasParent: true,
  kernelFeature: "macvlan",
  example: { parent: "eth0", mode: "vepa", tap: false },
  fields: {
    parent: interfaceName,
    mode: z.enum(["bridge", "vepa", "private", "passthru", "source"]).default("bridge"),
    /** Create a macvtap (a tap-like character device for VMs) instead of a macvlan. */
    tap: z.boolean().default(false),
  },
  replaceOn: ["parent", "tap"],
  createArgs: (inputs) => ["link", inputs.parent, "type", inputs.tap ? "macvtap" : "macvlan", "mode", inputs.mode],
  update: (desired, actual) =>
    desired.mode !== actual.mode
      ? [{ field: "mode", tool: "ip", netns: desired.netns, args: ["link", "set", "dev", desired.name, "type", desired.tap ? "macvtap" : "macvlan", "mode", desired.mode] }]
      : [],
  async read(link, host) {
    return { parent: await host.parentOf(link), mode: link.infoData.mode, tap: link.infoKind === "macvtap" };
  },
});
