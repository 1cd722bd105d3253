import { z } from "zod";
import { interfaceName } from "../../engine/fields";
import { parseLinks } from "../../engine/iplink";
import { defineKind } from "../../engine/kind";

/**
 * An ipvlan device: shares the parent's MAC, separates by IP. l2 switches frames among
 * siblings; l3 routes (no broadcast/multicast); l3s adds netfilter/conntrack. Flags:
 * bridge (default), private (siblings isolated), vepa (via the external switch).
 */
export const ipvlanKind = defineKind({
  resourceType: "Ipvlan",
  summary: "An ipvlan device on a parent interface: its own addresses on the parent's network, sharing the parent's MAC.",
  infoKinds: ["ipvlan"],
  hasParent: true,
  kernelFeature: "ipvlan",
  example: { parent: "eth0", mode: "l3", flag: "private" },
  fields: {
    parent: interfaceName.describe('The interface the ipvlan shares (its MAC address included), e.g. "eth0"; in the host\'s namespace.'),
    mode: z
      .enum(["l2", "l3", "l3s"])
      .default("l2")
      .describe('"l2": switches frames by MAC; "l3": routes by IP, no broadcast or multicast; "l3s": l3 with netfilter (conntrack) on the slave side.'),
    flag: z
      .enum(["bridge", "private", "vepa"])
      .default("bridge")
      .describe('How slaves of one parent reach each other: "bridge" directly, "private" not at all, "vepa" through the external switch.'),
  },
  replaceOn: ["parent", "mode", "flag"],
  // The kernel keeps mode and flag per parent: a new ipvlan in another mode would silently
  // switch its siblings. Siblings in the host's namespace are checked (moved ones are not visible).
  async prepare(inputs, host) {
    const siblings = parseLinks(await host.read({ tool: "ip", args: ["-json", "-details", "link", "show", "type", "ipvlan"] }));
    for (const sibling of siblings) {
      if (sibling.link !== inputs.parent) continue;
      const { mode, flag } = ipvlanSettings(sibling.infoData);
      if (mode !== inputs.mode || flag !== inputs.flag) {
        throw new Error(
          `ipvlan ${sibling.ifname} on ${inputs.parent} runs in mode ${mode} (${flag}); every ipvlan on one parent shares its mode and flag, ` +
            `so ${inputs.name} cannot be ${inputs.mode} (${inputs.flag}) there`,
        );
      }
    }
  },
  createArgs: (inputs) => ["link", inputs.parent, "type", "ipvlan", "mode", inputs.mode, inputs.flag],
  update: () => [],
  async read(link, host) {
    return { parent: await host.parentOf(link), ...ipvlanSettings(link.infoData) };
  },
});

/** iproute2 reports the flag as a boolean key: {"mode":"l3","private":true}; bridge has none. */
function ipvlanSettings(data: Record<string, unknown>): { mode: unknown; flag: "bridge" | "private" | "vepa" } {
  return { mode: data.mode, flag: data.private ? "private" : data.vepa ? "vepa" : "bridge" };
}
