import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDebianVm, repoRoot } from "../../lab/hosts";
import { labStack } from "../../lab/stack";
import { describeReboot, useNetwork } from "../../lab/vm/debian";
import { exec } from "../../test/support/components";
import { lockHost } from "../../test/support/host-lock";
import { host } from "../../test/support/lab-hosts";

/**
 * netdev on a host whose network NetworkManager configures: the Debian VM lab host (dvm1)
 * switched from systemd-networkd to NetworkManager (lab/vm/debian.ts useNetwork; the image has
 * both, NetworkManager with a profile for each NIC, Debian's configuration otherwise).
 * A real `pulumi up` makes devices of several kinds (a VXLAN overlay to h1, a bridge member, a
 * VLAN and a macvlan on the NIC NetworkManager manages, a device left down, a veth into a
 * namespace); `systemctl restart NetworkManager` and `nmcli general reload` leave every one of
 * them as it was (addresses, up/down, master), refresh finds no change and the overlay carries
 * traffic. The VM is switched back to networkd at the end.
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
        hosts: [
          { name: "dvm", connection: { $connection: "dvm" }, underlayAddress: vmAddress, overlayAddress: "10.250.17.1/24" },
          { name: "h1", connection: { $connection: "h1" }, underlayAddress: h1Address, overlayAddress: "10.250.17.2/24" },
        ],
      },
    },
    on("Dummy", "member", { name: "ndnm0", master: "ndnbr" }, ["ov"]),
    on("Dummy", "down", { name: "ndnd0", up: false, addresses: ["10.250.18.1/24"] }),
    on("Vlan", "vlan", { name: "ndnvl", parent: "eth1", vlanId: 43, addresses: ["10.250.19.1/24"] }),
    on("Macvlan", "macvlan", { name: "ndnmv", parent: "eth1", mode: "bridge", addresses: ["10.250.20.1/24"] }),
    on("NetworkNamespace", "ns", { name: "ndnc1" }),
    on("VethPair", "veth", { name: "ndnve", peerName: "ndnvp", peerNetns: "ndnc1", addresses: ["10.250.21.1/24"], peerAddresses: ["10.250.21.2/24"] }, ["ns"]),
  ];
}

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

  beforeAll(async () => {
    release = await lockHost(vm!.name);
    console.log(describeReboot(vm!.name, await useNetwork(vm!.name, "networkmanager")));
    const dvm = host(vm!.name);
    const h1 = host("h1");
    process.env.NETDEV_E2E_SPEC = JSON.stringify({ hosts: { dvm, h1 }, devices: devices(dvm.underlayAddress, h1.underlayAddress) });
    ({ stack } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "networkmanager"));
  }, 25 * 60_000);

  afterAll(async () => {
    try {
      await stack?.destroy({}).catch(() => undefined);
      console.log(describeReboot(vm!.name, await useNetwork(vm!.name, "networkd")));
    } finally {
      release?.();
    }
  }, 15 * 60_000);

  it("the VM runs NetworkManager, not networkd, and NetworkManager configured its NICs", async () => {
    expect(await sh("systemctl is-active NetworkManager systemd-networkd || true")).toBe("active\ninactive");
    expect(await sh("nmcli -t -f DEVICE,STATE device status | grep '^eth' | sort")).toBe("eth0:connected\neth1:connected");
    expect(await sh("ip -4 -o addr show dev eth1")).toContain(`${vm!.underlayAddress}/24`);
  });

  it("up makes the devices; restarting and reloading NetworkManager leaves them as they were; refresh is clean", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const made = await snapshot();
    expect(Object.keys(made).sort()).toEqual(["ndnbr", "ndnd0", "ndnm0", "ndnmv", "ndnve", "ndnvl", "ndnvp", "ndnvx"]);
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
      await refreshIsClean();
    }
  }, 600_000);
});
