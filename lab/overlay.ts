import { readFileSync } from "node:fs";
import path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { parseConnection } from "../provider/ssh/connection";
import { sshPool } from "../provider/ssh/pool";
import { repoRoot, type LabHost } from "./hosts";
import { labStack, type LabStack } from "./stack";

/** examples/overlay as a stack on these lab hosts (one container per host). */
export async function overlayStack(hosts: LabHost[]): Promise<LabStack> {
  const lab = await labStack(path.join(repoRoot, "examples", "overlay"), ["Pulumi.yaml", "index.ts", "package.json"]);
  await configureOverlay(lab.stack, hosts);
  return lab;
}

async function configureOverlay(stack: Stack, hosts: LabHost[]): Promise<void> {
  const config = hosts.map((h) => ({ name: h.name, host: h.address, port: h.port, hostKey: h.hostPublicKey, underlayAddress: h.underlayAddress }));
  await stack.setAllConfig({
    hosts: { value: JSON.stringify(config) },
    privateKey: { value: readFileSync(hosts[0]!.privateKeyPath, "utf8"), secret: true },
  });
}

export interface PingResult {
  from: string;
  to: string;
  address: string;
  ok: boolean;
  detail: string;
}

/** From each host's container, one ping to every other host's container across the overlay. */
export async function pingAcrossOverlay(hosts: LabHost[]): Promise<PingResult[]> {
  const results: PingResult[] = [];
  for (const [i, from] of hosts.entries()) {
    const connection = parseConnection({ host: from.address, port: from.port, user: from.username, privateKey: readFileSync(from.privateKeyPath, "utf8"), hostKey: from.hostPublicKey });
    for (const [j, to] of hosts.entries()) {
      if (i === j) continue;
      const address = `192.168.100.${j + 1}`;
      const ping = await sshPool().exec(connection, ["ip", "netns", "exec", `c-${from.name}`, "ping", "-c", "1", "-W", "2", address]);
      const rtt = /time=([\d.]+ ms)/.exec(ping.stdout)?.[1];
      results.push({ from: from.name, to: to.name, address, ok: ping.exitCode === 0, detail: rtt ?? (ping.stderr.trim() || "no reply") });
    }
  }
  return results;
}
