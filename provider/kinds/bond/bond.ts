import { z } from "zod";
import { parseLinks } from "../../engine/iplink";
import { defineKind, type Step } from "../../engine/kind";

const MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"] as const;
const milliseconds = z.number().int().min(0).max(2_147_483_647);

/**
 * A bond (link aggregation): one device over several members, which join by their own
 * `master` field. Needs the kernel's bonding module.
 *
 * Measured on kernel 6.1: miimon, updelay, downdelay and xmit_hash_policy change live. The mode
 * changes only while the bond is down and has no members ("unable to set option because the bond
 * is up" / "… has slaves"), so a new mode is applied in place by releasing the members, taking
 * the bond down, setting the mode, bringing it up and enslaving the members again, in one
 * round trip (the same device, members included, comes out of it).
 */
export const bondKind = defineKind({
  resourceType: "Bond",
  summary: "A bond (link aggregation); members join by their own `master` field.",
  infoKinds: ["bond"],
  kernelFeature: "bonding",
  example: { mode: "active-backup", miimon: 100, updelay: 200, downdelay: 200, xmitHashPolicy: "layer3+4" },
  fields: {
    mode: z
      .enum(MODES)
      .default("balance-rr")
      .describe('How traffic is spread over the members (the bonding driver\'s mode), e.g. "active-backup" for failover or "802.3ad" for LACP.'),
    miimon: milliseconds
      .optional()
      .describe("MII link monitoring interval in ms; 0 turns it off. The kernel defaults to 100 in 802.3ad, balance-tlb and balance-alb, else 0."),
    updelay: milliseconds.optional().describe("ms a member's link must be up before it is used: a multiple of miimon."),
    downdelay: milliseconds.optional().describe("ms a member's link must be down before it is dropped: a multiple of miimon."),
    xmitHashPolicy: z
      .enum(["layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac"])
      .optional()
      .describe("How balance-xor, 802.3ad and balance-tlb pick a member for a flow."),
  },
  refine: (inputs) => {
    for (const field of ["updelay", "downdelay"] as const) {
      const value = inputs[field];
      if (value === undefined || value === 0) continue;
      // The kernel keeps the delays in miimon ticks: it refuses them with monitoring off, and rounds down the rest.
      if (!inputs.miimon) return { field, message: "needs miimon (link monitoring) set above 0" };
      if (value % inputs.miimon !== 0) return { field, message: `must be a multiple of miimon (${inputs.miimon})` };
    }
    return undefined;
  },
  replaceOn: [],
  createArgs: (inputs) => ["type", "bond", "mode", inputs.mode, ...bondOptions(inputs)],
  networkd: (inputs) => {
    const ms = (value: number | undefined) => (value === undefined ? undefined : `${value}ms`);
    const delays = (inputs.miimon ?? 0) !== 0;
    return {
      kind: "bond",
      netdev: [
        [
          "Bond",
          {
            Mode: inputs.mode,
            MIIMonitorSec: ms(inputs.miimon),
            UpDelaySec: delays ? ms(inputs.updelay) : undefined,
            DownDelaySec: delays ? ms(inputs.downdelay) : undefined,
            TransmitHashPolicy: inputs.xmitHashPolicy,
          },
        ],
      ],
    };
  },
  update(desired, actual) {
    const steps: Step[] = [];
    const dev = desired.name;
    const set = (field: string, args: string[]): Step => ({ field, tool: "ip", netns: desired.netns, args: ["link", "set", "dev", ...args] });
    const members = (actual.members as string[] | undefined) ?? [];
    if (desired.mode !== actual.mode) {
      // Released, a member is down (the kernel refuses to enslave one that is up); enslaving brings it up again.
      steps.push(...members.flatMap((member) => [set("mode", [member, "nomaster"]), set("mode", [member, "down"])]));
      steps.push(set("mode", [dev, "down"]), set("mode", [dev, "type", "bond", "mode", desired.mode]));
      if (desired.up) steps.push(set("mode", [dev, "up"]));
      steps.push(...members.map((member) => set("mode", [member, "master", dev])));
    }
    // As with a Bridge, an option left out is left as it is.
    const xmitHashPolicy = desired.xmitHashPolicy;
    const timing = ["miimon", "updelay", "downdelay"] as const;
    // The delays are kept in miimon ticks: a new miimon rescales them, so they go with it.
    const timingChanged = timing.some((key) => desired[key] !== undefined && desired[key] !== actual[key]);
    const changed = {
      ...(timingChanged ? Object.fromEntries(timing.map((key) => [key, desired[key]])) : {}),
      ...(xmitHashPolicy !== undefined && xmitHashPolicy !== actual.xmitHashPolicy ? { xmitHashPolicy } : {}),
    };
    const args = bondOptions(changed, actual.miimon as number | undefined);
    if (args.length)
      steps.push(
        set(
          Object.keys(changed)
            .filter((key) => changed[key as keyof typeof changed] !== undefined)
            .join(", "),
          [dev, "type", "bond", ...args],
        ),
      );
    return steps;
  },
  async read(link, host, netns, inputs) {
    const data = link.infoData;
    // Members matter only to a mode change (they are released and enslaved again around it).
    const members =
      inputs.mode !== undefined && inputs.mode !== data.mode
        ? parseLinks(await host.read({ tool: "ip", netns, args: ["-json", "link", "show", "master", link.ifname] })).map((member) => member.ifname)
        : undefined;
    return {
      mode: data.mode,
      miimon: data.miimon,
      updelay: data.updelay,
      downdelay: data.downdelay,
      xmitHashPolicy: data.xmit_hash_policy,
      ...(members ? { members } : {}),
    };
  },
});

function bondOptions(input: { miimon?: number; updelay?: number; downdelay?: number; xmitHashPolicy?: string }, miimonNow = 0): string[] {
  // With monitoring off the kernel refuses any delay, even 0 ("Operation not permitted"); refine
  // makes sure a delay above 0 comes with a miimon above 0.
  const delays = (input.miimon ?? miimonNow) !== 0;
  return [
    ...(input.miimon !== undefined ? ["miimon", String(input.miimon)] : []),
    ...(delays && input.updelay !== undefined ? ["updelay", String(input.updelay)] : []),
    ...(delays && input.downdelay !== undefined ? ["downdelay", String(input.downdelay)] : []),
    ...(input.xmitHashPolicy !== undefined ? ["xmit_hash_policy", input.xmitHashPolicy] : []),
  ];
}
