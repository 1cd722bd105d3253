import { z } from "zod";
import { defineKind, type Step } from "../../engine/kind";
import { parseRemoteJson } from "../../ssh/scrub";

/**
 * An IFB (intermediate functional block) device: traffic redirected to it with tc's mirred
 * action passes through its qdiscs and goes back where it came from, so ingress traffic can be
 * shaped like egress. Needs the kernel's ifb module. The queue count is fixed when the device is
 * made (a new one replaces it); the transmit queue length changes in place.
 */
export const ifbKind = defineKind({
  resourceType: "Ifb",
  summary: "An IFB device: ingress traffic redirected to it (tc mirred) is shaped by its qdiscs like egress.",
  infoKinds: ["ifb"],
  kernelFeature: "ifb",
  example: { queues: 2, txQueueLength: 1000 },
  fields: {
    queues: z
      .number()
      .int()
      .min(1, "must be 1-4096")
      .max(4096, "must be 1-4096")
      .optional()
      .describe(
        "Transmit and receive queues (numtxqueues and numrxqueues), e.g. one per CPU that redirects traffic to it so their packets do not share one queue; unset: the kernel's 1. Fixed when the device is made.",
      ),
    txQueueLength: z
      .number()
      .int()
      .min(1, "must be 1-4294967295")
      .max(4_294_967_295, "must be 1-4294967295")
      .optional()
      .describe("Packets the device's transmit queue holds (txqueuelen) before a qdisc on it drops; unset: the kernel's (32 for an ifb)."),
  },
  replaceOn: ["queues"],
  createArgs: (inputs) => [
    ...(inputs.queues !== undefined ? ["numtxqueues", String(inputs.queues), "numrxqueues", String(inputs.queues)] : []),
    ...(inputs.txQueueLength !== undefined ? ["txqueuelen", String(inputs.txQueueLength)] : []),
    "type",
    "ifb",
  ],
  // systemd-networkd's .netdev has no queue settings: with them, the oneshot unit replays the create argv.
  networkd: (inputs) => (inputs.queues === undefined && inputs.txQueueLength === undefined ? { kind: "ifb" } : undefined),
  update(desired, actual): Step[] {
    if (desired.txQueueLength === undefined || desired.txQueueLength === actual.txQueueLength) return [];
    return [
      { field: "txQueueLength", tool: "ip", netns: desired.netns, args: ["link", "set", "dev", desired.name, "txqueuelen", String(desired.txQueueLength)] },
    ];
  },
  async read(link, host, netns) {
    // The engine's link state leaves out queue counts and lengths; `ip -details` has them.
    const out = await host.read({ tool: "ip", netns, args: ["-json", "-details", "link", "show", "dev", link.ifname] });
    const [details] = parseRemoteJson<Array<{ txqlen?: number; num_tx_queues?: number }>>(out, "ip -json -details link show");
    return { queues: details?.num_tx_queues, txQueueLength: details?.txqlen };
  },
});
