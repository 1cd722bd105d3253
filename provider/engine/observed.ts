import { z } from "zod";
import { persistOutputs } from "../persist/files";

/**
 * The outputs every device resource has beyond its inputs: what the engine reads back from the
 * host after every create, update and refresh (engine.ts observe). Schemas only so that their
 * types and descriptions reach the public types and the reference from here (tools/reference).
 */
export const observedOutputs = {
  ifindex: z.number().describe("The kernel's interface index of the device on the host (in its namespace)."),
  operState: z.string().describe("Operational state as the kernel reports it: UP, DOWN, UNKNOWN, LOWERLAYERDOWN, …"),
  hwAddress: z.string().describe("The MAC address the device actually has."),
  linkMtu: z.number().describe("The MTU the device actually has (the `mtu` input, or the kernel's default when that is not set)."),
  kindInfo: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Kind-specific attributes as `ip -details` reports them (info_data), without running timers; only with `reportKindInfo: true`."),
  ...persistOutputs,
};
