import { execa } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LabHost, type LabState, readLabState } from "../hosts";
import { describeReboot, rebootVmHost } from "./debian";
import { sshArgs, underlayMac } from "./qemu";
import { lockHost } from "../../test/support/host-lock";

/**
 * The Debian VM lab host (lab/vm/debian.ts): systemd boots, systemd-networkd runs, and a
 * .netdev file written before a reboot is applied at boot. Needs a lab with a Debian VM:
 *   flock /tmp/netdev-lab.lock env NETDEV_TEST_VMS=0 NETDEV_TEST_DEBIAN_VMS=1 npx vitest run lab/vm/debian.test.ts
 * (skipped when the lab has none, as in the default lab).
 */

function debianHost(): { state: LabState; host: LabHost } | undefined {
  try {
    const state = readLabState();
    const host = state.hosts.find((h) => h.kind === "vm" && h.flavour === "debian");
    return host ? { state, host } : undefined;
  } catch {
    return undefined;
  }
}

const found = debianHost();
const tmp = mkdtempSync(path.join(os.tmpdir(), "netdev-dvm-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function shell(host: LabHost) {
  const knownHosts = path.join(tmp, `known_hosts-${host.name}`);
  writeFileSync(knownHosts, `[${host.address}]:${host.port} ${host.hostPublicKey}\n`);
  return async (command: string, allowFailure = false): Promise<{ stdout: string; exitCode: number }> => {
    const result = await execa("ssh", [...sshArgs(host, host.privateKeyPath, knownHosts), command], { stdin: "ignore", reject: false, timeout: 60_000 });
    if (result.exitCode !== 0 && !allowFailure)
      throw new Error(`${host.name}: ${command}: exit ${result.exitCode}: ${String(result.stderr).trim()} ${String(result.stdout).trim()}`);
    return { stdout: String(result.stdout).trim(), exitCode: result.exitCode ?? -1 };
  };
}

describe.skipIf(!found)("Debian VM lab host (systemd-networkd)", () => {
  it(
    "boots systemd with networkd, and applies a .netdev file at boot after a reboot",
    async () => {
      const { state, host } = found!;
      // Other test files use the VM (and reboot it): one at a time.
      const release = await lockHost(host.name);
      const sh = shell(host);
      const netdevFile = "/etc/systemd/network/50-ndtest.netdev";
      try {
        const running = await sh("systemctl is-system-running --wait", true);
        if (running.stdout !== "running")
          console.log(`${host.name}: ${running.stdout}; failed units:\n${(await sh("systemctl --failed --no-legend", true)).stdout}`);
        expect(["running", "degraded"]).toContain(running.stdout);
        expect((await sh("systemctl is-active systemd-networkd ssh")).stdout.split("\n")).toEqual(["active", "active"]);
        const systemd = (await sh("systemctl --version | head -n1")).stdout;
        const networkctl = (await sh("networkctl --version | head -n1")).stdout;
        expect(systemd).toMatch(/^systemd \d+/);
        expect(networkctl).toMatch(/^systemd \d+/);
        console.log(`${host.name}: ${systemd}; kernel ${(await sh("uname -r")).stdout}`);

        // The NICs as in the busybox VMs: eth1 (underlay, matched by MAC in networkd) has the lab address.
        expect((await sh("hostname")).stdout).toBe(host.name);
        const eth1 = JSON.parse((await sh("ip -json addr show dev eth1")).stdout) as { address: string; addr_info: { family: string; local: string }[] }[];
        expect(eth1[0].address).toBe(underlayMac(host.underlayAddress));
        expect(eth1[0].addr_info.filter((a) => a.family === "inet").map((a) => a.local)).toEqual([host.underlayAddress]);
        expect((await sh(`ping -c1 -W5 ${state.rootAddress}`, true)).exitCode).toBe(0);

        // A dummy device that only systemd-networkd can bring back after the reboot.
        await sh(`rm -f ${netdevFile}; ip link del ndtest0 2>/dev/null; printf '[NetDev]\\nName=ndtest0\\nKind=dummy\\n' > ${netdevFile}; sync`);
        expect((await sh("ip link show ndtest0", true)).exitCode).not.toBe(0);
        const reboot = await rebootVmHost(host.name);
        console.log(describeReboot(host.name, reboot));
        expect(reboot.bootIdAfter).not.toBe(reboot.bootIdBefore);

        const links = JSON.parse((await sh("ip -json -details link show ndtest0")).stdout) as { ifname: string; linkinfo?: { info_kind?: string } }[];
        expect(links[0].ifname).toBe("ndtest0");
        expect(links[0].linkinfo?.info_kind).toBe("dummy");
        expect((await sh("cat /etc/systemd/network/50-ndtest.netdev")).stdout).toContain("Kind=dummy"); // the overlay kept the file
        expect((await sh("ip -4 -o addr show dev eth1")).stdout).toContain(`${host.underlayAddress}/24`);
      } finally {
        await sh(`rm -f ${netdevFile}; ip link del ndtest0 2>/dev/null; true`, true);
        release();
      }
    },
    25 * 60_000,
  );

  it(
    "resets over QMP a guest that printed the kernel's restart line and then nothing, and waits for its next boot",
    async () => {
      const { host } = found!;
      const release = await lockHost(host.name);
      try {
        // The guest stays up and only prints the line: to the watch, a reset that never came.
        const reboot = await rebootVmHost(host.name, { request: "sync; echo '[  1.000000] reboot: Restarting system' > /dev/ttyS0", stallMs: 5_000 });
        console.log(describeReboot(host.name, reboot));
        expect(reboot.resetAfterStall).toMatch(/^qemu running, RIP=\S+ CS=\S+ HLT=[01] CR0=\S+$/);
        expect(reboot.bootIdAfter).not.toBe(reboot.bootIdBefore);
        expect(["running", "degraded"]).toContain(reboot.systemState);
      } finally {
        release();
      }
    },
    10 * 60_000,
  );
});
