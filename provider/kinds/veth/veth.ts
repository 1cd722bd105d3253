import { z } from "zod";
import { addressList, interfaceName, mtu, namespaceName } from "../../engine/fields";
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
  createArgs: (inputs) => ["type", "veth", "peer", "name", inputs.peerName, ...(inputs.peerNetns ? ["netns", inputs.peerNetns] : [])],
  afterCreate: (inputs) => peerSteps(inputs, { peerAddresses: [], peerUp: false, peerMtu: undefined }),
  update: (desired, actual) => peerSteps(desired, actual),
  async read(_link, host, netns, inputs) {
    const peer = await host.readLink(inputs.peerNetns ?? netns, inputs.peerName);
    return peer
      ? { peerName: peer.ifname, peerNetns: inputs.peerNetns, peerMtu: peer.mtu, peerAddresses: peer.addresses, peerUp: peer.up }
      : { peerName: null, peerNetns: inputs.peerNetns };
  },
});

function peerSteps(
  desired: { peerName: string; peerNetns?: string; peerMtu?: number; peerAddresses?: string[]; peerUp: boolean; netns?: string },
  actual: Record<string, unknown>,
): Step[] {
  const netns = desired.peerNetns ?? desired.netns;
  const dev = desired.peerName;
  const steps: Step[] = [];
  if (desired.peerMtu !== undefined && desired.peerMtu !== actual.peerMtu) steps.push({ field: "peerMtu", tool: "ip", netns, args: ["link", "set", "dev", dev, "mtu", String(desired.peerMtu)] });
  steps.push(...addressSteps("peerAddresses", netns, dev, desired.peerAddresses, (actual.peerAddresses as string[] | undefined) ?? []));
  if (desired.peerUp !== actual.peerUp) steps.push({ field: "peerUp", tool: "ip", netns, args: ["link", "set", "dev", dev, desired.peerUp ? "up" : "down"] });
  return steps;
}
