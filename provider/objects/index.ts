import { z } from "zod";
import { FLOOD_LISTS_REPLACE_ON, floodListsEngine, floodListsSchema } from "./flood-lists/vxlan-flood-lists";
import { HOST_DEVICES_REPLACE_ON, HOST_DEVICES_SECRET_FIELDS, hostDevicesEngine, hostDevicesOutputShape, hostDevicesSchema } from "./host-devices/host-devices";
import { persistOutputs } from "../persist/files";
import { namespaceEngine, namespaceSchema } from "./namespace/namespace";
import { ROUTE_REPLACE_ON, routeEngine, routeSchema } from "./route/route";
import { PEER_LISTS_REPLACE_ON, peerListsEngine, peerListsSchema } from "./wg-peer-lists/wireguard-peer-lists";

/**
 * The resource types that are not devices, by resource type: each its zod schema (the single
 * source of its input type), its engine, the fields whose change replaces it (as its engine's
 * diff decides; objects.unit.test.ts holds the two to each other), the outputs it has beyond
 * its inputs (and, where an input's output holds more, that output's shape), and an example (the
 * generated reference shows it). A new object is one folder
 * plus one entry here.
 */
export const objectTypes = {
  NetworkNamespace: {
    summary:
      'A named network namespace on a host, loopback up: a "container" devices are moved into. Deleting it refuses while devices other than lo are inside, unless `force`.',
    schema: namespaceSchema,
    engine: namespaceEngine,
    replaceOn: ["name"],
    outputs: { devices: z.array(z.string()).describe("Interfaces in the namespace other than lo, as last observed."), ...persistOutputs },
    example: { name: "web" },
  },
  Route: {
    summary: "One route in a host's or a namespace's main table.",
    schema: routeSchema,
    engine: routeEngine,
    replaceOn: [...ROUTE_REPLACE_ON],
    outputs: { ...persistOutputs },
    example: { netns: "web", destination: "default", via: "10.0.0.1" },
  },
  VxlanFloodLists: {
    summary:
      "Every VTEP's unicast flood list of one overlay as one resource (all-zero FDB entries): a host joining or leaving is one step, one command per host whose list changes, all hosts at once. Only entries to the listed addresses are touched.",
    schema: floodListsSchema,
    engine: floodListsEngine,
    replaceOn: [...FLOOD_LISTS_REPLACE_ON],
    secretFields: ["connections"],
    outputs: {},
    example: { connections: { a: "connection" }, vteps: { a: { name: "vxlan42", peers: ["10.0.0.2", "10.0.0.3"] } } },
  },
  HostDevices: {
    summary:
      "Many devices of one host as one resource: one Pulumi step and one script on the host per `up`, refresh or destroy, each device still following its kind's rules (in-place changes, replacement inside the update, drift, owner tag). For hundreds of devices per host; a resource per device stays the default.",
    schema: hostDevicesSchema,
    engine: hostDevicesEngine,
    replaceOn: [...HOST_DEVICES_REPLACE_ON],
    secretFields: [...HOST_DEVICES_SECRET_FIELDS],
    outputs: { ...persistOutputs },
    inputsAsOutputs: hostDevicesOutputShape,
    example: {
      devices: {
        br0: { kind: "bridge", name: "br0", mtu: 1450 },
        vx0: { kind: "vxlan", name: "vxlan42", vni: 42, dstPort: 4789, local: "10.0.0.1", learning: false, master: "br0" },
        wg0: { kind: "wireguard", name: "wg0", listenPort: 51820, addresses: ["10.250.0.1/24"] },
      },
      privateKeys: { wg0: "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=" },
    },
  },
  WireguardPeerLists: {
    summary:
      "Every WireGuard interface's peers of one mesh as one resource: a host joining or leaving is one step, one `wg set` per host whose list changes, all hosts at once. Only the listed peers are touched.",
    schema: peerListsSchema,
    engine: peerListsEngine,
    replaceOn: [...PEER_LISTS_REPLACE_ON],
    secretFields: ["connections"],
    outputs: {},
    example: {
      connections: { a: "connection" },
      interfaces: {
        a: { name: "wg0", peers: [{ publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", endpoint: "10.0.0.2:51820", allowedIps: ["10.100.0.2/32"] }] },
      },
    },
  },
} satisfies Record<
  string,
  {
    summary: string;
    schema: z.ZodType;
    engine: object;
    replaceOn: string[];
    secretFields?: string[];
    outputs: z.ZodRawShape;
    /** Inputs whose output holds more than the input (what the host reports): their shape as outputs. */
    inputsAsOutputs?: z.ZodRawShape;
    example: Record<string, unknown>;
  }
>;
