import { z } from "zod";
import { defineKind, type Step } from "../../engine/kind";

const centiseconds = z.number().int().min(0).max(100_000_000);

/** A software switch. Timers are in hundredths of a second, as `ip` takes and reports them. */
export const bridgeKind = defineKind({
  resourceType: "Bridge",
  infoKinds: ["bridge"],
  kernelFeature: "bridge",
  example: { stp: true, forwardDelay: 400, helloTime: 200, maxAge: 1200, ageingTime: 30000, vlanFiltering: true, vlanDefaultPvid: 1, multicastSnooping: false },
  fields: {
    stp: z.boolean().optional(),
    forwardDelay: centiseconds.optional().describe("centiseconds; STP needs 200-3000"),
    helloTime: centiseconds.optional().describe("centiseconds; STP needs 100-1000"),
    maxAge: centiseconds.optional().describe("centiseconds; STP needs 600-4000"),
    ageingTime: centiseconds.optional().describe("centiseconds a learned MAC is kept"),
    vlanFiltering: z.boolean().optional(),
    vlanDefaultPvid: z.number().int().min(0).max(4094).optional(),
    multicastSnooping: z.boolean().optional(),
  },
  replaceOn: [],
  createArgs: (inputs) => ["type", "bridge", ...bridgeOptions(inputs)],
  // networkd takes the timers as time spans; ip's centiseconds are written in ms.
  networkd: (inputs) => {
    const span = (cs: number | undefined) => (cs === undefined ? undefined : `${cs * 10}ms`);
    return {
      kind: "bridge",
      netdev: [["Bridge", {
        STP: inputs.stp, ForwardDelaySec: span(inputs.forwardDelay), HelloTimeSec: span(inputs.helloTime), MaxAgeSec: span(inputs.maxAge), AgeingTimeSec: span(inputs.ageingTime),
        VLANFiltering: inputs.vlanFiltering, DefaultPVID: inputs.vlanDefaultPvid === 0 ? "none" : inputs.vlanDefaultPvid, MulticastSnooping: inputs.multicastSnooping,
      }]],
    };
  },
  update(desired, actual) {
    const changed = Object.fromEntries(Object.entries(desired).filter(([key, value]) => key in OPTION_NAMES && value !== undefined && value !== actual[key]));
    const args = bridgeOptions(changed);
    return args.length ? [{ field: Object.keys(changed).join(", "), tool: "ip", netns: desired.netns, args: ["link", "set", "dev", desired.name, "type", "bridge", ...args] } satisfies Step] : [];
  },
  async read(link) {
    const data = link.infoData;
    return {
      stp: data.stp_state !== undefined ? data.stp_state !== 0 : undefined,
      forwardDelay: data.forward_delay,
      helloTime: data.hello_time,
      maxAge: data.max_age,
      ageingTime: data.ageing_time,
      vlanFiltering: data.vlan_filtering !== undefined ? data.vlan_filtering !== 0 : undefined,
      vlanDefaultPvid: data.vlan_default_pvid,
      multicastSnooping: data.mcast_snooping !== undefined ? data.mcast_snooping !== 0 : undefined,
    };
  },
});

const OPTION_NAMES: Record<string, string> = {
  stp: "stp_state",
  forwardDelay: "forward_delay",
  helloTime: "hello_time",
  maxAge: "max_age",
  ageingTime: "ageing_time",
  vlanFiltering: "vlan_filtering",
  vlanDefaultPvid: "vlan_default_pvid",
  multicastSnooping: "mcast_snooping",
};

function bridgeOptions(input: object): string[] {
  const values = input as Record<string, unknown>;
  // forward_delay before stp_state: the kernel checks the delay's range when STP turns on.
  const order = ["forwardDelay", "helloTime", "maxAge", "ageingTime", "stp", "vlanDefaultPvid", "vlanFiltering", "multicastSnooping"];
  return order.flatMap((key) => {
    const value = values[key];
    if (value === undefined) return [];
    return [OPTION_NAMES[key]!, typeof value === "boolean" ? (value ? "1" : "0") : String(value)];
  });
}
