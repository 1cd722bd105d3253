import { z } from "zod";
import { interfaceName } from "../../engine/fields";
import { defineKind } from "../../engine/kind";

/** An 802.1Q (or 802.1ad, "QinQ") VLAN sub-interface of a parent. Needs the kernel's 8021q. */
export const vlanKind = defineKind({
  resourceType: "Vlan",
  summary: "An 802.1Q or 802.1ad VLAN device on a parent interface.",
  infoKinds: ["vlan"],
  hasParent: true,
  kernelFeature: "802.1Q VLAN (8021q)",
  example: { parent: "eth0", vlanId: 100, protocol: "802.1ad" },
  fields: {
    parent: interfaceName.describe('The interface that carries the tagged frames, e.g. "eth0"; in the host\'s namespace.'),
    vlanId: z
      .number()
      .int()
      .min(1, "must be 1-4094 (0 and 4095 are reserved)")
      .max(4094, "must be 1-4094 (0 and 4095 are reserved)")
      .describe("The VLAN id (1-4094) of the frames this device sends and receives."),
    protocol: z
      .enum(["802.1Q", "802.1ad"])
      .default("802.1Q")
      .describe('The tag\'s protocol: "802.1Q" (a customer VLAN) or "802.1ad" (an outer, service tag: QinQ).'),
  },
  replaceOn: ["parent", "vlanId", "protocol"],
  createArgs: (inputs) => ["link", inputs.parent, "type", "vlan", "protocol", inputs.protocol, "id", String(inputs.vlanId)],
  update: () => [],
  async read(link, host) {
    const data = link.infoData as { protocol?: string; id?: number };
    return { parent: await host.parentOf(link), vlanId: data.id, protocol: data.protocol };
  },
});
