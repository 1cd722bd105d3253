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
  summary: "A macvlan (or macvtap) device on a parent interface: its own MAC address on the parent's network.",
  infoKinds: ["macvlan", "macvtap"],
  hasParent: true,
  kernelFeature: "macvlan",
  example: { parent: "eth0", mode: "vepa", tap: false },
  fields: {
    parent: interfaceName.describe('The interface the macvlan sits on, e.g. "eth0"; in the host\'s namespace.'),
    mode: z
      .enum(["bridge", "vepa", "private", "passthru", "source"])
      .default("bridge")
      .describe(
        'How macvlans of one parent reach each other: "bridge" directly, "vepa" through the external switch, "private" not at all, "passthru" one macvlan takes over the parent, "source" by allowed source MAC.',
      ),
    tap: z.boolean().default(false).describe("Create a macvtap (a tap-like character device for VMs, /dev/tapN) instead of a macvlan."),
  },
  replaceOn: ["parent", "tap"],
  createArgs: (inputs) => ["link", inputs.parent, "type", inputs.tap ? "macvtap" : "macvlan", "mode", inputs.mode],
  update: (desired, actual) =>
    desired.mode !== actual.mode
      ? [
          {
            field: "mode",
            tool: "ip",
            netns: desired.netns,
            args: ["link", "set", "dev", desired.name, "type", desired.tap ? "macvtap" : "macvlan", "mode", desired.mode],
          },
        ]
      : [],
  async read(link, host) {
    return { parent: await host.parentOf(link), mode: link.infoData.mode, tap: link.infoKind === "macvtap" };
  },
});
