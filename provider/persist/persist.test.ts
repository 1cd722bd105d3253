import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labStack } from "../../lab/stack";
import { labDebianVm, repoRoot } from "../../lab/hosts";
import { describeReboot, rebootVmHost } from "../../lab/vm/debian";
import { deviceKinds, engineFor } from "../registry";
import { exec } from "../../test/support/components";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { lockHost } from "../../test/support/host-lock";

/**
 * `persist: "networkd"` shown on a host that really boots: the Debian VM lab host (dvm1,
 * systemd + systemd-networkd; lab/vm/debian.ts) under a real `pulumi up`. Every device kind
 * (networkd's files where it can describe the device, oneshot units elsewhere), a veth into a
 * namespace of a NetworkNamespace resource, a route in it, and a VXLAN overlay from dvm1 to
 * the netns host h1; files deleted or edited by hand show in `pulumi refresh`; after a reboot
 * refresh finds no change and the overlay carries traffic again; destroy removes every file
 * and unit, and after another reboot nothing of ours comes back.
 *
 * Needs a lab with a Debian VM (skipped otherwise):
 *   flock /tmp/netdev-lab.lock env NETDEV_TEST_DEBIAN_VMS=1 npx vitest run provider/persist/persist.test.ts
 */
const vm = labDebianVm();
// A fixed test key (wg(8)'s example): the VM is the lab's, torn down with it.
const WG_KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const WG_PEER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
// The peer of a second interface that lists no peers of its own: a WireguardPeerLists holds it.
const WG_LIST_PEER = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
// Its key (any well-formed key: the VM is the lab's).
const WG_PEER_KEY = "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4=";

interface Device {
  type: string;
  resourceName: string;
  /** Resources: the host whose connection they get; components name theirs inside inputs ({ $connection }). */
  host?: string;
  inputs: Record<string, unknown>;
  dependsOn?: string[];
}

function devices(vmAddress: string, h1Address: string): Device[] {
  const on = (type: string, resourceName: string, inputs: Record<string, unknown>, dependsOn?: string[]): Device => ({
    type,
    resourceName,
    host: "dvm",
    inputs: { persist: "networkd", ...inputs },
    ...(dependsOn ? { dependsOn } : {}),
  });
  return [
    // A VXLAN overlay between dvm1 (persisted) and the namespace host h1 (no systemd: its own
    // persist overrides the overlay's), and a container plugged into it on dvm1.
    {
      type: "VxlanOverlay",
      resourceName: "ov",
      inputs: {
        vni: 4242,
        bridgeName: "ndpbr",
        vtepName: "ndpvx",
        persist: "networkd",
        hosts: [
          { name: "dvm", connection: { $connection: "dvm" }, underlayAddress: vmAddress, overlayAddress: "10.250.7.1/24" },
          { name: "h1", connection: { $connection: "h1" }, underlayAddress: h1Address, overlayAddress: "10.250.7.2/24", persist: "none" },
        ],
      },
    },
    // The same in the per-host form: one HostDevices on dvm (bridge, VTEP, the container's veth).
    {
      type: "VxlanOverlay",
      resourceName: "ovh",
      inputs: {
        vni: 4244,
        bridgeName: "ndphbr",
        vtepName: "ndphvx",
        form: "per-host",
        persist: "networkd",
        hosts: [
          {
            name: "dvm",
            connection: { $connection: "dvm" },
            underlayAddress: vmAddress,
            overlayAddress: "10.250.15.1/24",
            containers: [{ namespace: "ndphc", address: "10.250.15.3/24" }],
          },
          { name: "h1", connection: { $connection: "h1" }, underlayAddress: h1Address, overlayAddress: "10.250.15.2/24", persist: "none" },
        ],
      },
    },
    {
      type: "Attachment",
      resourceName: "att",
      inputs: { connection: { $connection: "dvm" }, namespace: "ndpc2", bridge: "ndpbr", address: "10.250.7.3/24", mtu: 1450, persist: "networkd" },
      dependsOn: ["ov"],
    },
    on("NetworkNamespace", "ns", { name: "ndpc1" }),
    on("VxlanTunnel", "vx2", {
      name: "ndpvx2",
      vni: 4243,
      dstPort: 4790,
      local: vmAddress,
      peers: [h1Address, "10.247.0.99"],
      learning: false,
      ttl: 16,
      addresses: ["10.250.6.1/24"],
    }),
    on("Dummy", "dummy", { name: "ndpd0", addresses: ["10.250.8.1/32"], alias: "router id" }),
    // A bridge whose MTU is below its one port's: the kernel moves a bridge to its ports'
    // smallest MTU unless the MTU was set on the bridge after it was made.
    on("Bridge", "mtuBridge", { name: "ndpbr2", mtu: 1400 }),
    on("Dummy", "mtuBridgePort", { name: "ndpbp0", master: "ndpbr2" }, ["mtuBridge"]),
    on("Bond", "bond", { name: "ndpbond", mode: "active-backup", miimon: 100, updelay: 200 }),
    on("Dummy", "bondMember", { name: "ndpbm0", master: "ndpbond" }, ["bond"]),
    on("Vrf", "vrf", { name: "ndpvrf", table: 1001 }),
    on("Dummy", "vrfMember", { name: "ndpvm0", master: "ndpvrf", addresses: ["10.250.10.1/24"] }, ["vrf"]),
    on("Macvlan", "macvlan", { name: "ndpmv", parent: "eth1", mode: "bridge" }),
    // On the dummy (made by networkd at boot, so the unit waits for it): a parent takes macvlans
    // or ipvlans, not both, and eth0 (qemu's user network) sends router advertisements, which
    // would add an address of their own inside the namespace.
    on("Ipvlan", "ipvlan", { name: "ndpiv", parent: "ndpd0", mode: "l2", netns: "ndpc1", addresses: ["10.250.11.2/24"] }, ["ns", "dummy"]),
    on("Vlan", "vlan", { name: "ndpvl", parent: "eth1", vlanId: 42, addresses: ["10.250.12.1/24"] }),
    on("TunDevice", "tap", { name: "ndptap", mode: "tap", up: false }),
    on("Ifb", "ifb", { name: "ndpifb" }),
    on("VethPair", "veth", { name: "ndpve", peerName: "ndpvp", peerNetns: "ndpc1", addresses: ["10.250.9.1/24"], peerAddresses: ["10.250.9.2/24"] }, ["ns"]),
    on("Route", "route", { netns: "ndpc1", destination: "10.250.99.0/24", via: "10.250.9.1", dev: "ndpvp" }, ["veth"]),
    // In the host's namespace, on a link networkd does not manage (see provider/persist/README.md).
    on("Route", "hostRoute", { destination: "10.250.98.0/24", dev: "ndpmv" }, ["macvlan"]),
    on("Geneve", "geneve", { name: "ndpgn", vni: 77, remote: h1Address }),
    on("Gre", "gre", { name: "ndpgre", mode: "gre", local: vmAddress, remote: h1Address, key: 5 }),
    on("WireguardInterface", "wg", {
      name: "ndpwg",
      privateKey: WG_KEY,
      listenPort: 51999,
      addresses: ["10.250.13.1/24"],
      peers: [{ publicKey: WG_PEER, allowedIps: ["10.250.13.2/32"] }],
    }),
    // An interface with no peers of its own (an EncryptedOverlay's), its peers in a WireguardPeerLists:
    // an interface that lists `peers` holds exactly those, so the two never share an interface.
    on("WireguardInterface", "wgBare", { name: "ndpwg2", privateKey: WG_PEER_KEY, listenPort: 51998, addresses: ["10.250.14.1/24"] }),
    // Its persist is per member, not a top-level input: its unit is counted apart below.
    {
      type: "WireguardPeerLists",
      resourceName: "wgPeers",
      inputs: {
        connections: { dvm: { $connection: "dvm" } },
        interfaces: {
          dvm: { name: "ndpwg2", peers: [{ publicKey: WG_LIST_PEER, endpoint: `${h1Address}:51999`, allowedIps: ["10.250.14.2/32"] }], persist: "networkd" },
        },
      },
      dependsOn: ["wgBare"],
    },
  ];
}

describe.skipIf(!vm)('persist: "networkd" on a host that reboots (dvm1)', () => {
  let stack: Stack;
  const sh = async (command: string) => {
    const result = await exec(vm!.name, ["sh", "-c", command]);
    return result.stdout.trim();
  };
  const ours = () => sh("{ find /etc/systemd/network /etc/systemd/system -name '*pulumi-netdev*'; find /etc/pulumi-netdev -mindepth 1; } 2>/dev/null | wc -l");
  const pingOverlay = async (target: string) => {
    for (let i = 0; i < 10; i++) if ((await exec("h1", ["ping", "-c1", "-W2", target])).exitCode === 0) return true;
    return false;
  };
  /** The stack's resources whose inputs say persist: "networkd", as [type, name, inputs]. */
  const persisted = async () => {
    const state = (await stack.exportStack()).deployment as { resources?: Array<{ type: string; urn: string; inputs?: Record<string, unknown> }> };
    return (state.resources ?? [])
      .filter((r) => r.inputs?.persist === "networkd")
      .map((r) => [r.type.split(":").pop()!, r.urn.split("::").pop()!, r.inputs!] as const);
  };
  const pingAll = async () => ({
    bridge: await pingOverlay("10.250.7.1"),
    container: await pingOverlay("10.250.7.3"),
    perHostBridge: await pingOverlay("10.250.15.1"),
    perHostContainer: await pingOverlay("10.250.15.3"),
  });
  const allAnswer = { bridge: true, container: true, perHostBridge: true, perHostContainer: true };

  let release: (() => void) | undefined;
  beforeAll(async () => {
    // The VM reboots below: no other test file may use it meanwhile.
    release = await lockHost(vm!.name);
    const dvm = host(vm!.name);
    const h1 = host("h1");
    const list = devices(dvm.underlayAddress, h1.underlayAddress);
    process.env.NETDEV_E2E_SPEC = JSON.stringify({ hosts: { dvm, h1 }, devices: list });
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "persist"));
  }, 25 * 60_000);

  afterAll(async () => {
    await stack?.destroy({}).catch(() => undefined);
    release?.();
  }, 300_000);

  it("up makes every kind, a namespace, a route and the components' resources, writes their boot-time files; the overlay carries traffic", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const resources = await persisted();
    expect([...new Set(resources.map(([type]) => type))].sort()).toEqual([...Object.keys(deviceKinds), "HostDevices", "NetworkNamespace", "Route"].sort());
    // h1's half of the overlay is not persisted (its own persist: "none").
    expect(resources.map(([, name]) => name).filter((name) => /^ovh?-h1-/.test(name))).toEqual([]);
    expect(resources.map(([, name]) => name)).toEqual(expect.arrayContaining(["ov-dvm-bridge", "ov-dvm-vtep", "att-netns", "att-veth", "ovh-dvm-devices"]));
    // networkd's three files for what it can describe (host namespace, no master: the overlay's
    // bridge, the unbound VTEP, the dummy, the bond, the VRF, the IFB without queue settings);
    // a unit and its script for the rest.
    const networkd = resources.filter(
      ([type, , inputs]) => ["Bridge", "Dummy", "Bond", "Vrf", "VxlanTunnel", "Ifb"].includes(type) && !inputs.master && !inputs.netns && !inputs.dev,
    );
    expect(networkd.map(([, name]) => name).sort()).toEqual(["bond", "dummy", "ifb", "mtuBridge", "ov-dvm-bridge", "vrf", "vx2"]);
    // And the per-host overlay's bridge, a device of its HostDevices.
    expect(await sh("ls /etc/systemd/network | grep -c '^10-pulumi-netdev-'")).toBe(String((networkd.length + 1) * 3));
    expect(await sh("ls /etc/systemd/network | grep -c '^10-pulumi-netdev-ndphbr\\.'")).toBe("3");
    // A unit per other resource (the HostDevices aside), two for the HostDevices' VTEP and veth,
    // and three for the lists: both overlays' flood lists and the WireGuard peer list on dvm
    // (VxlanFloodLists and WireguardPeerLists persist per host).
    const units = resources.length - 1 - networkd.length + 2 + 3;
    expect(await sh("ls /etc/pulumi-netdev | grep -c '\\.sh$'")).toBe(String(units));
    expect(await sh("ls /etc/systemd/system/multi-user.target.wants | grep -c '^pulumi-netdev-'")).toBe(String(units));
    expect(await sh("grep -l 'for VxlanTunnel ndphvx' /etc/pulumi-netdev/*.sh | wc -l")).toBe("1");
    expect(await sh("grep -l 'for VxlanFloodLists ndpvx (member dvm)' /etc/pulumi-netdev/*.sh | wc -l")).toBe("1");
    expect(await sh("grep -l 'for WireguardPeerLists ndpwg2 (member dvm)' /etc/pulumi-netdev/*.sh | wc -l")).toBe("1");
    expect(await sh("stat -c %a /etc/pulumi-netdev/*.stdin | sort -u")).toBe("600");
    expect(await pingAll()).toEqual(allAnswer);
    // What was just written is what refresh expects: no drift, no change.
    const refresh = await stack.refresh();
    expect(refresh.stdout).not.toMatch(/boot-time files differ/);
    expect(Object.keys(refresh.summary.resourceChanges ?? {}), refresh.stdout).toEqual(["same"]);
  }, 300_000);

  it("refresh reports files deleted or edited by hand; up writes them again", async () => {
    await sh(
      "rm /etc/systemd/network/10-pulumi-netdev-ndpd0.link /etc/systemd/network/10-pulumi-netdev-ndphbr.link && sed -i 's/^Table=1001$/Table=1002/' /etc/systemd/network/10-pulumi-netdev-ndpvrf.netdev && for f in /etc/pulumi-netdev/*.sh; do if grep -q 'for Macvlan ndpmv ' \"$f\"; then echo '# edited' >> \"$f\"; fi; done",
    );
    const refresh = await stack.refresh();
    expect(refresh.stdout).toMatch(/ndpd0 .*boot-time files differ.*10-pulumi-netdev-ndpd0\.link \(missing\)/);
    expect(refresh.stdout).toMatch(/ndpvrf .*10-pulumi-netdev-ndpvrf\.netdev \(edited\)/);
    expect(refresh.stdout).toMatch(/ndpmv .*\/etc\/pulumi-netdev\/[0-9a-f]{12}\.sh \(edited\)/);
    expect(refresh.stdout).toMatch(/HostDevices on .*devices\.bridge: \/etc\/systemd\/network\/10-pulumi-netdev-ndphbr\.link \(missing\)/);
    const preview = await stack.preview();
    expect(preview.changeSummary.update).toBe(4);
    const up = await stack.up();
    expect(up.summary.resourceChanges?.update).toBe(4);
    expect(await sh("ls /etc/systemd/network/10-pulumi-netdev-ndphbr.link")).toMatch(/ndphbr\.link$/);
    expect(await sh("grep -h '^Table=' /etc/systemd/network/10-pulumi-netdev-ndpvrf.netdev")).toBe("Table=1001");
    expect((await stack.refresh()).stdout).not.toMatch(/boot-time files differ/);
  }, 300_000);

  it("after a reboot every device is back as it was: refresh changes nothing, the overlay pings again", async () => {
    const reboot = await rebootVmHost(vm!.name);
    console.log(describeReboot(vm!.name, reboot));
    expect(reboot.bootIdAfter).not.toBe(reboot.bootIdBefore);
    expect(await sh("systemctl list-units --failed --no-legend 'pulumi-netdev-*' | wc -l")).toBe("0");
    const refresh = await stack.refresh();
    const changes = Object.fromEntries(Object.entries(refresh.summary.resourceChanges ?? {}).filter(([op]) => op !== "same"));
    expect(changes, refresh.stdout).toEqual({});
    expect(refresh.stdout).not.toMatch(/lost its owner tag|boot-time files differ/);
    const preview = await stack.preview();
    expect(Object.keys(preview.changeSummary), JSON.stringify(preview.changeSummary)).toEqual(["same"]);
    expect(await pingAll()).toEqual(allAnswer);
    expect(await sh("ip -n ndpc1 -br addr show dev ndpvp")).toMatch(/10\.250\.9\.2\/24/);
    expect(await sh("ip -n ndphc -br addr show dev eth0")).toMatch(/10\.250\.15\.3\/24/);
    expect(await sh("ip -n ndpc1 route show 10.250.99.0/24")).toMatch(/via 10\.250\.9\.1 dev ndpvp proto 250/);
    expect(await sh("ip route show 10.250.98.0/24")).toMatch(/dev ndpmv proto 250/);
    expect(await sh("ip -br link show dev ndptap")).toMatch(/DOWN/);
    expect(await sh("cat /sys/class/net/ndpbr2/mtu /sys/class/net/ndpbp0/mtu")).toBe("1400\n1500");
    expect(await sh("wg show ndpwg listen-port")).toBe("51999");
    // The interface's own peer (its unit), and the bare interface's from the peer list's unit (after the interface's).
    expect(await sh("wg show ndpwg peers")).toBe(WG_PEER);
    expect(await sh("wg show ndpwg2 peers")).toBe(WG_LIST_PEER);
  }, 600_000);

  it("persist changes in place: turned off, the files go and the device stays (same ifindex)", async () => {
    const spec = JSON.parse(process.env.NETDEV_E2E_SPEC!) as { devices: Device[] };
    const before = await sh("cat /sys/class/net/ndpd0/ifindex");
    spec.devices = spec.devices.map((d) => (d.resourceName === "dummy" ? { ...d, inputs: { ...d.inputs, persist: "none" } } : d));
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
    expect(up.summary.resourceChanges?.replace ?? 0).toBe(0);
    expect(await sh("ls /etc/systemd/network | grep -c '^10-pulumi-netdev-ndpd0' || true")).toBe("0");
    expect(await sh("cat /sys/class/net/ndpd0/ifindex")).toBe(before);
  }, 300_000);

  it("destroy removes every file and unit; after another reboot nothing of ours comes back", async () => {
    expect(Number(await ours())).toBeGreaterThan(0);
    await stack.destroy();
    expect(await ours()).toBe("0");
    console.log(describeReboot(vm!.name, await rebootVmHost(vm!.name)));
    expect(await sh("ip -br link | grep -c '^ndp' || true")).toBe("0");
    expect(await sh("ip netns list | grep -c 'ndpc1\\|ndphc' || true")).toBe("0");
    expect(await sh("systemctl list-units --all --no-legend 'pulumi-netdev-*' | wc -l")).toBe("0");
  }, 600_000);
});

describe("preview checks the host before anything is persisted", () => {
  it("refuses persist on a host without systemd as init (h1, a namespace host of this machine), naming the field; nothing without persist", async () => {
    for (const type of ["Dummy", "NetworkNamespace", "Route"]) {
      const engine = engineFor(type);
      const inputs = {
        connection: connectionInput("h1"),
        persist: "networkd",
        ...(type === "Route" ? { destination: "10.250.99.0/24", dev: "lo" } : { name: "ndpx" }),
      };
      const checked = engine.check(inputs);
      expect(checked.failures).toEqual([]);
      expect(await engine.preflight!(checked.inputs), type).toEqual([
        { property: "persist", reason: expect.stringMatching(/needs systemd as the init system on root@.*\(\/run\/systemd\/system is missing\)/) },
      ]);
      expect(await engine.preflight!(engine.check({ ...inputs, persist: undefined }).inputs)).toEqual([]);
    }
  });

  it.skipIf(!vm)("passes on the Debian VM, and warns once that networkd would remove a host-namespace route on restart", { timeout: 25 * 60_000 }, async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => void warnings.push(message);
    // networkmanager.test.ts runs the VM with networkd disabled while it holds it.
    const release = await lockHost(vm!.name);
    try {
      const connection = connectionInput(vm!.name);
      for (const type of ["Bridge", "VethPair", "NetworkNamespace"]) {
        const engine = engineFor(type);
        const checked = engine.check({ connection, name: "ndpx", persist: "networkd", ...(type === "VethPair" ? { peerName: "ndpy" } : {}) });
        expect(await engine.preflight!(checked.inputs), type).toEqual([]);
      }
      const route = engineFor("Route");
      for (const netns of [undefined, "ndpc1", undefined])
        expect(await route.preflight!(route.check({ connection, destination: "10.250.99.0/24", dev: "lo", netns, persist: "networkd" }).inputs)).toEqual([]);
      expect(warnings).toEqual([
        expect.stringMatching(/removes the routes it did not configure from the links it manages .*prefer a dev networkd does not manage/),
      ]);
      // A name networkd's own files claim (systemd-nspawn's ve-*): networkd would manage the device.
      const dummy = engineFor("Dummy");
      expect(await dummy.preflight!(dummy.check({ connection, name: "ve-ndp", persist: "networkd" }).inputs)).toEqual([]);
      expect(warnings[1]).toMatch(/ve-ndp on .*80-container-ve\.network \(Name=ve-\*\) matches this name.*dropping its master/);
    } finally {
      console.warn = original;
      release();
    }
  });
});
