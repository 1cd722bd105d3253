import { z } from "zod";
import { defineKind } from "../../engine/kind";

/**
 * A persistent tun (layer 3) or tap (layer 2) device, for a VPN daemon or a VM to open.
 * `ip tuntap` cannot change a device in place, so every tun field forces a replacement.
 */
export const tunKind = defineKind({
  resourceType: "TunDevice",
  summary: "A persistent tun or tap device: what a VM's NIC or a userspace VPN is plugged into.",
  infoKinds: ["tun"],
  kernelFeature: "tun",
  example: { mode: "tap", owner: 1000, group: 1000, multiQueue: true, vnetHdr: true, packetInfo: false },
  fields: {
    mode: z
      .enum(["tun", "tap"])
      .describe('"tun": a layer-3 device that carries IP packets; "tap": a layer-2 device that carries Ethernet frames (what a VM\'s NIC is plugged into).'),
    owner: z.number().int().min(0).max(4_294_967_294).optional().describe("uid allowed to open the device without CAP_NET_ADMIN."),
    group: z.number().int().min(0).max(4_294_967_294).optional().describe("gid allowed to open the device without CAP_NET_ADMIN."),
    multiQueue: z.boolean().default(false).describe("Allow several file descriptors (queues) on the device (IFF_MULTI_QUEUE), for multi-queue VM NICs."),
    vnetHdr: z.boolean().default(false).describe("Prefix each packet with a virtio-net header (IFF_VNET_HDR), for checksum and segmentation offload to a VM."),
    packetInfo: z.boolean().default(false).describe("Prefix each packet with the 4-byte packet information header (IFF_NO_PI off)."),
  },
  replaceOn: ["mode", "owner", "group", "multiQueue", "vnetHdr", "packetInfo"],
  createStep: (inputs) => ({
    field: "create",
    tool: "ip",
    netns: inputs.netns,
    args: [
      "tuntap",
      "add",
      "dev",
      inputs.name,
      "mode",
      inputs.mode,
      ...(inputs.owner !== undefined ? ["user", String(inputs.owner)] : []),
      ...(inputs.group !== undefined ? ["group", String(inputs.group)] : []),
      ...(inputs.multiQueue ? ["multi_queue"] : []),
      ...(inputs.vnetHdr ? ["vnet_hdr"] : []),
      ...(inputs.packetInfo ? ["pi"] : []),
    ],
  }),
  update: () => [],
  async read(link, host, netns) {
    const data = link.infoData;
    // ip prints owner and group as names; sysfs has the numbers, which is what the inputs hold.
    const files = ["owner", "group"].map((f) => `/sys/class/net/${link.ifname}/${f}`);
    const out = await host.read({ tool: "cat", netns, args: files });
    const [owner, group] = out.trim().split("\n").map(Number);
    return {
      mode: data.type,
      owner: owner === -1 || owner === undefined ? undefined : owner,
      group: group === -1 || group === undefined ? undefined : group,
      multiQueue: data.multi_queue,
      vnetHdr: data.vnet_hdr,
      packetInfo: data.pi,
    };
  },
});
