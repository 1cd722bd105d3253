import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { deviceEngine as engineFor, engineFor as objectEngineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connectionInput } from "../../test/support/lab-hosts";
import { hostLink } from "../../test/support/lifecycle";
import { exec } from "../../test/support/components";
import { networkdPaths } from "./networkd";
import { namespaceUnitName, oneshotPaths } from "./oneshot";

/**
 * What `persist: "networkd"` leaves on a host when something goes wrong, on the busybox VM lab
 * host vm1 (its own filesystem; no systemd, so the files are only written and removed, never
 * booted; engines called directly skip the systemd preflight):
 * - a device removed by hand, then refreshed: the resource leaves the stack, and so do its
 *   boot files (else the next boot brings the device back with the old owner tag);
 * - a persisted WireGuard create whose files cannot be written: nothing is left, device included;
 * - a failed adopt leaves the device exactly as it was: no owner tag, same MTU, addresses, state.
 */
const HOST = "vm1";
const BRIDGE = "nd6pb0";
const IN_NS = "nd6pb1";
const NETNS = "nd6pns";
const PERSISTED_NETNS = "nd6pns2";
const WG = "nd6wg0";
const ADOPT = "nd6ad0";
const KEY = "6d6d6d6d6d01";

const sh = async (script: string) => (await exec(HOST, ["sh", "-c", script])).stdout.trim();
/** Which of these paths exist on the host (files or links). */
const existing = async (paths: string[]) =>
  (await sh(paths.map((p) => `{ [ -e '${p}' ] || [ -L '${p}' ]; } && echo '${p}'`).join("; ") + "; true")).split("\n").filter(Boolean);
const allPaths = (name: string, token: string) => [...Object.values(networkdPaths(name)), ...oneshotPaths(token)];

async function clean(): Promise<void> {
  for (const dev of [BRIDGE, WG, ADOPT]) await exec(HOST, ["ip", "link", "del", "dev", dev]);
  for (const ns of [NETNS, PERSISTED_NETNS]) await exec(HOST, ["ip", "netns", "del", ns]);
  const paths = [BRIDGE, IN_NS, WG, ADOPT].flatMap((name) => allPaths(name, KEY));
  await sh(`for p in ${paths.map((p) => `'${p}'`).join(" ")}; do umount "$p" 2>/dev/null; rm -rf "$p" "$p.netdev-new"; done; rm -f /tmp/nd6-bound`);
}

function genkey(): string {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("base64");
}

describe("persisted files after a failure or a device removed by hand (vm1)", () => {
  beforeEach(clean, 60_000);
  afterAll(async () => {
    await clean();
    sshPool().closeAll();
  }, 60_000);

  it("refresh of a device removed by hand removes its boot files (networkd's and a oneshot unit's), and only its own", async () => {
    const engine = engineFor("Bridge");
    const inHost = await engine.create(engine.check({ connection: connectionInput(HOST), name: BRIDGE, persist: "networkd", ownerKey: KEY }).inputs);
    const inNs = await engine.create(engine.check({ connection: connectionInput(HOST), name: IN_NS, netns: NETNS, persist: "networkd" }).inputs);
    const inNsToken = inNs.id.split("#")[1]!;
    expect(await existing(Object.values(networkdPaths(BRIDGE)))).toHaveLength(3);
    expect(await existing(oneshotPaths(inNsToken))).toHaveLength(3); // script, unit, link (no stdin file)
    // Someone else's file under the same directory stays.
    await sh("echo '# not netdev' > /etc/systemd/network/10-pulumi-netdev-nd6other.netdev");
    try {
      await exec(HOST, ["ip", "link", "del", "dev", BRIDGE]);
      await exec(HOST, ["ip", "-n", NETNS, "link", "del", "dev", IN_NS]);
      expect((await engine.read(inHost.id, inHost.outs)).id).toBe("");
      expect((await engine.read(inNs.id, inNs.outs)).id).toBe("");
      expect(await existing(allPaths(BRIDGE, KEY))).toEqual([]);
      expect(await existing(allPaths(IN_NS, inNsToken))).toEqual([]);
      expect(await existing(["/etc/systemd/network/10-pulumi-netdev-nd6other.netdev"])).toHaveLength(1);
    } finally {
      await sh("rm -f /etc/systemd/network/10-pulumi-netdev-nd6other.netdev");
      await sh(`rm -f ${oneshotPaths(inNsToken).join(" ")}`);
    }
  }, 120_000);

  it("refresh of a route and a namespace removed by hand removes their boot units", async () => {
    const bridge = engineFor("Bridge");
    const route = objectEngineFor("Route");
    const namespace = objectEngineFor("NetworkNamespace");
    const dev = await bridge.create(bridge.check({ connection: connectionInput(HOST), name: BRIDGE }).inputs);
    const made = await route.create(route.check({ connection: connectionInput(HOST), destination: "10.251.98.0/24", dev: BRIDGE, persist: "networkd" }).inputs);
    const ns = await namespace.create(namespace.check({ connection: connectionInput(HOST), name: PERSISTED_NETNS, persist: "networkd" }).inputs);
    const [routeToken, nsToken] = [made.id, ns.id].map((id) => id.split("#")[1]!);
    const routeFiles = oneshotPaths(routeToken!);
    const nsFiles = oneshotPaths(nsToken!, namespaceUnitName(PERSISTED_NETNS));
    try {
      expect(await existing(routeFiles)).toHaveLength(3);
      expect(await existing(nsFiles)).toHaveLength(3);
      await exec(HOST, ["ip", "route", "del", "10.251.98.0/24", "dev", BRIDGE]);
      await exec(HOST, ["ip", "netns", "del", PERSISTED_NETNS]);
      expect((await route.read(made.id, made.outs)).id).toBe("");
      expect((await namespace.read(ns.id, ns.outs)).id).toBe("");
      expect(await existing(routeFiles)).toEqual([]);
      expect(await existing(nsFiles)).toEqual([]);
    } finally {
      await sh(`rm -f ${[...routeFiles, ...nsFiles].join(" ")}`);
      await bridge.delete(dev.id, dev.outs);
    }
  }, 120_000);

  it("a persisted WireGuard create whose boot files fail at their first step leaves no device (and no files)", async () => {
    const engine = engineFor("WireguardInterface");
    // A file of ours (tagged) that cannot be removed: a bind mount is busy. Removing stale files
    // is the first step of the second command (the key needs stdin in both commands).
    const stuck = networkdPaths(WG).netdev;
    await sh(`mkdir -p /etc/systemd/network && echo '# owner netdev#${KEY}' > /tmp/nd6-bound && touch '${stuck}' && mount -o bind /tmp/nd6-bound '${stuck}'`);
    const inputs = engine.check({
      connection: connectionInput(HOST),
      name: WG,
      privateKey: genkey(),
      listenPort: 51960,
      persist: "networkd",
      ownerKey: KEY,
    }).inputs;
    await expect(engine.create(inputs)).rejects.toThrow(/persist/);
    expect(await hostLink(HOST, undefined, WG), "no device left").toBeUndefined();
    expect(await existing(oneshotPaths(KEY))).toEqual([]);
  }, 120_000);

  it("an adopt whose boot files cannot be written leaves the device exactly as it was (no alias, MTU, addresses, down); a later adopt succeeds", async () => {
    const engine = engineFor("Bridge");
    await exec(HOST, ["ip", "link", "add", "name", ADOPT, "type", "bridge"]);
    const before = await hostLink(HOST, undefined, ADOPT);
    expect(before.ifalias).toBeUndefined();
    // The .netdev file's temporary name is taken by a directory: writing it fails.
    await sh(`mkdir -p '${networkdPaths(ADOPT).netdev}.netdev-new'`);
    const inputs = engine.check({
      connection: connectionInput(HOST),
      name: ADOPT,
      adopt: true,
      mtu: 1400,
      addresses: ["10.251.6.1/24"],
      alias: "mine",
      persist: "networkd",
    }).inputs;
    await expect(engine.create(inputs)).rejects.toThrow(/persist/);
    const after = await hostLink(HOST, undefined, ADOPT);
    expect(after.ifindex).toBe(before.ifindex);
    expect(after.ifalias, "no owner tag left behind").toBeUndefined();
    expect(after.mtu).toBe(before.mtu);
    expect(after.addr_info.filter((a: { scope: string }) => a.scope !== "link")).toEqual([]);
    expect(after.flags).not.toContain("UP");
    expect(await existing(Object.values(networkdPaths(ADOPT)))).toEqual([]);

    await sh(`rmdir '${networkdPaths(ADOPT).netdev}.netdev-new'`);
    const adopted = await engine.create(inputs);
    expect((await hostLink(HOST, undefined, ADOPT)).ifalias).toBe(`netdev#${adopted.id.split("#")[1]} mine`);
    await engine.delete(adopted.id, adopted.outs);
    expect(await existing(Object.values(networkdPaths(ADOPT)))).toEqual([]);
  }, 120_000);

  it("an adopt that fails at a device step leaves the device exactly as it was: its alias, MTU and addresses", async () => {
    const engine = engineFor("Bridge");
    await exec(HOST, ["ip", "link", "add", "name", ADOPT, "type", "bridge"]);
    await exec(HOST, ["ip", "link", "set", "dev", ADOPT, "alias", "their switch", "up"]);
    await exec(HOST, ["ip", "addr", "add", "10.251.7.1/24", "dev", ADOPT]);
    const before = await hostLink(HOST, undefined, ADOPT);
    // master: a device that does not exist, so a step after the MTU and addresses fails.
    const inputs = engine.check({
      connection: connectionInput(HOST),
      name: ADOPT,
      adopt: true,
      mtu: 1400,
      addresses: ["10.251.6.1/24"],
      master: "nd6nosuchbr",
    }).inputs;
    await expect(engine.create(inputs)).rejects.toThrow(/master/);
    const after = await hostLink(HOST, undefined, ADOPT);
    expect(after.ifalias).toBe("their switch");
    expect(after.mtu).toBe(before.mtu);
    expect(after.addr_info.filter((a: { scope: string }) => a.scope !== "link").map((a: { local: string }) => a.local)).toEqual(["10.251.7.1"]);
    expect(after.flags).toContain("UP");
  }, 120_000);
});
