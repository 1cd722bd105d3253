import { readFileSync } from "node:fs";
import type { Stack } from "@pulumi/pulumi/automation";
import { parseConnection } from "../provider/ssh/connection";
import { sshPool } from "../provider/ssh/pool";
import { repoRoot, type LabHost } from "./hosts";
import { labStack, rootStack, type LabStack } from "./stack";

/**
 * The repository's root program (index.ts, the overlay) as a stack on these lab hosts, one
 * container per host. `inPlace`: the stack `npm run demo` makes at the repo root, which
 * CONTRIBUTING.md shows how to drive by hand; otherwise a copy in a temporary directory (tests).
 */
export async function overlayStack(hosts: LabHost[], options: { inPlace?: boolean; form?: "per-device" | "per-host" } = {}): Promise<LabStack> {
  const lab = options.inPlace
    ? await rootStack()
    : await labStack(repoRoot, ["Pulumi.yaml", "index.ts"], "lab", {
        // Not the repo's package.json: its name would make `pulumi-netdev` resolve to the copy itself.
        "package.json": JSON.stringify({ name: "netdev-overlay-copy", private: true }),
      });
  await configureOverlay(lab.stack, hosts, options.form);
  return lab;
}

/**
 * Points the root program's stack at these hosts, in this order (a host's place in the list sets
 * its container's address); `form`: the overlay's form (index.ts), left as set when omitted.
 */
export async function configureOverlay(stack: Stack, hosts: LabHost[], form?: "per-device" | "per-host"): Promise<void> {
  const config = hosts.map((h) => ({
    name: h.name,
    host: h.address,
    port: h.port,
    ...(h.username === "root" ? {} : { user: h.username, sudo: true }),
    hostKey: h.hostPublicKey,
    underlayAddress: h.underlayAddress,
  }));
  await stack.setAllConfig({
    hosts: { value: JSON.stringify(config) },
    privateKey: { value: readFileSync(hosts[0]!.privateKeyPath, "utf8"), secret: true },
    ...(form ? { form: { value: form } } : {}),
  });
}

export interface PingResult {
  from: string;
  to: string;
  address: string;
  ok: boolean;
  detail: string;
}

/** The root program's container on the host at `index` of its host list: the namespace and its overlay address. */
export function overlayContainer(host: LabHost, index: number): { namespace: string; address: string } {
  return { namespace: `c-${host.name}`, address: `192.168.100.${index + 1}` };
}

/** A connection to a lab host as the overlay's config reaches it. */
export function overlayHostConnection(host: LabHost) {
  return parseConnection({
    host: host.address,
    port: host.port,
    user: host.username,
    ...(host.username === "root" ? {} : { sudo: true }),
    privateKey: readFileSync(host.privateKeyPath, "utf8"),
    hostKey: host.hostPublicKey,
  });
}

/** From each host's container, one ping to every other host's container across the overlay. */
export async function pingAcrossOverlay(hosts: LabHost[]): Promise<PingResult[]> {
  const results: PingResult[] = [];
  for (const [i, from] of hosts.entries()) {
    const connection = overlayHostConnection(from);
    for (const [j, to] of hosts.entries()) {
      if (i === j) continue;
      const { address } = overlayContainer(to, j);
      const ping = await sshPool().exec(connection, ["ip", "netns", "exec", overlayContainer(from, i).namespace, "ping", "-c", "1", "-W", "2", address]);
      const rtt = /time=([\d.]+ ms)/.exec(ping.stdout)?.[1];
      results.push({ from: from.name, to: to.name, address, ok: ping.exitCode === 0, detail: rtt ?? (ping.stderr.trim() || "no reply") });
    }
  }
  return results;
}

/**
 * The commands CONTRIBUTING.md prints under "By hand, after `npm run demo -- --keep`"; CI runs that
 * block verbatim after the demo (scripts/test.sh), so both must stay as they are here.
 */
export function byHandCommands(): string {
  return [
    `  cd ${repoRoot}`,
    '  export PATH="$HOME/.cache/pulumi-netdev/pulumi-v3.259.0/bin:$HOME/.cache/pulumi-netdev/node-v22.22.2/bin:$PATH"',
    '  export PULUMI_BACKEND_URL="file://$PWD/lab/.state/pulumi" PULUMI_CONFIG_PASSPHRASE=netdev-lab',
    "  pulumi stack select lab",
    "  pulumi preview --expect-no-changes",
    "  pulumi up --yes",
    "  pulumi destroy --yes && npm run lab -- down",
  ].join("\n");
}
