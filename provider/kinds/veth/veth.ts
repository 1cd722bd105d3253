import { z } from "zod";
import { addressList, interfaceName, macAddress, mtu, namespaceName } from "../../engine/fields";
import { defineKind, type Step } from "../../engine/kind";
import { addressSteps } from "../../engine/steps";

/**
 * A veth pair: two ends of one cable. `name` is this end; the peer may live in another
 * namespace (a container's). Deleting either end deletes both.
 */
export const vethKind = defineKind({
  resourceType: "VethPair",
  summary: "A veth pair: two devices joined like a cable, the peer end possibly in another namespace (a container's).",
  infoKinds: ["veth"],
  kernelFeature: "veth",
  example: {
    peerName: "ve1",
    peerNetns: "web",
    peerMtu: 1400,
    peerMacAddress: "02:00:00:00:00:01",
    peerAddresses: ["10.0.0.2/24"],
    peerUp: true,
    peerAnnounce: true,
  },
  fields: {
    peerName: interfaceName.describe('The name of the other end of the pair, e.g. "eth0" inside a container\'s namespace.'),
    peerNetns: namespaceName.optional().describe("Namespace for the peer end (created if missing); omitted, the same as this end."),
    peerMtu: mtu.optional().describe("The peer end's MTU in bytes (68-65535); omitted, the same default as this end."),
    peerMacAddress: macAddress.optional().describe("The peer end's MAC (a container's): pin it so neighbours' ARP entries survive a re-create."),
    peerAddresses: addressList.optional().describe('The peer end\'s IPv4 and IPv6 addresses in CIDR form, e.g. ["10.0.0.2/24"]: it holds exactly these.'),
    peerUp: z.boolean().default(true).describe("Whether the peer end is administratively up."),
    peerAnnounce: z
      .boolean()
      .optional()
      .describe(
        "The peer announces its addresses (gratuitous ARP, unsolicited NA) whenever it comes up or its MAC changes (arp_notify, ndisc_notify), so neighbours update their entries at once.",
      ),
  },
  refine: (inputs) =>
    inputs.peerName === inputs.name && inputs.peerNetns === inputs.netns
      ? { field: "peerName", message: "must differ from name when both ends are in the same namespace" }
      : undefined,
  replaceOn: ["peerName", "peerNetns"],
  // The engine makes peerNetns (as an implicit namespace) in the create's own script when missing.
  namespacesUsed: (inputs) => [inputs.peerNetns],
  createArgs: (inputs) => [
    "type",
    "veth",
    "peer",
    "name",
    inputs.peerName,
    ...(inputs.peerMacAddress ? ["address", inputs.peerMacAddress] : []),
    ...(inputs.peerNetns ? ["netns", inputs.peerNetns] : []),
  ],
  // The peer comes up only after this end is up and attached, so what it announces can go out.
  afterCreate: (inputs) =>
    peerSteps(
      { ...inputs, peerUp: false },
      { peerAddresses: [], peerUp: false, peerMtu: undefined, peerMacAddress: inputs.peerMacAddress, peerAnnounce: false },
    ),
  afterUp: (inputs) =>
    inputs.peerUp ? [{ field: "peerUp", tool: "ip", netns: inputs.peerNetns ?? inputs.netns, args: ["link", "set", "dev", inputs.peerName, "up"] }] : [],
  update: (desired, actual) => peerSteps(desired, actual),
  async read(_link, host, netns, inputs) {
    const peerNetns = inputs.peerNetns ?? netns;
    const peer = await host.readLink(peerNetns, inputs.peerName);
    if (!peer) return { peerName: null, peerNetns: inputs.peerNetns };
    const announcing =
      inputs.peerAnnounce === undefined
        ? undefined
        : (await host.read({ tool: "sysctl", netns: peerNetns, args: ["-n", `net/ipv4/conf/${peer.ifname}/arp_notify`] })).trim() === "1";
    return {
      peerName: peer.ifname,
      peerNetns: inputs.peerNetns,
      peerMtu: peer.mtu,
      peerMacAddress: peer.address,
      peerAddresses: peer.addresses,
      peerUp: peer.up,
      peerAnnounce: announcing,
    };
  },
});

function peerSteps(
  desired: {
    peerName: string;
    peerNetns?: string;
    peerMtu?: number;
    peerMacAddress?: string;
    peerAddresses?: string[];
    peerUp: boolean;
    peerAnnounce?: boolean;
    netns?: string;
  },
  actual: Record<string, unknown>,
): Step[] {
  const netns = desired.peerNetns ?? desired.netns;
  const dev = desired.peerName;
  const steps: Step[] = [];
  if (desired.peerMtu !== undefined && desired.peerMtu !== actual.peerMtu)
    steps.push({ field: "peerMtu", tool: "ip", netns, args: ["link", "set", "dev", dev, "mtu", String(desired.peerMtu)] });
  if (desired.peerAnnounce !== undefined && desired.peerAnnounce !== actual.peerAnnounce) {
    // Slash-separated keys: an interface name may contain dots. -e: a namespace without IPv6 has no ndisc_notify.
    const on = desired.peerAnnounce ? "1" : "0";
    steps.push({
      field: "peerAnnounce",
      tool: "sysctl",
      netns,
      args: ["-q", "-e", "-w", `net/ipv4/conf/${dev}/arp_notify=${on}`, `net/ipv6/conf/${dev}/ndisc_notify=${on}`],
    });
  }
  // veth changes its MAC while up (IFF_LIVE_ADDR_CHANGE); with peerAnnounce the change is announced.
  if (desired.peerMacAddress !== undefined && desired.peerMacAddress !== actual.peerMacAddress)
    steps.push({ field: "peerMacAddress", tool: "ip", netns, args: ["link", "set", "dev", dev, "address", desired.peerMacAddress] });
  steps.push(...addressSteps("peerAddresses", netns, dev, desired.peerAddresses, (actual.peerAddresses as string[] | undefined) ?? []));
  if (desired.peerUp !== actual.peerUp) steps.push({ field: "peerUp", tool: "ip", netns, args: ["link", "set", "dev", dev, desired.peerUp ? "up" : "down"] });
  return steps;
}
