import type { CommonFields } from "../engine/common-fields";
import { type Artifact, header, NETWORKD_DIR } from "./files";

/** A value in a systemd INI file; undefined leaves the key out, a list repeats it. */
export type IniValue = string | number | boolean | undefined | Array<string | number>;
/** Sections in order; a name may repeat ([BridgeFDB] once per entry). */
export type Ini = Array<[section: string, entries: Record<string, IniValue>]>;

/**
 * How a kind is described to systemd-networkd: its `.netdev` Kind= and sections, and extra
 * `.network` sections (a VXLAN's [BridgeFDB] flood entries). A kind returns undefined where
 * networkd cannot express the inputs (the device is then persisted by a oneshot unit).
 */
export interface NetworkdDevice {
  kind: string;
  netdev?: Ini;
  network?: Ini;
  /**
   * The MTU counts only when set after the device is made (a bridge: the kernel moves one whose
   * MTU was given at creation to its ports' smallest): the `.netdev` makes it one byte off and
   * the `.network` sets it, as `ip` does at create (bridge.ts afterCreate).
   */
  mtuSetAfterCreate?: boolean;
}

export function renderIni(ini: Ini): string {
  return ini
    .map(([section, entries]) => {
      const lines = Object.entries(entries).flatMap(([key, value]) => {
        if (value === undefined) return [];
        const values = Array.isArray(value) ? value : [value];
        return values.map((v) => `${key}=${iniValue(key, v)}`);
      });
      return `[${section}]\n${lines.join("\n")}\n`;
    })
    .join("\n");
}

/**
 * systemd joins a line ending in a backslash with the next one, and a newline would start a new
 * key: such a value would not be read back as written (validation refuses these in inputs).
 */
function iniValue(key: string, value: string | number | boolean): string {
  const text = typeof value === "boolean" ? (value ? "yes" : "no") : String(value);
  if (/[\r\n]/.test(text)) throw new Error(`${key}=${JSON.stringify(text)}: a systemd value cannot span lines`);
  if (text.endsWith("\\")) throw new Error(`${key}=${JSON.stringify(text)}: a systemd value cannot end in a backslash (it continues the line)`);
  return text;
}

export const networkdPaths = (name: string) => ({
  netdev: `${NETWORKD_DIR}/10-pulumi-netdev-${name}.netdev`,
  network: `${NETWORKD_DIR}/10-pulumi-netdev-${name}.network`,
  link: `${NETWORKD_DIR}/10-pulumi-netdev-${name}.link`,
});

/**
 * The three files that make networkd (and udev) recreate the device at boot as `ip` made it:
 * `.netdev` (the device), `.network` (addresses, up/down; nothing else: no DHCP, no router
 * advertisements, configured without carrier like a device made by `ip`), and `.link` (udev
 * writes the alias with our owner tag when the device appears, so refresh after a reboot knows
 * it as this resource's). The `10-` prefix sorts them before a distribution's catch-all files.
 */
export function networkdArtifacts(device: NetworkdDevice, inputs: CommonFields, alias: string, token: string, what: string): Artifact[] {
  const paths = networkdPaths(inputs.name);
  const setAfter = device.mtuSetAfterCreate === true && inputs.mtu !== undefined ? inputs.mtu : undefined;
  // Setting the value a device already has is no change for the kernel: it is made one byte off.
  const createdMtu = setAfter === undefined ? inputs.mtu : setAfter < 65535 ? setAfter + 1 : setAfter - 1;
  const netdev: Ini = [["NetDev", { Name: inputs.name, Kind: device.kind, MTUBytes: createdMtu, MACAddress: inputs.macAddress }], ...(device.netdev ?? [])];
  const network: Ini = [
    ["Match", { Name: inputs.name }],
    ["Link", { MTUBytes: setAfter, ActivationPolicy: inputs.up ? "up" : "down", RequiredForOnline: false }],
    [
      "Network",
      { Address: inputs.addresses, ConfigureWithoutCarrier: true, IgnoreCarrierLoss: true, DHCP: false, IPv6AcceptRA: false, LinkLocalAddressing: "ipv6" },
    ],
    ...(device.network ?? []),
  ];
  return [
    { path: paths.netdev, mode: "0644", content: header("#", token, what) + renderIni(netdev) },
    { path: paths.network, mode: "0644", content: header("#", token, what) + renderIni(network) },
    aliasLinkArtifact(inputs, alias, token, what),
  ];
}

/**
 * udev's `.link` file for the device (udev applies it to every new device, whoever makes it):
 * the alias with our owner tag, and the MAC address left to the kernel or the device's maker.
 */
export function aliasLinkArtifact(inputs: CommonFields, alias: string, token: string, what: string): Artifact {
  const link: Ini = [
    ["Match", { OriginalName: inputs.name }],
    ["Link", { Alias: alias, MACAddressPolicy: "none" }],
  ];
  return { path: networkdPaths(inputs.name).link, mode: "0644", content: header("#", token, what) + renderIni(link) };
}
