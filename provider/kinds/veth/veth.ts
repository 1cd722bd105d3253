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
  infoKinds: ["veth"],
  kernelFeature: "veth",
  fields: {
    peerName: interfaceName,
    /** Namespace for the peer end (created if missing); default: the same as this end. */
    peerNetns: namespaceName.optional(),
    peerMtu: mtu.optional(),
    /** The peer end's MAC (a container's): pin it so neighbours' ARP entries survive a re-create. */
    peerMacAddress: macAddress.optional(),
    peerAddresses: addressList.optional(),
    peerUp: z.boolean().default(true),
  },
  refine: (inputs) =>
    inputs.peerName === (inputs as { name?: string }).name && inputs.peerNetns === (inputs as { netns?: string }).netns
      ? { field: "peerName", message: "must differ from name when both ends are in the same namespace" }
      : undefined,
  replaceOn: ["peerName", "peerNetns"],
  async prepare(inputs, host) {
    if (inputs.peerNetns) await host.ensureNetns(inputs.peerNetns);
  },
  createArgs: (inputs) => [
    "type", "veth", "peer", "name", inputs.peerName,
    ...(inputs.peerMacAddress ? ["address", inputs.peerMacAddress] : []),
    ...(inputs.peerNetns ? ["netns", inputs.peerNetns] : []),
  ],
  afterCreate: (inputs) => peerSteps(inputs, { peerAddresses: [], peerUp: false, peerMtu: undefined, peerMacAddress: inputs.peerMacAddress }),
  update: (desired, actual) => peerSteps(desired, actual),
  async read(_link, host, netns, inputs) {
    const peer = await host.readLink(inputs.peerNetns ?? netns, inputs.peerName);
    return peer
      ? { peerName: peer.ifname, peerNetns: inputs.peerNetns, peerMtu: peer.mtu, peerMacAddress: peer.address, peerAddresses: peer.addresses, peerUp: peer.up }
      : { peerName: null, peerNetns: inputs.peerNetns };
  },
});

function peerSteps(
  desired: { peerName: string; peerNetns?: string; peerMtu?: number; peerMacAddress?: string; peerAddresses?: string[]; peerUp: boolean; netns?: string },
  actual: Record<string, unknown>,
): Step[] {
  const netns = desired.peerNetns ?? desired.netns;
  const dev = desired.peerName;
  const steps: Step[] = [];
  if (desired.peerMtu !== undefined && desired.peerMtu !== actual.peerMtu) steps.push({ field: "peerMtu", tool: "ip", netns, args: ["link", "set", "dev", dev, "mtu", String(desired.peerMtu)] });
  // veth changes its MAC while up (IFF_LIVE_ADDR_CHANGE).
  if (desired.peerMacAddress !== undefined && desired.peerMacAddress !== actual.peerMacAddress) steps.push({ field: "peerMacAddress", tool: "ip", netns, args: ["link", "set", "dev", dev, "address", desired.peerMacAddress] });
  steps.push(...addressSteps("peerAddresses", netns, dev, desired.peerAddresses, (actual.peerAddresses as string[] | undefined) ?? []));
  if (desired.peerUp !== actual.peerUp) steps.push({ field: "peerUp", tool: "ip", netns, args: ["link", "set", "dev", dev, desired.peerUp ? "up" : "down"] });
  return steps;
}
