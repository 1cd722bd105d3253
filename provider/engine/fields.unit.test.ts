import { describe, expect, it } from "vitest";
import { routeEngine } from "../objects/route/route";
import { deviceEngine as engineFor } from "../registry";
import { ALIAS_MAX_BYTES, cidr, interfaceName, ipAddress, networkCidr } from "./fields";
import { linkNamed } from "./iplink";

/** Validation only: nothing here reaches a host. */
const connection = { host: "10.0.0.1", user: "root", password: "x", hostKey: `SHA256:${"A".repeat(43)}` };

/** The properties check() names for these inputs (empty: accepted). */
function refusedFields(type: string, inputs: Record<string, unknown>): string[] {
  const engine = type === "Route" ? routeEngine : engineFor(type);
  return engine.check({ connection, ...inputs }).failures.map((f) => f.property);
}

function reasons(type: string, inputs: Record<string, unknown>): string {
  const engine = type === "Route" ? routeEngine : engineFor(type);
  return engine
    .check({ connection, ...inputs })
    .failures.map((f) => f.reason)
    .join("; ");
}

describe("interface names iproute2 would read as an ifindex", () => {
  it("refuses 'if' and a number wherever an interface is named, naming the field", () => {
    for (const name of ["if1", "if42", "if1x", "if+1", "if-1", "if0"]) expect(interfaceName.safeParse(name).success, name).toBe(false);
    for (const name of ["ifb0", "if", "ifx1", "eth0", "wlif1", "IF1"]) expect(interfaceName.safeParse(name).success, name).toBe(true);
    expect(refusedFields("Bridge", { name: "if1" })).toEqual(["name"]);
    expect(reasons("Bridge", { name: "if1" })).toMatch(/Bridge name: .*interface index/);
    expect(refusedFields("Bridge", { name: "br0", master: "if2" })).toEqual(["master"]);
    expect(refusedFields("VethPair", { name: "v0", peerName: "if3" })).toEqual(["peerName"]);
    expect(refusedFields("Macvlan", { name: "mv0", parent: "if4" })).toEqual(["parent"]);
    expect(refusedFields("Vlan", { name: "vl0", parent: "if5", vlanId: 10 })).toEqual(["parent"]);
    expect(refusedFields("Ipvlan", { name: "ipv0", parent: "if6" })).toEqual(["parent"]);
    expect(refusedFields("VxlanTunnel", { name: "vx0", vni: 1, dev: "if7" })).toEqual(["dev"]);
    expect(refusedFields("Route", { destination: "default", dev: "if8" })).toEqual(["dev"]);
  });

  it("reads back only the link whose ifname is the name asked for", () => {
    // What `ip -json addr show dev if1` prints on a host without a device called if1.
    const loopback = JSON.stringify([
      { ifindex: 1, ifname: "lo", mtu: 65536, flags: ["LOOPBACK", "UP"], operstate: "UNKNOWN", address: "00:00:00:00:00:00", addr_info: [] },
    ]);
    expect(linkNamed(loopback, "if1")).toBeUndefined();
    expect(linkNamed(loopback, "lo")?.ifindex).toBe(1);
    expect(linkNamed("", "eth0")).toBeUndefined();
  });
});

describe("inputs the kernel would refuse after `ip link add` ran", () => {
  it("alias: at most 255 bytes with the owner tag, counted in UTF-8", () => {
    expect(ALIAS_MAX_BYTES).toBe(255 - "netdev#".length - 12 - 1);
    expect(refusedFields("Bridge", { name: "br0", alias: "a".repeat(ALIAS_MAX_BYTES) })).toEqual([]);
    expect(refusedFields("Bridge", { name: "br0", alias: "a".repeat(ALIAS_MAX_BYTES + 1) })).toEqual(["alias"]);
    // 118 characters, 236 bytes.
    expect(refusedFields("Bridge", { name: "br0", alias: "é".repeat(118) })).toEqual(["alias"]);
    expect(reasons("Bridge", { name: "br0", alias: "é".repeat(118) })).toMatch(/at most 235 bytes in UTF-8 \(it is 236\)/);
    expect(refusedFields("Bridge", { name: "br0", alias: "é".repeat(117) })).toEqual([]);
  });

  it("addresses: one address with two prefixes is refused; the same entry twice is listed once", () => {
    expect(refusedFields("Bridge", { name: "br0", addresses: ["10.0.0.1/24", "10.0.0.1/16"] })).toEqual(["addresses"]);
    expect(reasons("Bridge", { name: "br0", addresses: ["10.0.0.1/24", "10.0.0.1/16"] })).toMatch(/10\.0\.0\.1 with prefixes \/16 and \/24/);
    expect(refusedFields("Bridge", { name: "br0", addresses: ["fd00::1/64", "FD00:0::1/128"] })).toEqual(["addresses"]);
    expect(refusedFields("VethPair", { name: "v0", peerName: "v1", peerAddresses: ["10.0.0.2/24", "10.0.0.2/25"] })).toEqual(["peerAddresses"]);
    const { inputs, failures } = engineFor("Bridge").check({ connection, name: "br0", addresses: ["10.0.0.1/24", "10.0.0.1/24", "fd00::1/64"] });
    expect(failures).toEqual([]);
    expect(inputs.addresses).toEqual(["10.0.0.1/24", "fd00::1/64"]);
  });

  it("macAddress: neither all zeros nor multicast", () => {
    expect(refusedFields("Bridge", { name: "br0", macAddress: "00:00:00:00:00:00" })).toEqual(["macAddress"]);
    expect(reasons("Bridge", { name: "br0", macAddress: "00:00:00:00:00:00" })).toMatch(/all zeros/);
    expect(refusedFields("Bridge", { name: "br0", macAddress: "01:00:5e:00:00:01" })).toEqual(["macAddress"]);
    expect(refusedFields("Bridge", { name: "br0", macAddress: "ff:ff:ff:ff:ff:ff" })).toEqual(["macAddress"]);
    expect(refusedFields("Bridge", { name: "br0", macAddress: "02:00:00:00:00:01" })).toEqual([]);
  });

  it("route destination: host bits must be clear", () => {
    expect(refusedFields("Route", { destination: "10.0.0.1/24", dev: "eth0" })).toEqual(["destination"]);
    expect(reasons("Route", { destination: "10.0.0.1/24", dev: "eth0" })).toMatch(/host bits set; the network is 10\.0\.0\.0\/24/);
    expect(reasons("Route", { destination: "fd00::1/64", dev: "eth0" })).toMatch(/the network is fd00::\/64/);
    for (const destination of ["10.0.0.0/24", "10.0.0.1/32", "0.0.0.0/0", "fd00::/64", "10.1.2.128/25", "default"]) {
      expect(refusedFields("Route", { destination, dev: "eth0" }), destination).toEqual([]);
    }
    expect(networkCidr.safeParse("10.1.2.129/25").success).toBe(false);
  });

  it("VXLAN: local and remote unicast and specified, group multicast", () => {
    const vx = { name: "vx0", vni: 1 };
    expect(refusedFields("VxlanTunnel", { ...vx, local: "239.1.1.1" })).toEqual(["local"]);
    expect(refusedFields("VxlanTunnel", { ...vx, local: "0.0.0.0" })).toEqual(["local"]);
    expect(refusedFields("VxlanTunnel", { ...vx, local: "::" })).toEqual(["local"]);
    expect(refusedFields("VxlanTunnel", { ...vx, remote: "ff02::1" })).toEqual(["remote"]);
    expect(reasons("VxlanTunnel", { ...vx, remote: "239.1.1.1" })).toMatch(
      /remote: must be a unicast address, not 239\.1\.1\.1 \(for a multicast VTEP set group/,
    );
    expect(refusedFields("VxlanTunnel", { ...vx, remote: "0.0.0.0" })).toEqual(["remote"]);
    expect(refusedFields("VxlanTunnel", { ...vx, remote: "255.255.255.255" })).toEqual(["remote"]);
    expect(refusedFields("VxlanTunnel", { ...vx, group: "10.0.0.1", dev: "eth0" })).toEqual(["group"]);
    expect(refusedFields("VxlanTunnel", { ...vx, local: "10.0.0.1", remote: "10.0.0.2" })).toEqual([]);
    expect(refusedFields("VxlanTunnel", { ...vx, local: "fd00::1", group: "ff05::100", dev: "eth0" })).toEqual([]);
  });

  it("IPv6 addresses are written the way iproute2 (glibc inet_ntop) prints them", () => {
    // Each pair: what a user may write, what `ip` prints (checked with inet_ntop on Debian 12).
    const printed: Array<[string, string]> = [
      ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
      ["0:0:0:0:0:ffff:0102:0304", "::ffff:1.2.3.4"],
      ["::ffff:0:1", "::ffff:0.0.0.1"],
      ["::ffff:0:0", "::ffff:0.0.0.0"],
      ["::1.2.3.4", "::1.2.3.4"],
      ["::0.1.0.2", "::0.1.0.2"],
      ["::0.0.1.2", "::102"],
      ["::2", "::2"],
      ["::1", "::1"],
      ["::", "::"],
      ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
      ["1::ffff:1.2.3.4", "1::ffff:102:304"],
      ["FD00:0:0:0:0:0:0:1", "fd00::1"],
    ];
    for (const [written, expected] of printed) expect(ipAddress.parse(written), written).toBe(expected);
    expect(cidr.parse("::ffff:1.2.3.4/128")).toBe("::ffff:1.2.3.4/128");
  });
});
