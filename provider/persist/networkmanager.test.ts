import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDebianVm, repoRoot } from "../../lab/hosts";
import { labStack } from "../../lab/stack";
import { describeReboot, rebootVmHost, useNetwork } from "../../lab/vm/debian";
import { exec } from "../../test/support/components";
import { lockHost } from "../../test/support/host-lock";
import { host } from "../../test/support/lab-hosts";
import { floodListsOf } from "../objects/flood-lists/vxlan-flood-lists";

/**
 * netdev on a host whose network NetworkManager configures: the Debian VM lab host (dvm1)
 * switched from systemd-networkd to NetworkManager (lab/vm/debian.ts useNetwork; the image has
 * both, NetworkManager with a profile for each NIC, Debian's configuration otherwise).
 * A real `pulumi up` makes devices of several kinds (a VXLAN overlay to h1, a bridge member, a
 * VLAN and a macvlan on the NIC NetworkManager manages, a device left down, a veth into a
 * namespace, dummies and a bridge NetworkManager's keyfiles describe), every one persisted with
 * `persist: "networkmanager"` (one with "auto"); `systemctl restart NetworkManager` and
 * `nmcli general reload` leave every one of them as it was (addresses, up/down, master), with
 * the keyfiles loaded, refresh finds no change and the overlay carries traffic. Then the VM
 * reboots: NetworkManager makes the keyfile devices, the oneshot units the rest, every device is
 * as it was and refresh finds no change; persist turned off unloads a profile and leaves its
 * device; destroy removes every file and profile, and when the VM reboots back to networkd
 * nothing of ours comes back.
 *
 * Needs a lab with a Debian VM (skipped otherwise):
 *   flock /tmp/netdev-lab.lock env NETDEV_TEST_DEBIAN_VMS=1 npx vitest run provider/persist/networkmanager.test.ts
 */
const vm = labDebianVm();

function devices(vmAddress: string, h1Address: string) {
  const on = (type: string, resourceName: string, inputs: Record<string, unknown>, dependsOn?: string[]) => ({
    type,
    resourceName,
    host: "dvm",
    inputs,
    ...(dependsOn ? { dependsOn } : {}),
  });
  return [
    {
      type: "VxlanOverlay",
      resourceName: "ov",
      inputs: {
        vni: 4343,
        bridgeName: "ndnbr",
        vtepName: "ndnvx",
        persist: "networkmanager",
        hosts: [
          { name: "dvm", connection: { $connection: "dvm" }, underlayAddress: vmAddress, overlayAddress: "10.250.17.1/24" },
          // A namespace host of this machine: no systemd, nothing to persist.
          { name: "h1", connection: { $connection: "h1" }, underlayAddress: h1Address, overlayAddress: "10.250.17.2/24", persist: "none" },
        ],
      },
    },
    on("Dummy", "member", { name: "ndnm0", master: "ndnbr", ...NM }, ["ov"]),
    on("Dummy", "down", { name: "ndnd0", up: false, addresses: ["10.250.18.1/24"], ...NM }),
    on("Vlan", "vlan", { name: "ndnvl", parent: "eth1", vlanId: 43, addresses: ["10.250.19.1/24"], ...NM }),
    on("Macvlan", "macvlan", { name: "ndnmv", parent: "eth1", mode: "bridge", addresses: ["10.250.20.1/24"], ...NM }),
    on("NetworkNamespace", "ns", { name: "ndnc1", ...NM }),
    on("VethPair", "veth", { name: "ndnve", peerName: "ndnvp", peerNetns: "ndnc1", addresses: ["10.250.21.1/24"], peerAddresses: ["10.250.21.2/24"], ...NM }, [
      "ns",
    ]),
    // What NetworkManager's keyfiles describe (persist/networkmanager.ts): in the host's namespace, up, no master.
    on("Dummy", "keyfile-dummy", { name: "ndnk0", addresses: ["10.250.22.1/24", "fd00:250:22::1/64"], ...NM }),
    on("Bridge", "keyfile-bridge", { name: "ndnkbr", addresses: ["10.250.23.1/24"], ...NM }),
    on("Dummy", "auto", { name: "ndna0", addresses: ["10.250.24.1/24"], persist: "auto" }),
  ];
}

const NM = { persist: "networkmanager" };
/** The devices persisted by a keyfile; the others by a oneshot unit. */
const KEYFILE_DEVICES = ["ndna0", "ndnk0", "ndnkbr"];

interface LinkState {
  flags: string[];
  master?: string;
  addresses: string[];
}

describe.skipIf(!vm)("netdev on a NetworkManager host (dvm1 switched to NetworkManager)", () => {
  let stack: Stack;
  let release: (() => void) | undefined;
  const sh = async (command: string) => (await exec(vm!.name, ["sh", "-c", command])).stdout.trim();
  /** Our devices (host namespace and ndnc1): up/down, master, addresses (not the kernel's IPv6 link-local ones). */
  const snapshot = async (): Promise<Record<string, LinkState>> => {
    type Link = { ifname: string; flags: string[]; master?: string; addr_info: Array<{ local: string; prefixlen: number; scope: string }> };
    const links = [...(JSON.parse(await sh("ip -json addr show")) as Link[]), ...(JSON.parse(await sh("ip -n ndnc1 -json addr show")) as Link[])].filter(
      (link) => link.ifname.startsWith("ndn"),
    );
    return Object.fromEntries(
      links.map((link) => [
        link.ifname,
        {
          flags: link.flags.filter((flag) => flag === "UP").sort(),
          ...(link.master ? { master: link.master } : {}),
          addresses: link.addr_info
            .filter((a) => a.scope !== "link")
            .map((a) => `${a.local}/${a.prefixlen}`)
            .sort(),
        },
      ]),
    );
  };
  const nmDevices = () => sh("nmcli -t -f DEVICE,TYPE,STATE,CONNECTION device status | grep '^ndn' || true");
  /** NetworkManager's state of each of our host-namespace devices: it mirrors them ("connected (externally)") or leaves them ("unmanaged"). */
  const nmStates = async () => new Set((await sh("nmcli -t -f DEVICE,STATE device status | grep '^ndn' | cut -d: -f2")).split("\n"));
  const pingOverlay = async () => {
    for (let i = 0; i < 10; i++) if ((await exec("h1", ["ping", "-c1", "-W2", "10.250.17.1"])).exitCode === 0) return true;
    return false;
  };
  const refreshIsClean = async () => {
    const refresh = await stack.refresh();
    expect(Object.keys(refresh.summary.resourceChanges ?? {}), refresh.stdout).toEqual(["same"]);
  };

  /** Boot units of flood lists (one per persisted member with peers): their persist is per member, not the resource's. */
  const floodListUnits = async () => {
    const state = (await stack.exportStack()).deployment as {
      resources?: Array<{ inputs?: { vteps?: Record<string, { persist?: string; peers?: string[]; address?: string }> } }>;
    };
    // A persisted member whose list (its own peers, and in a mesh every other member's address) is not empty.
    return (state.resources ?? []).flatMap((r) => {
      const vteps = r.inputs?.vteps ?? {};
      const lists = floodListsOf(
        Object.fromEntries(Object.entries(vteps).map(([member, vtep]) => [member, { peers: vtep.peers ?? [], address: vtep.address }])),
      );
      return Object.entries(vteps).filter(([member, vtep]) => vtep.persist !== undefined && vtep.persist !== "none" && lists[member]!.length > 0);
    }).length;
  };

  beforeAll(async () => {
    release = await lockHost(vm!.name);
    console.log(describeReboot(vm!.name, await useNetwork(vm!.name, "networkmanager")));
    const dvm = host(vm!.name);
    const h1 = host("h1");
    process.env.NETDEV_E2E_SPEC = JSON.stringify({ hosts: { dvm, h1 }, devices: devices(dvm.underlayAddress, h1.underlayAddress) });
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "networkmanager"));
  }, 25 * 60_000);

  let backOnNetworkd = false;
  afterAll(async () => {
    try {
      await stack?.destroy({}).catch(() => undefined);
      if (!backOnNetworkd) console.log(describeReboot(vm!.name, await useNetwork(vm!.name, "networkd")));
    } finally {
      release?.();
    }
  }, 15 * 60_000);

  /** Our keyfiles (mode, owner, name) and the profiles NetworkManager has loaded from them. */
  const keyfiles = () => sh("stat -c '%a %U %n' /etc/NetworkManager/system-connections/pulumi-netdev-* 2>/dev/null || true");
  const profiles = () => sh("nmcli -t -f NAME connection show | grep '^pulumi-netdev-' | sort || true");
  /** Every boot-time file of ours: keyfiles, udev's .link files, units, scripts. */
  const ours = () =>
    sh(
      "{ find /etc/NetworkManager/system-connections /run/NetworkManager/system-connections /etc/systemd/network /etc/systemd/system -name '*pulumi-netdev*'; find /etc/pulumi-netdev -mindepth 1; } 2>/dev/null | wc -l",
    );
  /** Each resource's persist input and persistVia output, from the stack's state. */
  const persistOf = async () => {
    const state = (await stack.exportStack()).deployment as {
      resources?: Array<{ urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }>;
    };
    return Object.fromEntries(
      (state.resources ?? [])
        .filter((r) => r.inputs?.persist !== undefined)
        .map((r) => [r.urn.split("::").pop()!, `${r.inputs!.persist} via ${r.outputs?.persistVia}`]),
    );
  };

  it("the VM runs NetworkManager, not networkd, and NetworkManager configured its NICs", async () => {
    expect(await sh("systemctl is-active NetworkManager systemd-networkd || true")).toBe("active\ninactive");
    expect(await sh("nmcli -t -f DEVICE,STATE device status | grep '^eth' | sort")).toBe("eth0:connected\neth1:connected");
    expect(await sh("ip -4 -o addr show dev eth1")).toContain(`${vm!.underlayAddress}/24`);
  });

  it("up makes the devices; restarting and reloading NetworkManager leaves them as they were; refresh is clean", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    // "auto" says what it picked on the host (pulumi's diagnostics), and state keeps it.
    console.log(`up's output names the pick: ${/persist "auto" on \S+: networkmanager \(NetworkManager runs there\)/.test(up.stdout)}`);
    const persist = await persistOf();
    expect(persist.auto).toBe("auto via networkmanager");
    expect(persist["keyfile-bridge"]).toBe("networkmanager via networkmanager");
    expect(persist["ov-h1-vtep"]).toBe("none via undefined");
    const made = await snapshot();
    expect(Object.keys(made).sort()).toEqual(["ndna0", "ndnbr", "ndnd0", "ndnk0", "ndnkbr", "ndnm0", "ndnmv", "ndnve", "ndnvl", "ndnvp", "ndnvx"]);
    expect(made.ndnk0).toEqual({ flags: ["UP"], addresses: ["10.250.22.1/24", "fd00:250:22::1/64"] });
    // A keyfile (0600, root's) and a loaded profile for each device a keyfile describes, a unit for the others.
    expect(await keyfiles()).toBe(
      KEYFILE_DEVICES.map((name) => `600 root /etc/NetworkManager/system-connections/pulumi-netdev-${name}.nmconnection`).join("\n"),
    );
    expect(await profiles()).toBe(KEYFILE_DEVICES.map((name) => `pulumi-netdev-${name}`).join("\n"));
    const units = Object.values(persist).filter((value) => value.endsWith(" via networkmanager")).length - KEYFILE_DEVICES.length + (await floodListUnits());
    expect(await sh("ls /etc/systemd/system/multi-user.target.wants | grep -c '^pulumi-netdev-'")).toBe(String(units));
    expect(made.ndnd0).toEqual({ flags: [], addresses: ["10.250.18.1/24"] });
    expect(made.ndnm0.master).toBe("ndnbr");
    expect(await pingOverlay()).toBe(true);
    console.log(`NetworkManager's view of netdev's devices after up:\n${await nmDevices()}`);
    expect([...(await nmStates())].sort()).toEqual(["connected (externally)", "unmanaged"]);

    for (const action of ["systemctl restart NetworkManager", "nmcli general reload"]) {
      await sh(`${action} && nm-online -s -q -t 60`);
      // NetworkManager acts on a device as it (re)appears to it: read again once it says it has started.
      expect(await snapshot(), action).toEqual(made);
      console.log(`after ${action}:\n${await nmDevices()}`);
      expect([...(await nmStates())].sort(), action).toEqual(["connected (externally)", "unmanaged"]);
      expect(await pingOverlay(), action).toBe(true);
      expect(await profiles(), action).toBe(KEYFILE_DEVICES.map((name) => `pulumi-netdev-${name}`).join("\n"));
      await refreshIsClean();
    }
  }, 600_000);

  it("after a reboot NetworkManager makes the keyfile devices and the units the rest: every device as it was, refresh clean, the overlay pings", async () => {
    const before = await snapshot();
    const reboot = await rebootVmHost(vm!.name);
    console.log(describeReboot(vm!.name, reboot));
    expect(reboot.bootIdAfter).not.toBe(reboot.bootIdBefore);
    expect(await sh("systemctl list-units --failed --no-legend 'pulumi-netdev-*'")).toBe("");
    // NetworkManager activates a profile's device once it has made it: read once it says it has started.
    await sh("nm-online -s -q -t 60 || true");
    console.log(`NetworkManager's view of netdev's devices after the reboot:\n${await nmDevices()}`);
    expect(await sh("nmcli -t -f DEVICE,STATE,CONNECTION device status | grep '^ndn[ak]' | sort")).toBe(
      KEYFILE_DEVICES.map((name) => `${name}:connected:pulumi-netdev-${name}`).join("\n"),
    );
    expect(await snapshot()).toEqual(before);
    expect(await pingOverlay()).toBe(true);
    const refresh = await stack.refresh();
    expect(refresh.stdout).not.toMatch(/lost its owner tag|boot-time files differ/);
    expect(Object.keys(refresh.summary.resourceChanges ?? {}), refresh.stdout).toEqual(["same"]);
  }, 600_000);

  it("persist turned off on a device NetworkManager made: its profile is unloaded, the device stays as it was", async () => {
    const ifindex = await sh("cat /sys/class/net/ndna0/ifindex");
    const before = (await snapshot()).ndna0;
    const spec = JSON.parse(process.env.NETDEV_E2E_SPEC!) as { devices: Array<{ resourceName: string; inputs: Record<string, unknown> }> };
    spec.devices = spec.devices.map((d) => (d.resourceName === "auto" ? { ...d, inputs: { ...d.inputs, persist: "none" } } : d));
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
    expect(await keyfiles()).not.toContain("ndna0");
    expect(await profiles()).not.toContain("ndna0");
    expect(await sh("cat /sys/class/net/ndna0/ifindex")).toBe(ifindex);
    expect((await snapshot()).ndna0).toEqual(before);
    expect(await sh("nmcli -t -f DEVICE,STATE device status | grep '^ndna0:'")).toBe("ndna0:unmanaged");
    await refreshIsClean();
  }, 300_000);

  it("destroy removes every file and profile; back on networkd after a reboot, nothing of ours comes back", async () => {
    expect(Number(await ours())).toBeGreaterThan(0);
    await stack.destroy();
    expect(await ours()).toBe("0");
    expect(await profiles()).toBe("");
    expect(await sh("ip -br link | grep -c '^ndn' || true")).toBe("0");
    // NetworkManager reads profiles only from those directories, now empty of ours: this reboot
    // (back to networkd for the tests after this one) shows that the units are gone too.
    console.log(describeReboot(vm!.name, await useNetwork(vm!.name, "networkd")));
    backOnNetworkd = true;
    expect(await sh("ip -br link | grep -c '^ndn' || true")).toBe("0");
    expect(await sh("ip netns list | grep -c ndnc1 || true")).toBe("0");
    expect(await sh("systemctl list-units --all --no-legend 'pulumi-netdev-*' | wc -l")).toBe("0");
  }, 600_000);
});
