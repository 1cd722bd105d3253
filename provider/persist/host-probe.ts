/**
 * What persistence needs to know of a host (systemd as init, systemd-networkd, NetworkManager,
 * networkd's ManageForeignRoutes): the lines the capability probe (engine/preflight-probe.ts) runs for it,
 * in the same round trip as everything else it asks, and the parse of their answer. A leaf:
 * the probe imports it, persist/host-support.ts judges the answer.
 */

/** What persistence needs of a host, as the probe found it. */
export interface PersistSupport {
  /** `systemctl --version`'s first line ("systemd 252 (252.39-1~deb12u2)"), or undefined without systemd as init. */
  systemd?: string;
  /** `systemctl is-enabled systemd-networkd.service`: enabled, disabled, masked, not-found… */
  networkd: string;
  /** `systemctl is-active systemd-networkd.service`: active, inactive… ("auto" picks networkd where it runs). */
  networkdActive: string;
  /** `systemctl is-active NetworkManager.service`, "" where nmcli is missing (keyfiles are loaded through it). */
  networkManager: string;
  /** The last ManageForeignRoutes= in networkd.conf and its drop-ins ("" when unset: networkd's default, yes). */
  manageForeignRoutes: string;
}

// Fixed; reads only. systemd as init is /run/systemd/system (sd_booted()), not the binary's presence.
export const PERSIST_PROBE_LINES = [
  'if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then echo "systemd="; else',
  '  echo "systemd=$(systemctl --version 2>/dev/null | head -n1)"',
  '  echo "networkd=$(systemctl is-enabled systemd-networkd.service 2>/dev/null || true)"',
  '  echo "networkdActive=$(systemctl is-active systemd-networkd.service 2>/dev/null || true)"',
  '  if command -v nmcli >/dev/null 2>&1; then echo "nm=$(systemctl is-active NetworkManager.service 2>/dev/null || true)"; fi',
  '  echo "foreign=$(cat /etc/systemd/networkd.conf /etc/systemd/networkd.conf.d/*.conf /run/systemd/networkd.conf.d/*.conf 2>/dev/null | sed -n "s/^[[:space:]]*ManageForeignRoutes[[:space:]]*=[[:space:]]*//p" | tail -n1)"',
  "fi",
];

/** The answer of PERSIST_PROBE_LINES within the probe's output; undefined when they did not run. */
export function parsePersistSupport(stdout: string): PersistSupport | undefined {
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(stdout)?.[1]?.trim();
  const systemd = value("systemd");
  if (systemd === undefined) return undefined;
  return {
    systemd: systemd || undefined,
    networkd: value("networkd") ?? "",
    networkdActive: value("networkdActive") ?? "",
    networkManager: value("nm") ?? "",
    manageForeignRoutes: value("foreign") ?? "",
  };
}
