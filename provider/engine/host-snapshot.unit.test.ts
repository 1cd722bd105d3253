import { describe, expect, it } from "vitest";
import { printsOneLine } from "./host-snapshot";

describe("which reads a script can return framed by lines", () => {
  it("takes JSON dumps and one sysctl key, never a read whose answer may span lines", () => {
    expect(printsOneLine({ tool: "ip", args: ["-json", "-details", "addr", "show"] })).toBe(true);
    expect(printsOneLine({ tool: "bridge", args: ["-json", "fdb", "show", "dev", "vx0"] })).toBe(true);
    expect(printsOneLine({ tool: "sysctl", args: ["-n", "net/ipv4/conf/eth0/arp_notify"] })).toBe(true);
    // Two keys are two lines; a peer list and a tun's owner files are several.
    expect(printsOneLine({ tool: "sysctl", args: ["-n", "net/ipv4/conf/eth0/arp_notify", "net/ipv6/conf/eth0/ndisc_notify"] })).toBe(false);
    expect(printsOneLine({ tool: "wg", args: ["show", "wg0", "peers"] })).toBe(false);
    expect(printsOneLine({ tool: "cat", args: ["/sys/class/net/tap0/owner", "/sys/class/net/tap0/group"] })).toBe(false);
    expect(printsOneLine({ tool: "ip", args: ["link", "show", "dev", "eth0"] })).toBe(false);
  });
});
