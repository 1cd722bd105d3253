import { afterEach, describe, expect, it } from "vitest";
import { UNKNOWN } from "./engine/validation";
import type { Connection } from "./ssh/connection";
import { ConnectionWarmer } from "./warm-connections";

/** Which hosts are connected ahead, and when: only once the run changes something, never in a preview. */
const hostKey = `SHA256:${"A".repeat(43)}`;
const conn = (host: string) => ({ host, user: "root", password: "pw", hostKey });

function recorder() {
  const hosts: string[] = [];
  return { hosts, warmer: new ConnectionWarmer({ preconnect: (connection: Connection) => hosts.push(connection.host) }) };
}

afterEach(() => {
  delete process.env.NETDEV_SSH_PRECONNECT;
});

describe("ConnectionWarmer", () => {
  it("connects nothing while resources are only checked (a preview)", () => {
    const { hosts, warmer } = recorder();
    warmer.checked({ connection: conn("192.0.2.1"), name: "br0" });
    warmer.checked({ connections: { a: conn("192.0.2.2") }, vteps: {} });
    expect(hosts).toEqual([]);
  });

  it("at the run's first change connects every host noted, once each; a host checked after that at once", () => {
    const { hosts, warmer } = recorder();
    warmer.checked({ connection: conn("192.0.2.1"), name: "br0" });
    warmer.checked({ connection: conn("192.0.2.1"), name: "br1" });
    warmer.checked({ connections: { a: conn("192.0.2.2"), b: conn("192.0.2.3") }, vteps: {} });
    warmer.changes();
    expect(hosts).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    warmer.changes();
    warmer.checked({ connection: conn("192.0.2.4") });
    warmer.checked({ connection: conn("192.0.2.1") });
    expect(hosts).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
  });

  it("skips a connection not known yet or not well-formed; none at all with NETDEV_SSH_PRECONNECT=off", () => {
    const { hosts, warmer } = recorder();
    warmer.changes();
    warmer.checked({ connection: UNKNOWN });
    warmer.checked({ connection: { ...conn("192.0.2.4"), host: UNKNOWN } });
    warmer.checked({ connections: { a: UNKNOWN, b: conn("192.0.2.5") } });
    warmer.checked({ connection: { host: "192.0.2.6" } });
    warmer.checked({ name: "br0" });
    expect(hosts).toEqual(["192.0.2.5"]);
    process.env.NETDEV_SSH_PRECONNECT = "off";
    const off = recorder();
    off.warmer.checked({ connection: conn("192.0.2.7") });
    off.warmer.changes();
    expect(off.hosts).toEqual([]);
  });
});
