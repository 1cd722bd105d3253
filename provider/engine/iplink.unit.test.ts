import { describe, expect, it } from "vitest";
import { linkNamed, parseLinks } from "./iplink";

// Trimmed from `ip -json -details addr show` on a lab host (iproute2 6.1).
const DUMP = JSON.stringify([
  {
    ifindex: 1,
    ifname: "lo",
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    mtu: 65536,
    operstate: "UNKNOWN",
    address: "00:00:00:00:00:00",
    addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }],
  },
  {
    ifindex: 7,
    ifname: "vx0",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1450,
    operstate: "UNKNOWN",
    address: "02:00:00:00:00:07",
    master: "br0",
    ifalias: "netdev#0123456789ab my overlay",
    linkinfo: { info_kind: "vxlan", info_data: { id: 42, port: 4789, learning: false } },
    addr_info: [
      { family: "inet", local: "10.9.0.1", prefixlen: 24, scope: "global" },
      { family: "inet6", local: "fe80::7", prefixlen: 64, scope: "link" },
    ],
  },
  {
    ifindex: 9,
    ifname: "mv0@if3",
    link_index: 3,
    link_netnsid: 0,
    flags: ["BROADCAST"],
    mtu: 1500,
    operstate: "DOWN",
    address: "02:00:00:00:00:09",
    linkinfo: { info_kind: "macvlan", info_data: { mode: "bridge" } },
    addr_info: [],
  },
]);

describe("parsing ip -json -details addr show", () => {
  it("reads name, state, master, alias, kind data and CIDR addresses without link-local ones", () => {
    const link = linkNamed(DUMP, "vx0")!;
    expect(link).toMatchObject({ ifname: "vx0", ifindex: 7, mtu: 1450, up: true, master: "br0", ifalias: "netdev#0123456789ab my overlay", infoKind: "vxlan" });
    expect(link.infoData).toEqual({ id: 42, port: 4789, learning: false });
    expect(link.addresses).toEqual(["10.9.0.1/24"]);
  });

  it("a device whose parent is in another namespace keeps the parent's ifindex, and is down", () => {
    const link = parseLinks(DUMP).find((l) => l.ifindex === 9)!;
    expect(link.up).toBe(false);
    expect(link.linkIndex).toBe(3);
  });

  it("an absent name is undefined", () => {
    expect(linkNamed(DUMP, "nope")).toBeUndefined();
  });
});
