import { parseRemoteJson } from "../ssh/scrub";

/** What `ip -json -details addr show dev X` reports about one link, reduced to what the engine uses. */
export interface LinkState {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  operstate: string;
  up: boolean;
  /** Name of the bridge (or bond) this link is enslaved to. */
  master?: string;
  ifalias?: string;
  /** Name of the parent link (macvlan, vlan, ipvlan), when in the same namespace. */
  link?: string;
  /** ifindex of the parent when it lives in another namespace (link_netnsid set). */
  linkIndex?: number;
  infoKind?: string;
  infoData: Record<string, unknown>;
  /** Global and host-scope addresses in CIDR form (link-local IPv6 the kernel adds is left out). */
  addresses: string[];
}

interface RawAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
}

interface RawLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address?: string;
  operstate?: string;
  flags?: string[];
  master?: string;
  ifalias?: string;
  link?: string | null;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: RawAddrInfo[];
}

export function parseLinks(json: string): LinkState[] {
  const raw = parseRemoteJson<RawLink[]>(json, "ip -json link/addr show");
  return raw.map((link) => ({
    ifname: link.ifname,
    ifindex: link.ifindex,
    mtu: link.mtu,
    address: (link.address ?? "").toLowerCase(),
    operstate: link.operstate ?? "UNKNOWN",
    up: (link.flags ?? []).includes("UP"),
    master: link.master,
    ifalias: link.ifalias,
    link: link.link ?? undefined,
    linkIndex: link.link_netnsid !== undefined ? link.link_index : undefined,
    infoKind: link.linkinfo?.info_kind,
    infoData: link.linkinfo?.info_data ?? {},
    addresses: (link.addr_info ?? [])
      .filter((a) => a.scope !== "link")
      .map((a) => `${a.local}/${a.prefixlen}`)
      .sort(),
  }));
}

/**
 * The link called exactly `name`, if `ip` listed it. `ip … dev if<N>` answers with the device
 * whose ifindex is N when none has that name, so the first entry is not necessarily `name`.
 */
export function linkNamed(json: string, name: string): LinkState | undefined {
  return parseLinks(json).find((link) => link.ifname === name);
}
