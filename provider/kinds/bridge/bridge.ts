import { z } from "zod";
import { defineKind, type Step } from "../../engine/kind";

const centiseconds = z.number().int().min(0).max(100_000_000);

/** A software switch. Timers are in hundredths of a second, as `ip` takes and reports them. */
export const bridgeKind = defineKind({
  resourceType: "Bridge",
  summary: "A Linux bridge: a software switch that other devices join by their `master` field.",
  infoKinds: ["bridge"],
  kernelFeature: "bridge",
  example: { stp: true, forwardDelay: 400, helloTime: 200, maxAge: 1200, ageingTime: 30000, vlanFiltering: true, vlanDefaultPvid: 1, multicastSnooping: false },
  fields: {
    stp: z
      .boolean()
      .optional()
      .describe("Run the Spanning Tree Protocol (stp_state), which blocks loops between bridges; omitted, the kernel's default (off)."),
    forwardDelay: centiseconds.optional().describe("STP forward delay in centiseconds (400 = 4 s); STP needs 200-3000."),
    helloTime: centiseconds.optional().describe("STP hello time in centiseconds (200 = 2 s); STP needs 100-1000."),
    maxAge: centiseconds.optional().describe("STP max message age in centiseconds (2000 = 20 s); STP needs 600-4000."),
    ageingTime: centiseconds.optional().describe("How long a learned MAC address is kept, in centiseconds (30000 = 300 s)."),
    vlanFiltering: z.boolean().optional().describe("Filter frames by VLAN on the bridge's ports (802.1Q-aware bridge)."),
    vlanDefaultPvid: z.number().int().min(0).max(4094).optional().describe("The VLAN id given to untagged frames on ports (1-4094); 0 means none."),
    multicastSnooping: z
      .boolean()
      .optional()
      .describe("Listen to IGMP/MLD to forward multicast only to ports that joined; off floods multicast to every port."),
  },
  replaceOn: [],
  createArgs: (inputs) => ["type", "bridge", ...bridgeOptions(inputs)],
  // An MTU given at `ip link add` is not "set by the user" for the kernel, which then moves the
  // bridge to its ports' smallest MTU as they join (br_mtu_auto_adjust): the first refresh would
  // show drift. Only a change through `ip link set` marks it so, and setting the same value is
  // no change: so a step away and back, before any port joins or the bridge comes up.
  afterCreate: (inputs) => {
    if (inputs.mtu === undefined) return [];
    const set = (mtu: number): Step => ({ field: "mtu", tool: "ip", netns: inputs.netns, args: ["link", "set", "dev", inputs.name, "mtu", String(mtu)] });
    return [set(inputs.mtu < 65535 ? inputs.mtu + 1 : inputs.mtu - 1), set(inputs.mtu)];
  },
  // networkd takes the timers as time spans; ip's centiseconds are written in ms.
  networkd: (inputs) => {
    const span = (cs: number | undefined) => (cs === undefined ? undefined : `${cs * 10}ms`);
    return {
      kind: "bridge",
      mtuSetAfterCreate: true,
      netdev: [
        [
          "Bridge",
          {
            STP: inputs.stp,
            ForwardDelaySec: span(inputs.forwardDelay),
            HelloTimeSec: span(inputs.helloTime),
            MaxAgeSec: span(inputs.maxAge),
            AgeingTimeSec: span(inputs.ageingTime),
            VLANFiltering: inputs.vlanFiltering,
            DefaultPVID: inputs.vlanDefaultPvid === 0 ? "none" : inputs.vlanDefaultPvid,
            MulticastSnooping: inputs.multicastSnooping,
          },
        ],
      ],
    };
  },
  // NetworkManager takes whole seconds, within STP's ranges, and turns STP on unless told:
  // every setting is written, as `ip` left it (the kernel's defaults where inputs are unset).
  networkmanager: (inputs) => {
    const seconds = (cs: number | undefined, fallback: number, min: number, max: number) => {
      const value = cs ?? fallback;
      return value % 100 === 0 && value / 100 >= min && value / 100 <= max ? value / 100 : undefined;
    };
    const timers = {
      "forward-delay": seconds(inputs.forwardDelay, 1500, 2, 30),
      "hello-time": seconds(inputs.helloTime, 200, 1, 10),
      "max-age": seconds(inputs.maxAge, 2000, 6, 40),
      "ageing-time": seconds(inputs.ageingTime, 30000, 0, 1_000_000),
    };
    if (Object.values(timers).some((value) => value === undefined)) return undefined;
    return {
      type: "bridge",
      sections: [
        [
          "bridge",
          {
            stp: inputs.stp ?? false,
            ...timers,
            "vlan-filtering": inputs.vlanFiltering ?? false,
            "vlan-default-pvid": inputs.vlanDefaultPvid ?? 1,
            "multicast-snooping": inputs.multicastSnooping ?? true,
          },
        ],
      ],
    };
  },
  update(desired, actual) {
    const changed = Object.fromEntries(Object.entries(desired).filter(([key, value]) => key in OPTION_NAMES && value !== undefined && value !== actual[key]));
    const args = bridgeOptions(changed);
    return args.length
      ? [
          {
            field: Object.keys(changed).join(", "),
            tool: "ip",
            netns: desired.netns,
            args: ["link", "set", "dev", desired.name, "type", "bridge", ...args],
          } satisfies Step,
        ]
      : [];
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
