import { describe, expect, it } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { attachmentSlots, planAttachment } from "./attachment";
import { PlanInputError } from "./errors";
import { lowerNetworkSlots, planIpvlanNetwork, planMacvlanNetwork } from "./lower-network";
import { assertMatchesSlots } from "./materialize";
import { assertPlanOrder, itemOfType } from "./plan";
import { engineFor as componentEngineFor } from "../registry";
import { bridgeMac, overlayMtu, planVxlanOverlay, vtepMac, vxlanOverlaySlots } from "./vxlan-overlay";
import { planEncryptedOverlay, WG_PEERS_KEY } from "./encrypted-overlay";

const conn = (n: number) => ({ host: `10.0.0.${n}`, port: 22, user: "root", password: "x", hostKey: `SHA256:${"A".repeat(43)}` });
const hosts = [1, 2, 3].map((n) => ({ name: `h${n}`, connection: conn(n), underlayAddress: `10.247.0.1${n}` }));

describe("planVxlanOverlay (pure)", () => {
  it("MTU is the smallest underlay MTU minus 50 (IPv4) or 70 (IPv6), unless given", () => {
    expect(overlayMtu([{ underlayAddress: "10.0.0.1" }])).toBe(1450);
    expect(
      overlayMtu([
        { underlayAddress: "10.0.0.1", underlayMtu: 9000 },
        { underlayAddress: "10.0.0.2", underlayMtu: 1500 },
      ]),
    ).toBe(1450);
    expect(overlayMtu([{ underlayAddress: "fd00::1" }])).toBe(1430);
    expect(planVxlanOverlay({ overlayId: "o", vni: 7, hosts }).mtu).toBe(1450);
    expect(planVxlanOverlay({ overlayId: "o", vni: 7, hosts, mtu: 1400 }).mtu).toBe(1400);
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: hosts.map((h) => ({ ...h, underlayMtu: 9000 })) });
    for (const item of plan.items.filter((i) => i.type !== "VxlanFloodLists")) expect((item.inputs as { mtu?: number }).mtu).toBe(8950);
  });

  it("VTEP MACs are deterministic, locally administered unicast, distinct per host and per overlay", () => {
    const a = vtepMac("o", 7, "h1");
    expect(vtepMac("o", 7, "h1")).toBe(a);
    expect(vtepMac("o", 7, "h2")).not.toBe(a);
    expect(vtepMac("other", 7, "h1")).not.toBe(a);
    expect(vtepMac("o", 8, "h1")).not.toBe(a);
    for (const mac of [a, vtepMac("o", 7, "h2"), vtepMac("x", 1, "y")]) {
      expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const first = parseInt(mac.slice(0, 2), 16);
      expect(first & 1).toBe(0);
      expect(first & 2).toBe(2);
    }
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts });
    expect(plan.hosts.map((h) => h.vtepMac)).toEqual(["h1", "h2", "h3"].map((h) => vtepMac("o", 7, h)));
  });

  it("unicast: one VxlanFloodLists after every VTEP lists every other host for each; VTEPs have no peers; the plan passes the engines' check", async () => {
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts, bridgeName: "br7", vtepName: "vx7" });
    assertPlanOrder(plan.items);
    expect(plan.items.map((i) => `${i.key}:${i.type}`)).toEqual([
      "h1-bridge:Bridge",
      "h1-vtep:VxlanTunnel",
      "h2-bridge:Bridge",
      "h2-vtep:VxlanTunnel",
      "h3-bridge:Bridge",
      "h3-vtep:VxlanTunnel",
      "flood:VxlanFloodLists",
    ]);
    const vtep = (h: string) => itemOfType(plan.items, `${h}-vtep`, "VxlanTunnel").inputs;
    for (const h of ["h1", "h2", "h3"]) expect(vtep(h).peers, h).toBeUndefined();
    expect(vtep("h3")).toMatchObject({ master: "br7", name: "vx7", local: "10.247.0.13", dstPort: 4789, vni: 7 });
    const flood = itemOfType(plan.items, "flood", "VxlanFloodLists");
    expect(flood.dependsOn).toEqual(["h1-vtep", "h2-vtep", "h3-vtep"]);
    // A mesh: each VTEP's own address; each floods to every other's.
    expect(flood.inputs.vteps).toEqual({
      h1: { name: "vx7", address: "10.247.0.11" },
      h2: { name: "vx7", address: "10.247.0.12" },
      h3: { name: "vx7", address: "10.247.0.13" },
    });
    const { floodListsOf } = await import("../objects/flood-lists/vxlan-flood-lists");
    const parsed = componentEngineFor("VxlanFloodLists").check(flood.inputs).inputs as { vteps: Parameters<typeof floodListsOf>[0] };
    expect(floodListsOf(parsed.vteps)).toEqual({
      h1: ["10.247.0.12", "10.247.0.13"],
      h2: ["10.247.0.11", "10.247.0.13"],
      h3: ["10.247.0.11", "10.247.0.12"],
    });
    expect(flood.inputs.connections).toEqual({ h1: conn(1), h2: conn(2), h3: conn(3) });
    expect(plan.hosts[0]!.peers).toEqual(["10.247.0.12", "10.247.0.13"]);
    for (const item of plan.items) expect(componentEngineFor(item.type).check(item.inputs).failures).toEqual([]);
  });

  it("persist reaches each host's flood list, the host's own setting first", () => {
    const plan = planVxlanOverlay({
      overlayId: "o",
      vni: 7,
      hosts: hosts.map((h, i) => (i === 1 ? { ...h, persist: "none" as const } : h)),
      persist: "networkd",
    });
    const vteps = itemOfType(plan.items, "flood", "VxlanFloodLists").inputs.vteps;
    expect([vteps.h1!.persist, vteps.h2!.persist, vteps.h3!.persist]).toEqual(["networkd", "none", "networkd"]);
  });

  it("adding or removing a host changes only the flood lists (one resource), in place; no bridge or VTEP changes", () => {
    const before = planVxlanOverlay({ overlayId: "o", vni: 7, hosts });
    const h4 = { name: "h4", connection: conn(4), underlayAddress: "10.247.0.14" };
    for (const after of [
      planVxlanOverlay({ overlayId: "o", vni: 7, hosts: [...hosts, h4] }),
      planVxlanOverlay({ overlayId: "o", vni: 7, hosts: hosts.slice(0, 2) }),
    ]) {
      for (const old of before.items) {
        const next = after.items.find((i) => i.key === old.key);
        if (!next) continue;
        const engine = componentEngineFor(old.type);
        const diff = engine.diff(engine.check(old.inputs).inputs, engine.check(next.inputs).inputs);
        expect(diff.replaces, old.key).toEqual([]);
        expect(diff.changes, old.key).toBe(old.type === "VxlanFloodLists");
      }
    }
  });

  it("multicast: group and dev on every VTEP, no peers; refuses hosts without underlayDev and mixed families", () => {
    const plan = planVxlanOverlay({
      overlayId: "o",
      vni: 7,
      hosts: hosts.map((h) => ({ ...h, underlayDev: "eth0" })),
      mode: { type: "multicast", group: "239.1.1.1" },
    });
    expect(plan.items.some((i) => i.type === "VxlanFloodLists")).toBe(false);
    for (const item of plan.items.filter((i) => i.type === "VxlanTunnel")) {
      expect(item.inputs).toMatchObject({ group: "239.1.1.1", dev: "eth0" });
      expect(item.inputs.peers).toBeUndefined();
      expect(engineFor("VxlanTunnel").check(item.inputs).failures).toEqual([]);
    }
    expect(() => planVxlanOverlay({ overlayId: "o", vni: 7, hosts, mode: { type: "multicast", group: "239.1.1.1" } })).toThrow(/underlayDev/);
    expect(() => planVxlanOverlay({ overlayId: "o", vni: 7, hosts: [hosts[0]!, { ...hosts[1]!, underlayAddress: "fd00::2" }] })).toThrow(/mix/);
    expect(() => planVxlanOverlay({ overlayId: "o", vni: 7, hosts: [hosts[0]!, hosts[0]!] })).toThrow(/twice/);
  });
});

describe("planAttachment and lower networks (pure)", () => {
  it("attachment: namespace, veth on the bridge with eth0 inside, default route; all pass check", () => {
    const plan = planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", address: "192.168.100.1/24", gateway: "192.168.100.254", mtu: 1450 });
    assertPlanOrder(plan.items);
    expect(plan.items.map((i) => i.type)).toEqual(["NetworkNamespace", "VethPair", "Route"]);
    expect(plan.hostEnd).toMatch(/^ve[0-9a-f]{8}$/);
    expect(plan.items[1]!.inputs).toMatchObject({
      name: plan.hostEnd,
      master: "br0",
      peerName: "eth0",
      peerNetns: "c1",
      mtu: 1450,
      peerMtu: 1450,
      peerAddresses: ["192.168.100.1/24"],
    });
    for (const item of plan.items) expect(componentEngineFor(item.type).check(item.inputs).failures).toEqual([]);
    expect(planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", createNamespace: false }).items.map((i) => i.type)).toEqual(["VethPair"]);
  });

  it("attachment: the container end's MAC is pinned, the same on every plan of the same identity and different across identities", () => {
    const plan = (over: Record<string, string> = {}) =>
      planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", macSeed: "proj\0dev\0container-a", ...over });
    const mac = plan().macAddress!;
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02); // locally administered, unicast
    expect(plan().items.find((i) => i.type === "VethPair")!.inputs.peerMacAddress).toBe(mac);
    expect(plan().macAddress).toBe(mac);
    const others = [plan({ macSeed: "proj\0prod\0container-a" }), plan({ namespace: "c2" }), plan({ bridge: "br1" })].map((p) => p.macAddress);
    expect(new Set([mac, ...others]).size).toBe(4);
    expect(plan({ macAddress: "02:00:00:00:00:07" }).items.find((i) => i.type === "VethPair")!.inputs.peerMacAddress).toBe("02:00:00:00:00:07");
    // No identity, no derived MAC: the same namespace and bridge names on several hosts would repeat it.
    const unseeded = planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0" });
    expect(unseeded.macAddress).toBeUndefined();
    expect(unseeded.items.find((i) => i.type === "VethPair")!.inputs.peerMacAddress).toBeUndefined();
  });

  it("macvlan/ipvlan networks: one namespace and one moved device per member; mode carried; checks pass", () => {
    const items = planMacvlanNetwork({
      connection: conn(1),
      parent: "eth0",
      mode: "private",
      members: [
        { namespace: "a", address: "10.1.0.1/24" },
        { namespace: "b", address: "10.1.0.2/24", gateway: "10.1.0.254" },
      ],
    });
    assertPlanOrder(items);
    expect(items.map((i) => i.type)).toEqual(["NetworkNamespace", "Macvlan", "NetworkNamespace", "Macvlan", "Route"]);
    expect(items[1]!.inputs).toMatchObject({ name: "eth0", netns: "a", parent: "eth0", mode: "private", addresses: ["10.1.0.1/24"] });
    for (const item of items) expect(componentEngineFor(item.type).check(item.inputs).failures).toEqual([]);
    const ipv = planIpvlanNetwork({ connection: conn(1), parent: "eth1", mode: "l3", members: [{ namespace: "a" }] });
    expect(ipv[1]!.inputs).toMatchObject({ mode: "l3", flag: "bridge" });
    expect(() => planMacvlanNetwork({ connection: conn(1), parent: "eth0", members: [{ namespace: "a" }, { namespace: "a" }] })).toThrow(/twice/);
  });
});

describe("overlay bridges keep their MAC (a bridge made again after a reboot answers ARP as before)", () => {
  it("pins each host's bridge MAC from overlay, VNI and host name: distinct, unicast, locally administered, not the VTEP's", () => {
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts });
    const macs = plan.items.filter((item) => item.type === "Bridge").map((item) => (item.inputs as { macAddress?: string }).macAddress);
    expect(macs).toEqual(hosts.map((h) => bridgeMac("o", 7, h.name)));
    expect(new Set(macs).size).toBe(3);
    for (const [i, mac] of macs.entries()) {
      expect(parseInt(mac!.slice(0, 2), 16) & 0b11).toBe(0b10);
      expect(mac).not.toBe(vtepMac("o", 7, hosts[i]!.name));
    }
  });
});

describe("planEncryptedOverlay (pure)", () => {
  // wg(8)'s example key pair, and two more keys, so derivation is checked against `wg pubkey`.
  const keys = ["yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4=", "ULYYfkW9bLt2Xm5iH2+QyAq7DkJH0nS27+7B0XAiCXM="];
  const wgHosts = hosts.map((h, i) => ({ ...h, privateKey: keys[i]! }));
  const args = { overlayId: "o", vni: 9, wgSubnet: "10.250.0.0/24", wgPort: 51900, hosts: wgHosts, bridgeName: "br9", vtepName: "vx9", wgName: "wg9" };

  it("MTU budget: underlay − 80 for WireGuard, − 50 more for VXLAN (1500 → 1420 → 1370)", () => {
    const plan = planEncryptedOverlay(args);
    expect([plan.wgMtu, plan.mtu]).toEqual([1420, 1370]);
    for (const item of plan.items.filter((i) => i.type !== "VxlanFloodLists" && i.type !== "WireguardPeerLists"))
      expect((item.inputs as { mtu?: number }).mtu).toBe(item.type === "WireguardInterface" ? 1420 : 1370);
    expect(planEncryptedOverlay({ ...args, hosts: wgHosts.map((h, i) => ({ ...h, underlayMtu: i === 1 ? 9000 : 1600 })) }).mtu).toBe(1470);
  });

  it("a WireGuard mesh: every other host a peer at its underlay address, allowed only its wg /32, in the one peer-lists item; VTEPs peer over the wg addresses", async () => {
    const plan = planEncryptedOverlay(args);
    assertPlanOrder(plan.items);
    expect(plan.items.map((i) => i.key)).toEqual([
      "h1-wg",
      "h1-bridge",
      "h1-vtep",
      "h2-wg",
      "h2-bridge",
      "h2-vtep",
      "h3-wg",
      "h3-bridge",
      "h3-vtep",
      "wg-peers",
      "flood",
    ]);
    expect(plan.hosts[0]!.publicKey).toBe("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
    expect(plan.hosts.map((h) => h.wgAddress)).toEqual(["10.250.0.1", "10.250.0.2", "10.250.0.3"]);
    const wg1 = itemOfType(plan.items, "h1-wg", "WireguardInterface").inputs;
    expect(wg1).toMatchObject({ name: "wg9", privateKey: keys[0], listenPort: 51900, addresses: ["10.250.0.1/24"] });
    // The interfaces carry no peers: membership lives in the one WireguardPeerLists, after every interface.
    for (const name of ["h1", "h2", "h3"]) expect(itemOfType(plan.items, `${name}-wg`, "WireguardInterface").inputs.peers, name).toBeUndefined();
    const peerLists = itemOfType(plan.items, WG_PEERS_KEY, "WireguardPeerLists");
    expect(peerLists.dependsOn).toEqual(["h1-wg", "h2-wg", "h3-wg"]);
    expect(Object.keys(peerLists.inputs.connections)).toEqual(["h1", "h2", "h3"]);
    // Public keys only: no private key reaches the peer lists.
    for (const key of keys) expect(JSON.stringify(peerLists.inputs)).not.toContain(key);
    expect(peerLists.inputs.interfaces.h1!.name).toBe("wg9");
    // A mesh: each host as the others list it; h1's list is h2's and h3's.
    expect(peerLists.inputs.interfaces.h1!.asPeer).toEqual({
      publicKey: plan.hosts[0]!.publicKey,
      endpoint: "10.247.0.11:51900",
      allowedIps: ["10.250.0.1/32"],
    });
    const { listsOf } = await import("../objects/wg-peer-lists/wireguard-peer-lists");
    const parsed = componentEngineFor("WireguardPeerLists").check(peerLists.inputs).inputs as { interfaces: Parameters<typeof listsOf>[0] };
    expect(listsOf(parsed.interfaces).h1).toEqual(
      [
        { publicKey: plan.hosts[1]!.publicKey, endpoint: "10.247.0.12:51900", allowedIps: ["10.250.0.2/32"] },
        { publicKey: plan.hosts[2]!.publicKey, endpoint: "10.247.0.13:51900", allowedIps: ["10.250.0.3/32"] },
      ].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)),
    );
    const vtep = itemOfType(plan.items, "h1-vtep", "VxlanTunnel");
    expect(vtep.inputs).toMatchObject({ local: "10.250.0.1", vni: 9, dstPort: 4789, master: "br9" });
    expect(vtep.inputs.peers).toBeUndefined();
    expect(itemOfType(plan.items, "flood", "VxlanFloodLists").inputs.vteps.h1).toEqual({ name: vtep.inputs.name, address: "10.250.0.1" });
    expect(vtep.dependsOn).toEqual(["h1-bridge", "h1-wg"]);
    for (const item of plan.items) {
      const { failures } = componentEngineFor(item.type).check(item.inputs);
      expect(failures, item.key).toEqual([]);
    }
  });

  it("per-host: ONE HostDevices per host (its WireGuard interface first, then bridge, VTEP over the wg address, containers' veths); containers in either form", () => {
    const containers = [{ namespace: "web", address: "192.168.9.1/24", gateway: "192.168.9.254" }];
    const withContainers = wgHosts.map((h, i) => (i === 0 ? { ...h, containers } : h));
    const plan = planEncryptedOverlay({ ...args, hosts: withContainers, form: "per-host" });
    assertPlanOrder(plan.items);
    expect(plan.items.map((i) => `${i.key}:${i.type}<-${i.dependsOn.join("+")}`)).toEqual([
      "h1-devices:HostDevices<-",
      "h1-web-route:Route<-h1-devices",
      "h2-devices:HostDevices<-",
      "h3-devices:HostDevices<-",
      "wg-peers:WireguardPeerLists<-h1-devices+h2-devices+h3-devices",
      "flood:VxlanFloodLists<-h1-devices+h2-devices+h3-devices",
    ]);
    const hostDevices = itemOfType(plan.items, "h1-devices", "HostDevices").inputs;
    expect(Object.keys(hostDevices.devices)[0]).toBe("wg");
    expect(hostDevices.devices.wg).toEqual({ kind: "wireguard", name: "wg9", listenPort: 51900, mtu: 1420, addresses: ["10.250.0.1/24"] });
    expect(hostDevices.privateKeys).toEqual({ wg: wgHosts[0]!.privateKey });
    const devices = hostDevices.devices as Record<string, Record<string, unknown>>;
    expect(devices.vtep).toMatchObject({ kind: "vxlan", name: "vx9", local: "10.250.0.1", master: "br9", mtu: 1370 });
    expect(Object.values(devices).find((d) => d.kind === "veth")).toMatchObject({
      peerNetns: "web",
      master: "br9",
      mtu: 1370,
      peerAddresses: ["192.168.9.1/24"],
    });
    expect(itemOfType(plan.items, "flood", "VxlanFloodLists").inputs.vteps.h1).toEqual({ name: "vx9", address: "10.250.0.1" });
    for (const item of plan.items) expect(componentEngineFor(item.type).check({ ...item.inputs, ownerKey: "0123456789ab" }).failures, item.key).toEqual([]);

    const perDevice = planEncryptedOverlay({ ...args, hosts: withContainers });
    assertPlanOrder(perDevice.items);
    expect(perDevice.items.slice(0, 6).map((i) => `${i.key}:${i.type}<-${i.dependsOn.join("+")}`)).toEqual([
      "h1-wg:WireguardInterface<-",
      "h1-bridge:Bridge<-",
      "h1-vtep:VxlanTunnel<-h1-bridge+h1-wg",
      "h1-web-netns:NetworkNamespace<-",
      "h1-web-veth:VethPair<-h1-web-netns+h1-bridge",
      "h1-web-route:Route<-h1-web-veth",
    ]);
    // Per host, persist reaches the one HostDevices (the WireGuard interface among its devices) and the lists' members.
    const persisted = planEncryptedOverlay({ ...args, form: "per-host", persist: "networkd" });
    expect(itemOfType(persisted.items, "h1-devices", "HostDevices").inputs).toMatchObject({ persist: "networkd", privateKeys: { wg: expect.anything() } });
  });

  it("adding or removing a host changes only the peer lists and the flood lists (two resources), in place; no interface, bridge or VTEP changes", () => {
    const withKeepalive = { ...args, persistentKeepalive: 25 };
    const three = planEncryptedOverlay(withKeepalive);
    const two = planEncryptedOverlay({ ...withKeepalive, hosts: wgHosts.slice(0, 2) });
    const changed = three.items
      .filter((item) => {
        const other = two.items.find((candidate) => candidate.key === item.key);
        if (!other) return false;
        const engine = componentEngineFor(item.type);
        const diff = engine.diff(engine.check(other.inputs).inputs, engine.check(item.inputs).inputs);
        expect(diff.replaces, item.key).toEqual([]);
        return diff.changes;
      })
      .map((item) => item.key);
    expect(changed).toEqual([WG_PEERS_KEY, "flood"]);
    // A mesh: each host once, as the others list it (with the keepalive).
    const interfaces = itemOfType(three.items, WG_PEERS_KEY, "WireguardPeerLists").inputs.interfaces;
    expect(Object.values(interfaces).map((device) => [device.peers, device.asPeer?.persistentKeepalive])).toEqual([
      [undefined, 25],
      [undefined, 25],
      [undefined, 25],
    ]);
  });

  it("pinned wg addresses; refuses a bad subnet, an address outside it, duplicates, too small a subnet", () => {
    const pinned = planEncryptedOverlay({ ...args, hosts: wgHosts.map((h, i) => ({ ...h, wgAddress: `10.250.0.${20 + i}` })) });
    expect(pinned.hosts.map((h) => h.wgAddress)).toEqual(["10.250.0.20", "10.250.0.21", "10.250.0.22"]);
    expect(() => planEncryptedOverlay({ ...args, wgSubnet: "10.250.0.1/24" })).toThrow(/host bits/);
    expect(() => planEncryptedOverlay({ ...args, wgSubnet: "fd00::/64" })).toThrow(/IPv4 subnet/);
    expect(() => planEncryptedOverlay({ ...args, wgSubnet: "10.250.0.0/30" })).toThrow(/no room for host 3/);
    expect(() => planEncryptedOverlay({ ...args, hosts: [{ ...wgHosts[0]!, wgAddress: "10.9.0.1" }] })).toThrow(/not an IPv4 address in 10\.250\.0\.0\/24/);
    expect(() => planEncryptedOverlay({ ...args, hosts: wgHosts.map((h) => ({ ...h, wgAddress: "10.250.0.5" })) })).toThrow(/same WireGuard address/);
  });
});

describe("persist passes down (pure)", () => {
  const keys = ["aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMTE=", "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMjI=", "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMzM="];
  const plans = (persist?: "networkd") => ({
    VxlanOverlay: planVxlanOverlay({ overlayId: "o", vni: 7, hosts, persist }).items,
    EncryptedOverlay: planEncryptedOverlay({
      overlayId: "o",
      vni: 7,
      wgSubnet: "10.250.0.0/24",
      hosts: hosts.map((h, i) => ({ ...h, privateKey: keys[i]! })),
      persist,
    }).items,
    Attachment: planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", address: "10.1.0.2/24", gateway: "10.1.0.1", persist }).items,
    MacvlanNetwork: planMacvlanNetwork({
      connection: conn(1),
      parent: "eth0",
      members: [{ namespace: "m1", address: "10.2.0.2/24", gateway: "10.2.0.1" }],
      persist,
    }),
    IpvlanNetwork: planIpvlanNetwork({ connection: conn(1), parent: "eth0", members: [{ namespace: "i1" }], persist }),
  });

  it.each(Object.keys(plans()))("%s: every device, namespace and route gets persist, and the engines accept it", (component) => {
    const items = plans("networkd")[component as keyof ReturnType<typeof plans>];
    expect(new Set(items.map((item) => item.type)).size).toBeGreaterThan(1);
    // The flood lists carry it per host.
    const persistOf = (item: (typeof items)[number]) =>
      item.type === "VxlanFloodLists"
        ? [...new Set(Object.values(item.inputs.vteps).map((vtep) => vtep.persist))]
        : item.type === "WireguardPeerLists"
          ? [...new Set(Object.values(item.inputs.interfaces).map((device) => device.persist))]
          : [(item.inputs as { persist?: string }).persist];
    for (const item of items) {
      expect(persistOf(item), item.key).toEqual(["networkd"]);
      expect(componentEngineFor(item.type).check(item.inputs as Record<string, unknown>).failures, item.key).toEqual([]);
    }
    for (const item of plans()[component as keyof ReturnType<typeof plans>]) expect(persistOf(item), item.key).toEqual([undefined]);
  });

  it("a host's own persist overrides the overlay's (a host without systemd in a persisted overlay)", () => {
    const perHost = hosts.map((h) => (h.name === "h2" ? { ...h, persist: "none" as const } : h));
    const keys = [
      "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMTE=",
      "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMjI=",
      "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8tMzM=",
    ];
    const vxlan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: perHost, persist: "networkd" }).items;
    const wg = planEncryptedOverlay({
      overlayId: "o",
      vni: 7,
      wgSubnet: "10.250.0.0/24",
      hosts: perHost.map((h, i) => ({ ...h, privateKey: keys[i]! })),
      persist: "networkd",
    }).items;
    for (const item of [...vxlan, ...wg]) {
      if (item.type === "VxlanFloodLists")
        expect(Object.entries(item.inputs.vteps).map(([host, vtep]) => `${host}:${vtep.persist}`)).toEqual(["h1:networkd", "h2:none", "h3:networkd"]);
      else if (item.type === "WireguardPeerLists")
        expect(Object.entries(item.inputs.interfaces).map(([host, device]) => `${host}:${device.persist}`)).toEqual(["h1:networkd", "h2:none", "h3:networkd"]);
      else expect(item.inputs, item.key).toMatchObject({ persist: item.key.startsWith("h2-") ? "none" : "networkd" });
    }
    expect(
      wg
        .filter((item) => item.key.startsWith("h2-"))
        .map((item) => item.type)
        .sort(),
    ).toEqual(["Bridge", "VxlanTunnel", "WireguardInterface"]);
  });
});

describe("planners refuse bad values naming the host and field (pure)", () => {
  const keys = ["yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4="];
  const refusal = (plan: () => unknown) => {
    try {
      plan();
    } catch (error) {
      expect(error).toBeInstanceOf(PlanInputError);
      return error as PlanInputError;
    }
    throw new Error("the planner accepted it");
  };

  it("a malformed WireGuard private key is refused before node:crypto derives from it, and never quoted", () => {
    for (const bad of ["", "not-a-key", "bm90LWEta2V5", `${keys[1]!.slice(0, 42)}B=`]) {
      const error = refusal(() =>
        planEncryptedOverlay({
          overlayId: "o",
          vni: 9,
          wgSubnet: "10.250.0.0/24",
          hosts: hosts.slice(0, 2).map((h, i) => ({ ...h, privateKey: i === 1 ? bad : keys[i]! })),
        }),
      );
      expect([error.host, error.field]).toEqual(["h2", "privateKey"]);
      expect(error.message).toMatch(/^host "h2": privateKey: is not a WireGuard private key/);
      expect(error.message).not.toMatch(/asn1|DECODER|OpenSSL|ERR_/i);
      if (bad) expect(error.message).not.toContain(bad);
    }
  });

  it("bad underlay and overlay addresses, duplicates and mixed families name host and field", () => {
    const plan = (over: Array<Record<string, unknown>>) => () =>
      planVxlanOverlay({ overlayId: "o", vni: 7, hosts: hosts.map((h, i) => ({ ...h, ...over[i] })) as typeof hosts });
    expect(refusal(plan([{}, { underlayAddress: "10.247.0.300" }])).message).toBe('host "h2": underlayAddress: "10.247.0.300" is not an IPv4 or IPv6 address');
    expect(refusal(plan([{}, {}, { overlayAddress: "192.168.0.1" }])).message).toMatch(
      /^host "h3": overlayAddress: "192\.168\.0\.1" is not an address in CIDR form/,
    );
    expect(refusal(plan([{}, { underlayAddress: "10.247.0.11" }])).message).toBe(
      `host "h2": underlayAddress: 10.247.0.11 is also host "h1"'s; every host needs its own underlay address`,
    );
    expect(refusal(plan([{ underlayAddress: "fd00::1" }, {}, { underlayAddress: "fd00::3" }])).message).toBe(
      "underlayAddress: the hosts mix IPv4 (h2) and IPv6 (h1, h3); a VTEP talks to one family, so give every host an address of the same family",
    );
    const encrypted = refusal(() =>
      planEncryptedOverlay({
        overlayId: "o",
        vni: 9,
        wgSubnet: "10.250.0.0/24",
        hosts: hosts.slice(0, 2).map((h, i) => ({ ...h, privateKey: keys[i]!, underlayAddress: i ? "fd00::2" : h.underlayAddress })),
      }),
    );
    expect(encrypted.field).toBe("underlayAddress");
    const attachment = refusal(() =>
      planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", address: "192.168.0.1/24", gateway: "192.168.0.300", hostLabel: "10.0.0.1" }),
    );
    expect(attachment.message).toBe('host "10.0.0.1": gateway: "192.168.0.300" is not an IPv4 or IPv6 address');
    expect(refusal(() => planMacvlanNetwork({ connection: conn(1), parent: "eth0", members: [{ namespace: "m1", address: "10.0.0.1" }] })).field).toBe(
      'members["m1"].address',
    );
  });
});

describe("planVxlanOverlay: containers and the per-host form", () => {
  const containers = [{ namespace: "web", address: "192.168.7.1/24", gateway: "192.168.7.254" }, { namespace: "db" }];
  const withContainers = hosts.map((h, i) => (i === 0 ? { ...h, containers } : h));

  it("per-host: one HostDevices per host holds its bridge, VTEP and containers' veths; the flood lists come after them; the engine's check takes it", () => {
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withContainers, form: "per-host", bridgeName: "br7", vtepName: "vx7" });
    assertPlanOrder(plan.items);
    expect(plan.items.map((i) => `${i.key}:${i.type}<-${i.dependsOn.join("+")}`)).toEqual([
      "h1-devices:HostDevices<-",
      "h1-web-route:Route<-h1-devices",
      "h2-devices:HostDevices<-",
      "h3-devices:HostDevices<-",
      "flood:VxlanFloodLists<-h1-devices+h2-devices+h3-devices",
    ]);
    const devices = itemOfType(plan.items, "h1-devices", "HostDevices").inputs.devices as Record<string, Record<string, unknown>>;
    const veths = Object.entries(devices).filter(([, d]) => d.kind === "veth");
    expect(Object.keys(devices).slice(0, 2)).toEqual(["bridge", "vtep"]);
    expect(devices.bridge).toMatchObject({ kind: "bridge", name: "br7", mtu: 1450, macAddress: bridgeMac("o", 7, "h1") });
    expect(devices.vtep).toMatchObject({ kind: "vxlan", name: "vx7", vni: 7, master: "br7", local: "10.247.0.11", macAddress: vtepMac("o", 7, "h1") });
    expect(veths.map(([, d]) => [d.peerNetns, d.master, d.mtu, d.peerMtu])).toEqual([
      ["web", "br7", 1450, 1450],
      ["db", "br7", 1450, 1450],
    ]);
    expect(veths[0]![1].peerAddresses).toEqual(["192.168.7.1/24"]);
    for (const item of plan.items) {
      const checked = componentEngineFor(item.type).check({ ...item.inputs, ownerKey: "0123456789ab" });
      expect(checked.failures, item.key).toEqual([]);
    }
  });

  it("per-device: each container is a namespace, a veth after the bridge, and a route when it has a gateway", () => {
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withContainers });
    assertPlanOrder(plan.items);
    expect(plan.items.slice(0, 7).map((i) => `${i.key}:${i.type}<-${i.dependsOn.join("+")}`)).toEqual([
      "h1-bridge:Bridge<-",
      "h1-vtep:VxlanTunnel<-h1-bridge",
      "h1-web-netns:NetworkNamespace<-",
      "h1-web-veth:VethPair<-h1-web-netns+h1-bridge",
      "h1-web-route:Route<-h1-web-veth",
      "h1-db-netns:NetworkNamespace<-",
      "h1-db-veth:VethPair<-h1-db-netns+h1-bridge",
    ]);
    // The same container in either form: the same veth, MAC included.
    const perHost = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withContainers, form: "per-host" });
    const { connection: _c, ...veth } = itemOfType(plan.items, "h1-web-veth", "VethPair").inputs;
    const devices = itemOfType(perHost.items, "h1-devices", "HostDevices").inputs.devices as Record<string, Record<string, unknown>>;
    expect(devices[`veth-${veth.name}`]).toEqual({ kind: "veth", ...veth });
  });

  it("per host, persist reaches each host's HostDevices, its routes and its flood list member (a host's own persist first); a namespace twice on one host is refused", () => {
    const withRoute = [
      { ...hosts[0]!, persist: "auto" as const, containers: [{ namespace: "web", address: "10.9.0.1/24", gateway: "10.9.0.254" }] },
      hosts[1]!,
    ];
    const plan = planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withRoute, form: "per-host", persist: "networkd" });
    expect(plan.items.map((item) => `${item.key}:${(item.inputs as { persist?: string }).persist ?? "-"}`)).toEqual([
      `${hosts[0]!.name}-devices:auto`,
      `${hosts[0]!.name}-web-route:auto`,
      `${hosts[1]!.name}-devices:networkd`,
      "flood:-",
    ]);
    const flood = itemOfType(plan.items, "flood", "VxlanFloodLists").inputs.vteps as Record<string, { persist?: string }>;
    expect(Object.values(flood).map((vtep) => vtep.persist)).toEqual(["auto", "networkd"]);
    expect(planVxlanOverlay({ overlayId: "o", vni: 7, hosts, form: "per-host", persist: "none" }).items).toHaveLength(4);
    expect(() => planVxlanOverlay({ overlayId: "o", vni: 7, hosts: [{ ...hosts[0]!, containers: [{ namespace: "a" }, { namespace: "a" }] }] })).toThrow(
      /appears twice/,
    );
  });
});

describe("the resources a component makes when constructed are the ones its planner plans", () => {
  const given = { connection: "c" };
  const shape = (i: number) =>
    i === 0
      ? [
          { namespace: "web", withRoute: true },
          { namespace: "db", withRoute: false },
        ]
      : [];
  const withContainers = hosts.map((h, i) =>
    i === 0 ? { ...h, containers: [{ namespace: "web", address: "10.1.0.2/24", gateway: "10.1.0.1" }, { namespace: "db" }] } : h,
  );
  it.each([
    ["VxlanOverlay", () => vxlanOverlaySlots(["h1", "h2", "h3"], () => given), () => planVxlanOverlay({ overlayId: "o", vni: 7, hosts }).items],
    [
      "VxlanOverlay with containers",
      () => vxlanOverlaySlots(["h1", "h2", "h3"], () => given, true, { containers: shape }),
      () => planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withContainers }).items,
    ],
    [
      "VxlanOverlay per host, with containers",
      () => vxlanOverlaySlots(["h1", "h2", "h3"], () => given, true, { form: "per-host", containers: shape }),
      () => planVxlanOverlay({ overlayId: "o", vni: 7, hosts: withContainers, form: "per-host" }).items,
    ],
    [
      "VxlanOverlay per host, multicast",
      () => vxlanOverlaySlots(["h1", "h2", "h3"], () => given, false, { form: "per-host" }),
      () =>
        planVxlanOverlay({
          overlayId: "o",
          vni: 7,
          hosts: hosts.map((h) => ({ ...h, underlayDev: "eth0" })),
          mode: { type: "multicast", group: "239.1.1.1" },
          form: "per-host",
        }).items,
    ],
    [
      "Attachment",
      () => attachmentSlots(true, true, given),
      () => planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", address: "10.1.0.2/24", gateway: "10.1.0.1" }).items,
    ],
    [
      "Attachment, namespace of its own, no gateway",
      () => attachmentSlots(false, false, given),
      () => planAttachment({ connection: conn(1), namespace: "c1", bridge: "br0", createNamespace: false }).items,
    ],
    [
      "MacvlanNetwork",
      () =>
        lowerNetworkSlots(
          [
            { namespace: "a", gateway: "10.1.0.1" },
            { namespace: "b", createNamespace: false },
          ],
          "Macvlan",
          given,
        ),
      () =>
        planMacvlanNetwork({
          connection: conn(1),
          parent: "eth0",
          members: [
            { namespace: "a", address: "10.1.0.2/24", gateway: "10.1.0.1" },
            { namespace: "b", createNamespace: false },
          ],
        }),
    ],
  ])("%s", (_name, slots, items) => {
    expect(() => assertMatchesSlots(slots(), items())).not.toThrow();
    expect(() => assertMatchesSlots(slots().slice(1), items())).toThrow(/does not match/);
  });
});
