import { z } from "zod";
import { defineKind } from "../../engine/kind";

/**
 * A VRF (virtual routing and forwarding) device: an L3 master whose members' routes go to its
 * own routing `table`. Members join with their own `master` field. Needs the kernel's vrf
 * module. The kernel cannot change the table of an existing VRF ("Operation not supported"),
 * so a new table replaces the device.
 */
export const vrfKind = defineKind({
  resourceType: "Vrf",
  summary: "A VRF: an L3 master with its own routing table; members join by their own `master` field.",
  infoKinds: ["vrf"],
  kernelFeature: "vrf",
  example: { table: 10 },
  fields: {
    table: z
      .number()
      .int()
      .min(1, "must be 1-4294967295")
      .max(4_294_967_295, "must be 1-4294967295")
      .describe("The routing table (1-4294967295) the VRF's members route by; one VRF per table."),
  },
  refine: (inputs) =>
    RESERVED_TABLES[inputs.table]
      ? { field: "table", message: `${inputs.table} is the host's own ${RESERVED_TABLES[inputs.table]} table; a VRF needs a table of its own` }
      : undefined,
  replaceOn: ["table"],
  createArgs: (inputs) => ["type", "vrf", "table", String(inputs.table)],
  networkd: (inputs) => ({ kind: "vrf", netdev: [["VRF", { Table: inputs.table }]] }),
  update: () => [],
  async read(link) {
    return { table: (link.infoData as { table?: number }).table };
  },
});

const RESERVED_TABLES: Record<number, string> = { 253: "default", 254: "main", 255: "local" };
