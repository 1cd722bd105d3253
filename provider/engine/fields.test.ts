import { describe, expect, it } from "vitest";
import { routeEngine } from "../components/route";
import { engineFor } from "../kinds";
import { interfaceName } from "./fields";
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
  return engine.check({ connection, ...inputs }).failures.map((f) => f.reason).join("; ");
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
    const loopback = JSON.stringify([{ ifindex: 1, ifname: "lo", mtu: 65536, flags: ["LOOPBACK", "UP"], operstate: "UNKNOWN", address: "00:00:00:00:00:00", addr_info: [] }]);
    expect(linkNamed(loopback, "if1")).toBeUndefined();
    expect(linkNamed(loopback, "lo")?.ifindex).toBe(1);
    expect(linkNamed("", "eth0")).toBeUndefined();
  });
});
