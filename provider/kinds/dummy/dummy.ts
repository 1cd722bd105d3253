import { defineKind } from "../../engine/kind";

/**
 * A dummy device: a local interface that drops whatever it is sent. A place to hold addresses
 * that stay up whatever the physical links do (a router id, a service address), or a stand-in
 * member for a bond, bridge or VRF. Needs the kernel's dummy module. No fields of its own.
 */
export const dummyKind = defineKind({
  resourceType: "Dummy",
  summary: "A dummy device: addresses that stay up whatever the links do, or a stand-in member.",
  infoKinds: ["dummy"],
  kernelFeature: "dummy",
  example: {},
  fields: {},
  replaceOn: [],
  createArgs: () => ["type", "dummy"],
  update: () => [],
  networkd: () => ({ kind: "dummy" }),
  networkmanager: () => ({ type: "dummy" }),
  read: async () => ({}),
});
