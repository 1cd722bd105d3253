import type { Host } from "../engine/host-interface";
import { hostFacts } from "../engine/preflight";
import type { CheckFailure } from "../engine/validation";
import type { PersistSupport } from "./host-probe";
import type { PersistVia } from "./mode";

/**
 * What the host's one probe (engine/preflight.ts: once per host per provider process, shared
 * with the capability check a create runs) found for persistence; undefined when it did not say.
 */
export async function persistSupport(host: Host): Promise<PersistSupport | undefined> {
  return (await hostFacts(host, [])).persist;
}

const announced = new Set<string>();

/**
 * What `persist: "auto"` writes for on this host: systemd-networkd's files where networkd runs,
 * NetworkManager's keyfiles where NetworkManager does, else oneshot units for everything. Said
 * once per host (`pulumi preview` shows it; the `persistVia` output keeps it).
 */
export function pickPersistVia(host: Host, support: PersistSupport | undefined): PersistVia {
  const via: PersistVia =
    support === undefined ? "systemd" : support.networkdActive === "active" ? "networkd" : support.networkManager === "active" ? "networkmanager" : "systemd";
  if (!announced.has(host.endpoint)) {
    announced.add(host.endpoint);
    const runs =
      support === undefined
        ? "the host's probe did not say what runs there"
        : via === "networkd"
          ? "systemd-networkd runs there"
          : via === "networkmanager"
            ? "NetworkManager runs there"
            : "neither systemd-networkd nor NetworkManager runs there";
    console.log(`netdev: persist "auto" on ${host.endpoint}: ${via} (${runs})`);
  }
  return via;
}

/** The mode the boot-time files are written for: `persist` itself, or what "auto" picks on this host; undefined without persist. */
export async function persistViaOn(host: Host, persist: unknown): Promise<PersistVia | undefined> {
  if (persist === undefined || persist === null || persist === "none") return undefined;
  return persist === "auto" ? pickPersistVia(host, await persistSupport(host)) : (persist as PersistVia);
}

/**
 * Why `persist` (`mode`, as the input says it) cannot work on this host, as check failures on
 * the `persist` field (empty when it can): boot-time units need systemd as init; networkd's
 * files need systemd-networkd enabled; NetworkManager's keyfiles need NetworkManager running
 * (they are loaded into it with nmcli). Warns (once per host) where networkd would remove
 * routes it did not configure when it restarts, if `routes` is set. A probe that did not answer
 * for persistence holds nothing against it.
 */
export async function persistFailures(
  host: Host,
  mode: string,
  needs: "systemd" | "networkd" | "networkmanager",
  options: { routes?: boolean; deviceNames?: string[] } = {},
): Promise<CheckFailure[]> {
  const support = await persistSupport(host);
  if (!support) return [];
  if (!support.systemd) {
    return [
      {
        property: "persist",
        reason: `persist: "${mode}" needs systemd as the init system on ${host.endpoint}, which does not run it (/run/systemd/system is missing); leave persist unset there`,
      },
    ];
  }
  if (needs === "networkd" && !["enabled", "enabled-runtime", "static", "alias", "linked"].includes(support.networkd)) {
    return [
      {
        property: "persist",
        reason: `persist: "${mode}" writes systemd-networkd files on ${host.endpoint}, but systemd-networkd.service is ${support.networkd || "not installed"} there (${support.systemd}); enable it (systemctl enable systemd-networkd), or use persist: "auto"`,
      },
    ];
  }
  if (needs === "networkmanager" && support.networkManager !== "active") {
    return [
      {
        property: "persist",
        reason: `persist: "${mode}" writes NetworkManager keyfiles on ${host.endpoint}, but NetworkManager is ${support.networkManager ? `${support.networkManager} there` : "not installed there (no nmcli)"}; start it, or use persist: "auto"`,
      },
    ];
  }
  if (options.routes && !/^(no|false|0|off)$/i.test(support.manageForeignRoutes)) warnForeignRoutes(host, support);
  if (["enabled", "enabled-runtime", "static"].includes(support.networkd)) {
    for (const name of options.deviceNames ?? []) warnShippedMatch(host, name);
  }
  return [];
}

/**
 * Names that the .network files systemd ships match (systemd-nspawn's and VMs' links):
 * networkd manages such a device as theirs, in the host's namespace: it drops the device's
 * master, adds addresses and a DHCP server. Seen on a veth named ve-app.
 */
const SHIPPED_MATCHES: Array<[RegExp, string]> = [
  [/^ve-/, "80-container-ve.network (Name=ve-*)"],
  [/^vb-/, "80-container-vb.network (Name=vb-*)"],
  [/^vz-/, "80-container-vz.network (Name=vz-*)"],
  [/^vt-/, "80-vm-vt.network (Name=vt-*)"],
  [/^host0$/, "80-container-host0.network (Name=host0)"],
];

/**
 * At a create or update, persisted or not: where systemd-networkd runs, a device in the host's
 * namespace whose name its own container files match is configured by networkd as such a
 * link, whatever netdev asked. Warns (once per host and name); no round trip of its own (the
 * host's one probe says whether networkd runs).
 */
export async function warnNetworkdClaims(host: Host, names: readonly string[]): Promise<void> {
  if (!names.some((name) => SHIPPED_MATCHES.some(([pattern]) => pattern.test(name)))) return;
  if ((await persistSupport(host))?.networkdActive !== "active") return;
  for (const name of names) warnShippedMatch(host, name);
}

const warnedNames = new Set<string>();

function warnShippedMatch(host: Host, name: string): void {
  const match = SHIPPED_MATCHES.find(([pattern]) => pattern.test(name));
  if (!match || warnedNames.has(`${host.endpoint}\0${name}`)) return;
  warnedNames.add(`${host.endpoint}\0${name}`);
  console.warn(
    `netdev: ${name} on ${host.endpoint}: systemd-networkd runs there, and its own ${match[1]} matches this name: networkd will configure the device as a container's link ` +
      "(dropping its master, adding addresses and a DHCP server). Choose another name.",
  );
}

const warned = new Set<string>();

function warnForeignRoutes(host: Host, support: PersistSupport): void {
  if (warned.has(host.endpoint)) return;
  warned.add(host.endpoint);
  console.warn(
    `netdev: systemd-networkd runs on ${host.endpoint} (${support.systemd}): when it starts or restarts it removes the routes it did not configure from the links it manages ` +
      "(measured on systemd 252: neither ManageForeignRoutes=no nor KeepConfiguration=static keeps them; routes on links it does not manage stay). " +
      "A persisted Route in the host's namespace whose dev networkd manages (a device netdev persists through networkd's files, or one of the host's own NICs) can therefore vanish after a restart of networkd, or race with it at boot: " +
      "prefer a dev networkd does not manage, or a Route inside a namespace.",
  );
}
