import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { wireguardPublicKey } from "../provider/kinds/wireguard/wireguard";
import { readLabState, repoRoot, type LabHost } from "../lab/hosts";
import { labDown, labStatus, labUp } from "../lab/lab";
import { overlayStack } from "../lab/overlay";
import { labStack } from "../lab/stack";
import { stateBytes, stateBytesTable } from "./state-bytes";

/**
 * Bytes per resource in state, by type and field (bench/state-bytes.ts), of two stacks on the lab:
 *   - devices: N bridges over the three namespace hosts, a VxlanTunnel per host (a unicast
 *     mesh's flood list), and a WireguardInterface with one peer on the VM host when the lab has one;
 *   - the repository's root program (index.ts): a VxlanOverlay and an Attachment per host.
 *
 *   flock /tmp/netdev-lab.lock npm run bench:state-size -- [--devices 30] [--keep DIR]
 *     (brings the lab up with a VM and down again, unless one is up); --keep saves the exports.
 *   npm run bench:state-size -- --from export.json [--from other.json]
 *     the same table for states already exported (`pulumi stack export`), no lab.
 */
const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "30" },
    keep: { type: "string" },
    from: { type: "string", multiple: true },
  },
});

interface Exported {
  deployment: { resources?: Array<{ type: string; [key: string]: unknown }> };
}

function report(title: string, exported: Exported, fileBytes?: number, perHostOf?: number): void {
  const resources = exported.deployment.resources ?? [];
  console.log(`\n== ${title}: ${resources.length} resources${fileBytes ? `, state file ${fileBytes} bytes on disk` : ""}`);
  if (perHostOf) {
    const total = resources.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0);
    console.log(`   ${Math.round(total / perHostOf)} bytes per host (${perHostOf} hosts), compact JSON`);
  }
  console.log(stateBytesTable(stateBytes(exported.deployment), exported.deployment));
}

/**
 * The stack's state file as the file backend wrote it, under the lab stack's home: its size on
 * disk, and its deployment with secrets as ciphertext (`stack export` would show them decrypted).
 */
function stateFile(home: string): { bytes: number; exported: Exported } {
  const stacks = path.join(home, "state", ".pulumi", "stacks");
  for (const project of readdirSync(stacks))
    for (const file of readdirSync(path.join(stacks, project)))
      if (file.endsWith(".json")) {
        const text = readFileSync(path.join(stacks, project, file), "utf8");
        const checkpoint = JSON.parse(text) as { checkpoint: { latest: Exported["deployment"] } };
        return { bytes: Buffer.byteLength(text), exported: { deployment: checkpoint.checkpoint.latest } };
      }
  throw new Error(`no state file under ${stacks}`);
}

function wireguardKey(): string {
  const der = generateKeyPairSync("x25519").privateKey.export({ format: "der", type: "pkcs8" });
  return der.subarray(der.length - 32).toString("base64");
}

function devicesSpec(hosts: LabHost[], vm: LabHost | undefined, n: number): unknown {
  const devices: unknown[] = [];
  for (let i = 0; i < n; i++) devices.push({ type: "Bridge", resourceName: `br${i}`, host: hosts[i % hosts.length]!.name, inputs: { name: `ndss${i}` } });
  for (const h of hosts) {
    const peers = hosts.filter((other) => other !== h).map((other) => other.underlayAddress);
    devices.push({
      type: "VxlanTunnel",
      resourceName: `vx-${h.name}`,
      host: h.name,
      inputs: { name: "ndssvx", vni: 4242, dstPort: 4789, local: h.underlayAddress, dev: h.underlayInterface, learning: false, peers },
    });
  }
  if (vm) {
    const peer = { publicKey: wireguardPublicKey(wireguardKey()), endpoint: "10.247.0.102:51820", allowedIps: ["10.99.0.2/32"], persistentKeepalive: 25 };
    devices.push({
      type: "WireguardInterface",
      resourceName: "wg",
      host: vm.name,
      inputs: { name: "ndsswg", privateKey: wireguardKey(), listenPort: 51820, peers: [peer], addresses: ["10.99.0.1/24"] },
    });
  }
  return { hosts: Object.fromEntries([...hosts, ...(vm ? [vm] : [])].map((h) => [h.name, h])), devices };
}

async function measured(title: string, stack: Stack, home: string, perHostOf?: number): Promise<void> {
  try {
    await stack.up({ onOutput: () => undefined });
    const { bytes, exported } = stateFile(home);
    report(title, exported, bytes, perHostOf);
    if (values.keep) {
      mkdirSync(values.keep, { recursive: true });
      writeFileSync(path.join(values.keep, `${title.replace(/\W+/g, "-")}.json`), JSON.stringify(exported, null, 2));
    }
  } finally {
    await stack.destroy({ onOutput: () => undefined }).catch((error: unknown) => console.error(`destroy of ${title}: ${String(error)}`));
    rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (values.from) {
    for (const file of values.from) report(file, JSON.parse(readFileSync(file, "utf8")) as Exported, statSync(file).size);
    return;
  }
  const status = await labStatus().catch(() => "");
  const reuse = status.includes("h3 ") && !status.includes("DOWN") && !status.includes("DEAD");
  const lab = reuse ? readLabState() : await labUp({ hosts: 3, vms: 1 });
  try {
    const hosts = lab.hosts.filter((h) => h.kind === "netns" && !h.via).slice(0, 3);
    const vm = lab.hosts.find((h) => h.kind === "vm" && h.flavour === undefined);
    if (!vm) console.log("no VM lab host: no WireguardInterface (this machine's kernel has no wireguard)");
    process.env.NETDEV_E2E_SPEC = JSON.stringify(devicesSpec(hosts, vm, Number(values.devices)));
    const devices = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "statesize");
    await measured("devices", devices.stack, devices.home);
    const overlay = await overlayStack(hosts);
    await measured("overlay", overlay.stack, overlay.home, hosts.length);
  } finally {
    if (!reuse) await labDown();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
