import { readFileSync } from "node:fs";
import path from "node:path";
import type { LabSudo } from "./sudo-users";

/** One lab host as written to lab/.state/hosts.json: everything a test needs to reach it over SSH. */
export interface LabHost {
  name: string;
  /** "netns": a network namespace on this machine running sshd; "vm": a qemu guest with Debian's cloud kernel. */
  kind: "netns" | "vm";
  /** VM hosts: "debian" = a Debian root filesystem with systemd and systemd-networkd (lab/vm/debian.ts), rebootable; absent = the busybox initramfs (lab/vm/index.ts). */
  flavour?: "debian";
  /** Address and port the SSH client connects to from the root namespace. */
  address: string;
  port: number;
  username: string;
  privateKeyPath: string;
  /** The host's public key as an OpenSSH line ("ssh-ed25519 AAAA…"). */
  hostPublicKey: string;
  /** The host's address on the lab underlay (10.247.0.0/24): what overlays between hosts use. */
  underlayAddress: string;
  /** The host's IPv6 address on the same underlay link (fd00:247:<octet>::/64; see underlayAddress6). */
  underlayAddress6?: string;
  /** Interface on the underlay inside the host: the parent for macvlan/ipvlan/vlan, the dev for vxlan. */
  underlayInterface: string;
  /** Where sshd writes its log (netns hosts): tests count accepted connections in it. */
  sshdLogPath?: string;
  /** Namespace name on this machine (netns hosts). */
  netns?: string;
  /** Process id of sshd (netns) or qemu (vm). */
  pid?: number;
  /** Set on a host reachable only through another lab host. */
  via?: string;
}

export interface LabState {
  prefix: string;
  subnet: string;
  /** Address of this machine (root namespace) on the underlay. */
  rootAddress: string;
  clientKeyPath: string;
  hosts: LabHost[];
  /** The users that log in without being root, and the port where root is refused (lab/sudo-users.ts). */
  sudo?: LabSudo;
}

export const repoRoot = path.resolve(import.meta.dirname, "..");
export const defaultStateDir = path.join(repoRoot, "lab", ".state");
export const stateDir = process.env.NETDEV_LAB_STATE_DIR ?? defaultStateDir;
export const hostsFile = path.join(stateDir, "hosts.json");

export function readLabState(file = hostsFile): LabState {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LabState;
  } catch (error) {
    throw new Error(`no lab state at ${file}: run \`npm run lab -- up\` first (${(error as Error).message})`);
  }
}

/** The lab's Debian VM (systemd, reboots), or undefined when no lab or none of that flavour is up. */
export function labDebianVm(): LabHost | undefined {
  try {
    return readLabState().hosts.find((h) => h.kind === "vm" && h.flavour === "debian");
  } catch {
    return undefined;
  }
}

export function labHost(state: LabState, name: string): LabHost {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`lab has no host named ${name}; hosts: ${state.hosts.map((h) => h.name).join(", ")}`);
  return host;
}

/**
 * A lab host's IPv6 underlay address, beside its IPv4 one on the same link: 10.247.<o>.<x>
 * becomes fd00:247:<o>::<x> (a unique local prefix, the IPv4 digits written as they are), so
 * overlays can be tested over an IPv6-only underlay.
 */
export function underlayAddress6(ipv4: string): string {
  const match = /^10\.247\.(\d{1,3})\.(\d{1,3})$/.exec(ipv4);
  if (!match) throw new Error(`${ipv4} is not a lab underlay address (10.247.<octet>.<host>)`);
  // RFC 5952's text form, as iproute2 prints it back (fd00:247:0::11 is fd00:247::11).
  return match[1] === "0" ? `fd00:247::${match[2]}` : `fd00:247:${match[1]}::${match[2]}`;
}
